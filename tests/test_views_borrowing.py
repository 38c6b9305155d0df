"""The 'Borrowing across subtypes (exploratory)' section: view builders (Response, Subtype across studies), its
URL state (endpoint, threshold, heterogeneity prior, model) and the Response page under AppTest."""
from __future__ import annotations

import pandas as pd
import pytest

from analysis.hierarchical import hierarchical_rates
from analysis.methods import BORROWING_MODELS, HETEROGENEITY_PRIORS
from analysis.response import response_table
from sarcoma_app.views import borrowing, response, subtype
from sarcoma_app.views.blocks import Controls, Heading, Note, blocks_text, views_of
from sarcoma_app.viewstate.url_state import (
    AllowedValues, FilterState, MethodState, ViewState, parse_query, parse_threshold_text, to_query,
)
from tests.apptest_helpers import run_app
from tests.test_views_response_ae import by_key, load_patients, resolved, upload_like


def borrowing_view(blocks):
    return next((v for v in views_of(blocks) if v.key.endswith("_borrowing")), None)


def test_response_page_shows_three_estimates_per_histology_group_from_the_analysis():
    patients = load_patients(FilterState())
    methods = resolved(patients, MethodState(response_by="histology_group"))
    blocks = response.build(patients, methods)
    assert any(isinstance(b, Heading) and b.text == borrowing.SECTION for b in blocks)
    view = by_key(blocks)["response_borrowing"]
    counts = response_table(patients.assign(group=patients["histology_group"]), group_col="group")
    counts = counts[~counts["group"].isin(["All", "Missing"])]
    assert "4 patients whose histology group is not reported are left out" in blocks_text([view])
    expected = hierarchical_rates(counts["orr_count"], counts["denominator"], counts["group"].tolist()).table
    result = view.result.table
    pd.testing.assert_series_equal(result["median"], expected["median"])
    shown = view.table.frame
    assert list(shown["Subtype"]) == list(expected["group"])
    assert {"n/N", "Independent ORR (exact CI)", "Pooled ORR (exact CI)", "Hierarchical ORR (95% CrI)",
            "P(ORR > 20%)", "Shrinkage"} <= set(shown.columns)
    text = blocks_text([view])
    assert "exchangeable" in text and "Exploratory" in text and "half\\-normal\\(scale 1\\)" in text
    assert "exchangeable subtypes" in view.methods_text and "half-normal(scale 1)" in view.methods_text
    assert view.chart is not None


def test_the_controls_change_the_model_and_are_url_fields():
    patients = load_patients(FilterState())
    methods = resolved(patients, MethodState(borrow_endpoint="dcr", borrow_threshold=35.0, heterogeneity="small",
                                             borrow_model="exnex"))
    blocks = response.build(patients, methods)
    controls = next(b for b in blocks if isinstance(b, Controls) and b.choices[0].field == "borrow_endpoint")
    assert [c.field for c in controls.choices] == ["borrow_endpoint", "borrow_threshold", "heterogeneity",
                                                   "borrow_model"]
    view = by_key(blocks)["response_borrowing"]
    assert view.result.model == "exnex" and view.result.tau_scale == 0.5 and view.result.threshold == 0.35
    assert "P(DCR > 35%)" in view.table.frame.columns and "P(EX)" in view.table.frame.columns
    assert "EXNEX" in view.methods_text


def test_no_section_without_a_grouping_of_two_groups():
    patients = load_patients(FilterState())
    assert borrowing_view(response.build(patients, resolved(patients, MethodState(response_by="none")))) is None
    one = load_patients(FilterState(histology_group=("Angiosarcoma",)))
    blocks = response.build(one, resolved(one, MethodState(response_by="histology_group")))
    assert borrowing_view(blocks) is None and borrowing.SECTION not in blocks_text(blocks)


def test_not_reported_groups_are_left_out():
    frame = upload_like()
    frame.loc[0, "histology_group"] = None
    blocks = borrowing.section(frame, frame["histology_group"].fillna("not reported"), "histology group",
                               MethodState(), key="x_borrowing")
    assert "not reported" not in set(borrowing_view(blocks).result.table["group"])


def test_few_subtypes_say_the_prior_decides():
    frame = upload_like()
    blocks = borrowing.section(frame, frame["histology_group"], "histology group", MethodState(), key="x_borrowing")
    warnings = [p for p in borrowing_view(blocks).parts if isinstance(p, Note) and p.kind == "warning"]
    assert len(warnings) == 1 and "prior, not the data, decides" in warnings[0].text


def test_subtype_page_borrows_across_the_histologies_and_shows_the_chosen_one_first():
    every = load_patients(FilterState())
    blocks = subtype.build(every, MethodState(), every_patient=every, chosen="group:Angiosarcoma")
    view = by_key(blocks)["subtype_borrowing"]
    assert view.result.table["group"].iloc[0] == "Angiosarcoma"
    assert len(view.result.table) == every["histology_group"].nunique()


def test_too_many_groups_are_refused_before_the_model():
    frame = pd.DataFrame({"patient_id": range(60), "study_id": "mine", "best_response": "PR",
                          "histology_group": [f"H{i}" for i in range(60)]})
    blocks = borrowing.section(frame, frame["histology_group"], "histology group", MethodState(), key="x_borrowing")
    assert borrowing_view(blocks) is None and "60 levels" in blocks_text(blocks)


