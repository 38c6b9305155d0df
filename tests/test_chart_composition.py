"""charts/composition.py: Altair's compound charts without copies of subcharts that carry no parameters give the
same Vega-Lite specs as Altair's own code, on every chart the pages show, and still lift parameters."""
from __future__ import annotations

import ast
from pathlib import Path

import altair as alt
import pandas as pd
import pytest

from charts import composition
from tests.apptest_helpers import CHART_PAGES, shown_charts


@pytest.mark.parametrize("page, query", CHART_PAGES)
def test_every_chart_a_page_shows_has_the_spec_altairs_own_composition_gives(monkeypatch, page, query):
    passed_through = [spec for _, spec in shown_charts(monkeypatch, page, query)]
    composition.uninstall()
    try:
        altairs_own = [spec for _, spec in shown_charts(monkeypatch, page, query)]
    finally:
        composition.install()
    assert passed_through and passed_through == altairs_own


def _frame():
    return pd.DataFrame({"x": [1, 2, 3], "y": [3, 1, 2]})


def test_subcharts_without_parameters_are_not_copied():
    points = alt.Chart(_frame()).mark_point().encode(x="x:Q", y="y:Q")
    line = alt.Chart(_frame()).mark_line().encode(x="x:Q", y="y:Q")
    layered = alt.layer(points, line)
    assert layered.layer[0] is points
    assert alt.hconcat(layered, points).hconcat[0] is layered
    assert points.to_dict() == alt.Chart(_frame()).mark_point().encode(x="x:Q", y="y:Q").to_dict()  # unchanged


def test_chainable_methods_leave_a_composed_subchart_alone_and_in_place_changes_do_not():
    points = alt.Chart(_frame()).mark_point().encode(x="x:Q", y="y:Q")
    layered = alt.layer(points, alt.Chart(_frame()).mark_line().encode(x="x:Q", y="y:Q"))
    before = layered.to_dict()
    points.properties(title="copy").encode(color="y:Q")
    _ = points + points
    assert layered.to_dict() == before
    points.mark = "bar"  # the price of sharing, which charts/ never pays (next test)
    assert layered.to_dict()["layer"][0]["mark"] == {"type": "bar"}


def test_the_chart_modules_never_change_a_chart_in_place():
    """No attribute assignment and no augmented assignment (``+=``, ``|=``, ``&=``) in charts/ outside composition.py."""
    offences = []
    for path in sorted(Path(composition.__file__).parent.glob("*.py")):
        if path.name == "composition.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
            for target in targets:
                frame_column = (isinstance(target, ast.Subscript) and not isinstance(node, ast.AugAssign)
                                and isinstance(target.value, ast.Name) and target.value.id == "frame")
                if isinstance(node, ast.AugAssign) or (isinstance(target, (ast.Attribute, ast.Subscript))
                                                       and not frame_column):
                    offences.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert offences == []


@pytest.mark.parametrize("compose", [alt.layer, alt.hconcat, alt.vconcat])
def test_a_chart_with_a_parameter_goes_through_altairs_own_code(compose):
    selection = alt.selection_point(name="pick", fields=["x"])
    picked = alt.Chart(_frame()).mark_point().encode(x="x:Q", y="y:Q").add_params(selection)
    plain = alt.Chart(_frame()).mark_bar().encode(x="x:Q", y="y:Q")
    ours = compose(picked, plain).to_dict()
    composition.uninstall()
    try:
        altairs = compose(picked, plain).to_dict()
    finally:
        composition.install()
    assert ours == altairs
    assert [p["name"] for p in ours["params"]] == ["pick"]  # lifted to the top, as Altair does


def test_has_params_looks_inside_layers_concatenations_and_facets():
    selection = alt.selection_interval(name="brush")
    plain = alt.Chart(_frame()).mark_point().encode(x="x:Q")
    picked = plain.add_params(selection)
    assert not composition.has_params(alt.layer(plain, plain))
    assert composition.has_params(alt.hconcat(plain, alt.layer(plain, picked)))
    assert composition.has_params(alt.layer(plain, picked).facet(column="y:N"))
    assert composition.has_params(plain.properties(name="named"))  # Altair renames views when it concatenates
