"""The Survival page's KMunicate risk table and pairwise log-rank view, through its pure view builder."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.pairwise import pairwise_logrank
from sarcoma_app.views import prepare, survival
from sarcoma_app.views.blocks import Choice, Controls, Table, blocks_text, views_of
from sarcoma_app.viewstate.url_state import FilterState, MethodState, parse_query, to_query, ViewState
from tests.test_snippets import load_patients
from tests.test_url_state import ALLOWED


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return load_patients(FilterState())


def _views(patients, **methods):
    return {view.key: view for view in views_of(survival.build(patients, MethodState(**methods)))}


def test_risk_table_is_a_choice_in_the_url():
    state, notices = parse_query({"risk_table": "at_risk"}, ALLOWED)
    assert notices == [] and state.methods.risk_table == "at_risk"
    assert to_query(state) == {"risk_table": "at_risk"}
    assert MethodState().risk_table == "kmunicate" and to_query(ViewState()) == {}
    state, notices = parse_query({"risk_table": "both"}, ALLOWED)
    assert state.methods.risk_table == "kmunicate" and notices


def test_km_view_has_the_kmunicate_table(bundled):
    chosen = {c.field: c for c in survival.choices(bundled, MethodState())}
    assert chosen["risk_table"].options == ("kmunicate", "at_risk")
    view = _views(bundled, km_by="ecog")["survival_km"]
    tables = [p for p in view.parts if isinstance(p, Table)]
    risk = next(t for t in tables if "risk-table" in t.name).frame
    assert list(risk["Count"].unique()) == ["At risk", "Events", "Censored"]
    # the cumulative counts are those of the fits (R summary(fit, times, extend = TRUE), tested in test_pairwise)
    for group, fit in view.result.fits.items():
        rows = risk[risk["Group"] == str(group)].set_index("Count")
        grid = [float(c.removesuffix(" mo")) for c in risk.columns[2:]]
        expected = fit.risk_table(grid)
        assert list(rows.loc["At risk"].iloc[1:]) == list(expected["n_risk"])
        assert list(rows.loc["Events"].iloc[1:]) == list(expected["events"])
        assert list(rows.loc["Censored"].iloc[1:]) == list(expected["censored"])
    spec = view.chart.chart.to_dict()
    assert "KMunicate" in str(spec)
    only = _views(bundled, km_by="ecog", risk_table="at_risk")["survival_km"]
    risk_only = next(p for p in only.parts if isinstance(p, Table) and "risk-table" in p.name).frame
    assert list(risk_only["Count"].unique()) == ["At risk"]
    assert "KMunicate" not in str(only.chart.chart.to_dict())


def test_pairwise_view_for_three_or_more_groups(bundled):
    assert "survival_pairwise" not in _views(bundled, km_by="ecog")  # two groups: the log-rank test is the pair
    views = _views(bundled, km_by="prior_lines", p_adjust="holm")
    view = views["survival_pairwise"]
    analysable, _ = prepare.endpoint_data(bundled, "pfs")
    expected = pairwise_logrank(analysable["time"], analysable["event"],
                                prepare.group_labels(analysable, "prior_lines"), p_adjust="holm")
    pd.testing.assert_frame_equal(view.result, expected)
    assert len(view.result) == 3 and view.result.attrs["p_adjust"] == "holm"
    shown = view.table.frame
    assert "p adjusted (holm)" in shown.columns and len(shown) == 3
    assert view.code is not None and "pairwise_logrank" in view.code.python and "p.adjust" in view.code.r
    blocks = survival.build(bundled, MethodState(km_by="prior_lines"))
    controls = [c for b in blocks if isinstance(b, Controls) for c in b.choices]
    assert any(isinstance(c, Choice) and c.field == "p_adjust" for c in controls)
    assert "Pairwise log-rank tests" in blocks_text(blocks)


def test_pairwise_view_with_a_group_without_events_does_not_crash():
    patients = load_patients(FilterState()).head(0)
    assert survival.build(patients, MethodState(km_by="prior_lines"))  # empty selection: a message
    rng = np.random.default_rng(1)
    time, event = rng.exponential(10, 30), np.r_[np.ones(20, int), np.zeros(10, int)]
    group = np.repeat(["a", "b", "c"], 10)
    pairs = pairwise_logrank(time, event, group)
    assert pairs.loc[pairs["group_1"].eq("a") & pairs["group_2"].eq("b"), "p_value"].notna().all()
    assert pairs.attrs["n_tests"] == 3
