"""The Survival page of a large source (counts from DuckDB) shows the same numbers as the patient-level page."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from data.build import ensure_database
from data.simulate import simulate_cohort
from sarcoma_app.sources import count_sql, filter_sql
from sarcoma_app.views import survival, survival_counts
from sarcoma_app.views.blocks import Note, Table, views_of
from sarcoma_app.viewstate.url_state import FilterState, MethodState


@pytest.fixture(scope="module", params=["bundled", "simulated"])
def con(request):
    if request.param == "bundled":
        connection = duckdb.connect(str(ensure_database()), read_only=True)
    else:
        connection = duckdb.connect(":memory:")
        frame = simulate_cohort(5_000, seed=3, time_decimals=2)[0]
        connection.register("frame", frame)
        connection.execute("CREATE TABLE patients AS SELECT * FROM frame")
    yield connection
    connection.close()


def tables(blocks) -> dict[str, pd.DataFrame]:
    return {part.name: part.frame for view in views_of(blocks) for part in view.parts if isinstance(part, Table)}


def follow_up_texts(blocks) -> list[str]:
    return [b.text for b in blocks if isinstance(b, Note) and b.text.startswith("Median follow-up")]


@pytest.mark.parametrize("methods", [
    MethodState(),
    MethodState(km_by="histology_group", landmarks=(3.0, 6.0)),
    MethodState(km_by="pazopanib", conf_type="log-log", risk_table="at_risk"),
    MethodState(km_by="histology_group", stratify="study"),
    MethodState(km_by="histology_group", p_adjust="holm", rmst_tau=4.0),
    MethodState(km_by="pazopanib", rmst_tau=4000.0),  # beyond the follow-up: refused, the default shown
    MethodState(km_by="histology"),  # single-patient curves (bundled)
])
def test_count_page_shows_the_patient_page_numbers(con, methods):
    filters = FilterState()
    sql, parameters = filter_sql.patients_sql(filters, hide_simulated=False)
    patients = con.execute(sql, list(parameters)).df()
    sql, parameters = count_sql.survival_counts_sql(filters, methods.survival_endpoint, methods.km_by,
                                                    methods.stratify == "study", hide_simulated=False)
    counts = con.execute(sql, list(parameters)).df()
    by_patients = survival.build(patients, methods)
    by_counts = survival_counts.build(counts, len(patients), methods, methods.km_by)
    expected, shown = tables(by_patients), tables(by_counts)
    assert set(shown) == set(expected)  # every table, pairwise tests and RMST included
    assert any(name.startswith("rmst-") for name in shown)
    assert any(name.startswith("pairwise-") for name in shown) or methods.km_by != "histology_group"
    for name, table in shown.items():
        pd.testing.assert_frame_equal(table.reset_index(drop=True), expected[name].reset_index(drop=True))
    curve_notes = lambda blocks: [b.text for b in blocks if isinstance(b, Note)  # noqa: E731
                                  and b.text.startswith(("No events", "A single patient"))]
    assert curve_notes(by_counts) == curve_notes(by_patients)
    assert follow_up_texts(by_counts) and follow_up_texts(by_counts)[0].split(" Time to")[0] == \
        follow_up_texts(by_patients)[0].split(" Time to")[0]
    km = {v.key: v for v in views_of(by_counts)}["survival_km"].result
    km_patients = {v.key: v for v in views_of(by_patients)}["survival_km"].result
    assert list(km.fits) == list(km_patients.fits)


def test_count_choices_follow_the_source(con):
    recorded = {c: (1, 2) for c in filter_sql.PATIENT_COLUMNS}
    fields = [c.field for c in survival_counts.choices(recorded, 2, MethodState())]
    assert fields[:2] == ["survival_endpoint", "km_by"] and "stratify" in fields
    assert survival_counts.choices({c: (0, 0) for c in filter_sql.PATIENT_COLUMNS}, 1, MethodState()) == []


def test_no_selected_patient_and_no_endpoint():
    empty = pd.DataFrame({"group": [], "stratum": [], "time": [], "n_event": [], "n_censor": []})
    assert survival_counts.build(empty, 0, MethodState(), "none")[0].text.startswith("No patient matches")
    nothing = pd.DataFrame({"group": ["All patients"], "stratum": [0], "time": [None], "n_event": [0],
                            "n_censor": [3]})
    assert "No selected patient has a recorded" in survival_counts.build(nothing, 3, MethodState(), "none")[0].text


def test_pairwise_tests_of_a_count_table_past_the_row_limit_are_not_run(con, monkeypatch):
    from dataclasses import replace

    from sarcoma_app import limits
    methods = MethodState(km_by="histology_group")
    sql, parameters = count_sql.survival_counts_sql(FilterState(), methods.survival_endpoint, methods.km_by, False,
                                                    hide_simulated=False)
    counts = con.execute(sql, list(parameters)).df()
    monkeypatch.setattr(limits, "SCALE", replace(limits.SCALE, pairwise_count_rows=limits.Limit(5, "rows", "test")))
    blocks = survival_counts.build(counts, 10**6, methods, methods.km_by)
    assert not any(name.startswith("pairwise-") for name in tables(blocks))
    assert any(isinstance(b, Note) and b.text.startswith("Pairwise log-rank tests are not run") for b in blocks)
    assert any(name.startswith("rmst-") for name in tables(blocks))  # the rest of the page stands
