"""The RMST view and the median follow-up notes of the Survival and Overview pages, and the ``rmst_tau`` URL
parameter (numbers checked against R in tests/test_rmst.py and tests/test_snippets.py)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from analysis.follow_up import median_follow_up
from analysis.rmst import rmst_by_group
from sarcoma_app.views import overview, survival
from sarcoma_app.views.blocks import Controls, Note, blocks_text, views_of
from sarcoma_app.viewstate.url_state import MethodState, ViewState, parse_query, parse_rmst_tau_text, to_query
from tests.test_url_state import ALLOWED

NAN = re.compile(r"\bnan\b", re.IGNORECASE)


def cohort(n=60, seed=5, groups=("Angiosarcoma", "Leiomyosarcoma")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    histology = [groups[i % len(groups)] for i in range(n)]
    return pd.DataFrame({
        "patient_id": [f"P{i}" for i in range(n)], "histology": histology, "histology_group": histology,
        "best_response": ["SD"] * n, "pfs_months": np.round(rng.exponential(6.0, n), 1),
        "pfs_event": (rng.random(n) < 0.7).astype(int), "study_id": "uploaded",
    })


def rmst_view(blocks):
    return {view.key: view for view in views_of(blocks)}.get("survival_rmst")


def test_two_groups_show_rmst_difference_and_ratio_with_the_default_tau():
    patients = cohort()
    blocks = survival.build(patients, MethodState(km_by="histology_group"))
    view = rmst_view(blocks)
    expected = rmst_by_group(patients["pfs_months"], patients["pfs_event"], patients["histology_group"])
    assert view.result.tau == expected.tau == patients.groupby("histology_group")["pfs_months"].max().min()
    np.testing.assert_allclose(view.result.table["rmst"], expected.table["rmst"])
    table, contrast = [part for part in view.parts if hasattr(part, "frame")]
    assert list(table.frame["Group"]) == ["Angiosarcoma", "Leiomyosarcoma"]
    assert list(contrast.frame["Contrast"]) == ["Difference (Leiomyosarcoma − Angiosarcoma), months",
                                                "Ratio (Leiomyosarcoma / Angiosarcoma)"]
    text = blocks_text(blocks)
    assert "shortest group's last follow-up (survRM2's default rule)" in text and "RMST ± 1.96 SE" in text
    assert not NAN.search(text)
    assert any(isinstance(b, Controls) and b.choices[0].field == "rmst_tau" for b in blocks)


def test_a_chosen_tau_is_used_and_one_beyond_the_follow_up_is_refused():
    patients = cohort()
    chosen = rmst_view(survival.build(patients, MethodState(km_by="histology_group", rmst_tau=5.0)))
    assert chosen.result.tau == 5.0 and not chosen.result.tau_is_default
    assert "up to 5 months" in chosen.title
    blocks = survival.build(patients, MethodState(km_by="histology_group", rmst_tau=239.0))
    warning = [b for b in blocks if isinstance(b, Note) and "is beyond the shortest group's" in b.text]
    assert len(warning) == 1 and warning[0].kind == "warning"
    assert rmst_view(blocks).result.tau_is_default


def test_three_groups_show_no_contrast_and_one_group_no_crash():
    patients = cohort(groups=("A", "B", "C"))
    view = rmst_view(survival.build(patients, MethodState(km_by="histology_group")))
    assert len(view.result.groups) == 3
    assert "exactly two groups" in blocks_text(view.parts)
    alone = rmst_view(survival.build(patients, MethodState()))
    assert alone.result.groups == ["All patients"]


@pytest.mark.parametrize("times, events", [([3.0], [1]), ([2.0, 4.0], [0, 0]), ([1.0, 1.0, 2.0], [1, 1, 1])])
def test_tiny_cohorts_give_numbers_or_messages(times, events):
    patients = cohort(n=len(times))
    patients["pfs_months"], patients["pfs_event"] = times, events
    for grouping in ("none", "histology_group"):
        blocks = survival.build(patients, MethodState(km_by=grouping))
        text = blocks_text(blocks)
        assert "Median follow-up (reverse Kaplan–Meier)" in text
        assert not NAN.search(blocks_text(rmst_view(blocks).parts))
        assert not NAN.search(text[text.index("Median follow-up"):text.index("Time to censoring")])


def test_follow_up_note_on_the_survival_page_matches_reverse_km():
    patients = cohort()
    follow = median_follow_up(patients["pfs_months"], patients["pfs_event"])
    assert follow.n_censored == (patients["pfs_event"] == 0).sum()
    text = blocks_text(survival.build(patients, MethodState()))
    assert f"Median follow-up (reverse Kaplan–Meier): {follow.median:.2f} months (95% CI" in text


def test_follow_up_note_on_the_overview_per_study():
    patients = cohort()
    studies = pd.DataFrame({"study_id": ["uploaded"], "regimen": ["x"]})
    text = blocks_text(overview.build(patients, MethodState(), studies))
    follow = median_follow_up(patients["pfs_months"], patients["pfs_event"])
    assert "Follow-up of PFS, per study" in text and f"{follow.median:.2f} months" in text
    patients["pfs_event"] = 1
    assert "not estimable: no patient is censored" in blocks_text(overview.build(patients, MethodState(), studies))


@pytest.mark.parametrize("text, expected", [("", 0.0), (" 12 ", 12.0), ("6.5", 6.5), ("0", 0.0), ("240", 240.0),
                                            ("241", None), ("-3", None), ("4, 6", None), ("abc", None),
                                            ("nan", None), ("0.001", None), ("1e3", None)])
def test_rmst_tau_text(text, expected):
    assert parse_rmst_tau_text(text) == expected


def test_rmst_tau_url_round_trip_and_bad_values_give_notices():
    state = ViewState(methods=MethodState(rmst_tau=12.5))
    assert to_query(state) == {"rmst_tau": "12.5"}
    assert parse_query({"rmst_tau": "12.5"}, ALLOWED) == (state, [])
    assert to_query(ViewState()) == {}
    assert parse_query({"rmst_tau": ""}, ALLOWED) == (ViewState(), [])
    for bad in ("-1", "1e400", "x" * 500, ["3", "4"], "inf"):
        parsed, notices = parse_query({"rmst_tau": bad}, ALLOWED)
        assert parsed.methods.rmst_tau == 0.0 and [n.parameter for n in notices] == ["rmst_tau"]
