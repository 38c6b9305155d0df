"""charts/composition.py: Altair's compound charts without copies of subcharts that carry no parameters give the
same Vega-Lite specs as Altair's own code, on every chart the pages show, and still lift parameters."""
from __future__ import annotations

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