ALLOWED = AllowedValues()


@pytest.mark.parametrize("query, field, value", [
    ({"borrow_threshold": "35"}, "borrow_threshold", 35.0),
    ({"borrow_threshold": "12.5%"}, "borrow_threshold", 12.5),
    ({"borrow_threshold": "0"}, "borrow_threshold", 0.0),
    ({"heterogeneity": "LARGE"}, "heterogeneity", "large"),
    ({"borrow_model": "exnex"}, "borrow_model", "exnex"),
    ({"borrow_endpoint": "dcr"}, "borrow_endpoint", "dcr"),
])
def test_borrowing_choices_are_read_from_the_url_and_written_back(query, field, value):
    state, notices = parse_query(query, ALLOWED)
    assert notices == [] and getattr(state.methods, field) == value
    again, second = parse_query(to_query(state), ALLOWED)
    assert again == state and second == []


@pytest.mark.parametrize("query", [{"borrow_threshold": "150"}, {"borrow_threshold": "-1"},
                                   {"borrow_threshold": "abc"}, {"borrow_threshold": "nan"},
                                   {"borrow_threshold": ["10", "20"]}, {"heterogeneity": "enormous"},
                                   {"borrow_model": "<script>"}, {"borrow_endpoint": "pfs"}])
def test_tampered_borrowing_values_fall_back_to_the_default_with_a_notice(query):
    state, notices = parse_query(query, ALLOWED)
    (name, _), = query.items()
    assert getattr(state.methods, name) == getattr(MethodState(), name)
    assert [n.parameter for n in notices] == [name]


def test_defaults_stay_out_of_the_url_and_the_vocabularies_are_the_analysis_ones():
    assert to_query(ViewState()) == {}
    assert HETEROGENEITY_PRIORS == ("small", "moderate", "large") and BORROWING_MODELS == ("ex", "exnex")
    assert parse_threshold_text("25 %") == 25.0 and parse_threshold_text("101") is None


def test_response_page_under_apptest_shows_the_section():
    at = run_app({"borrow_model": "exnex", "borrow_threshold": "30"}, page="pages/response.py")
    assert borrowing.SECTION in [h.value for h in at.subheader]
    frames = [f.value for f in at.dataframe]
    assert any("P(ORR > 30%)" in f.columns and "P(EX)" in f.columns for f in frames)
    assert at.query_params["borrow_model"] == ["exnex"] or at.query_params["borrow_model"] == "exnex"


def test_the_chart_draws_three_intervals_per_subtype_and_the_threshold():
    import charts
    from analysis.hierarchical import CHUGH_2009
    result = hierarchical_rates(CHUGH_2009["responders"], CHUGH_2009["n"], [f"S{i}" for i in range(10)])
    frame = borrowing.chart_frame(result.table)
    assert len(frame) == 30 and list(frame["estimate"].unique()) == list(borrowing.BORROWING_ESTIMATES)
    spec = charts.borrowing_intervals(frame, threshold=0.2).to_dict()
    assert spec["autosize"]["type"] == "pad"
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks == ["rule", "rule", "point"]  # threshold, intervals, estimates
    assert spec["layer"][1]["encoding"]["yOffset"]["field"] == "estimate"


def test_the_bench_prints_rows():
    from bench import hierarchical as bench
    rows = bench.rows(subtypes=(3,), repeats=1)
    assert [(r["size"], r["model"]) for r in rows] == [(size, model) for size in ("small", "large", "registry")
                                                       for model in ("ex", "exnex")]
    assert all(r["min_ms"] > 0 for r in rows)


def test_subtype_page_under_apptest_shows_the_section():
    at = run_app({"heterogeneity": "large"}, page="pages/subtype.py")
    assert borrowing.SECTION in [h.value for h in at.subheader]
    assert not at.exception


def test_no_section_by_best_response():
    patients = load_patients(FilterState())
    blocks = response.build(patients, resolved(patients, MethodState(response_by="best_response")))
    assert borrowing_view(blocks) is None


@pytest.mark.parametrize("methods", [MethodState(), MethodState(borrow_endpoint="dcr", borrow_model="exnex",
                                                                heterogeneity="large", denominator="evaluable",
                                                                borrow_threshold=12.5)])
def test_the_code_recomputes_the_table(methods, tmp_path, monkeypatch):
    from sarcoma_app.exports import downloads, snippets
    patients = load_patients(FilterState())
    view = by_key(response.build(patients, resolved(patients, methods)))["response_borrowing"]
    (tmp_path / snippets.PATIENTS_CSV).write_bytes(downloads.csv_bytes(patients))
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__snippet__"}
    exec(compile(view.code.python, "<snippet>", "exec"), namespace)
    pd.testing.assert_frame_equal(namespace["result"].table, view.result.table)


def test_the_code_refuses_unknown_choices():
    from sarcoma_app.exports import snippets
    for args in [("histology", "all", "orr", "ex; import os", "moderate", 0.2),
                 ("none", "all", "orr", "ex", "moderate", 0.2), ("histology", "all", "orr", "ex", "moderate", 2.0)]:
        with pytest.raises(ValueError):
            snippets.borrowing(*args)
