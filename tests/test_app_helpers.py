"""Glue helpers: number formats, markdown escaping, SQL building and data shaping."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.survival import kaplan_meier
from sarcoma_app.sources import filter_sql
from sarcoma_app.views import prepare
from sarcoma_app.text import (
    escape_markdown, fmt_median_ci, fmt_p, fmt_rate_ci, fmt_ratio_ci, fmt_time,
)
from sarcoma_app.viewstate.url_state import FilterState


def test_not_reached_is_nr_never_a_number():
    assert fmt_time(math.nan) == "NR"
    assert fmt_median_ci(2.25, 1.8, math.nan) == "2.25 (1.80–NR)"
    assert fmt_median_ci(math.nan, math.nan, math.nan) == "NR (NR–NR)"


def test_rate_and_ratio_formats():
    assert fmt_rate_ci(0.25, 0.1069, 0.4487) == "25.0% (10.7–44.9)"
    assert fmt_rate_ci(0.0, math.nan, math.nan) == "0.0% (CI not defined)"
    assert fmt_rate_ci(math.nan, math.nan, math.nan) == "not estimable"
    assert fmt_ratio_ci(0.2005, 0.0574, 0.7008) == "0.20 (0.06–0.70)"
    assert fmt_ratio_ci(math.nan, 1, 2) == "not estimable"
    assert fmt_ratio_ci(1.0, 0.5, math.inf) == "not estimable"


@pytest.mark.parametrize("p, text", [(0.0118, "0.012"), (0.0004, "<0.001"), (0.25, "0.25"), (math.nan, "–"),
                                     (1.0, "1.00")])
def test_p_values(p, text):
    assert fmt_p(p) == text


@pytest.mark.parametrize("hostile", ["[click](javascript:alert(1))", "![x](http://evil/x.png)", ":red[alarm]",
                                     "$x^2$", "**bold**", "<b>x</b>", "line\nbreak # heading"])
def test_escaped_markdown_has_no_live_syntax(hostile):
    escaped = escape_markdown(hostile)
    for token in ["[", "]", "(", ")", "*", "$", "<", "#", "!"]:
        assert all(escaped[i - 1] == "\\" for i, c in enumerate(escaped) if c == token), (token, escaped)
    assert "\n" not in escaped
    assert ":red" not in escaped


def test_filters_travel_as_parameters_only():
    hostile = "x'); DROP TABLE patients; --"
    sql, parameters = filter_sql.patients_sql(FilterState(histology=(hostile,), pazopanib=("yes", "unknown")))
    assert hostile not in sql and "DROP" not in sql
    assert sql.count("?") == len(parameters) == 3
    assert parameters == (hostile, "yes", "unknown")


def test_faceted_counts_skip_their_own_dimension():
    filters = FilterState(pazopanib=("yes",), ecog=("0",))
    sql, parameters = filter_sql.option_counts_sql(filters, "pazopanib")
    assert parameters == ("0",)
    assert sql.count("?") == 1


def test_default_selection_leaves_out_simulated_studies_only():
    assert filter_sql.where_clause(FilterState()) == ("WHERE study_id NOT ILIKE '%simulated%'", ())
    sql, _ = filter_sql.where_clause(FilterState(evaluable_only=True))
    assert sql == "WHERE evaluable AND study_id NOT ILIKE '%simulated%'"
    sql, parameters = filter_sql.where_clause(FilterState(study=("simulated_100k",)))
    assert "simulated%" not in sql and parameters == ("simulated_100k",)
    # the study filter's own counts still list a simulated study, so it can be picked
    assert "simulated" not in filter_sql.option_counts_sql(FilterState(), "study")[0]


def test_pfs_split_and_exclusion_reasons():
    patients = pd.DataFrame({"study_id": ["a", "a", "b", "b"], "pfs_months": [1.0, np.nan, np.nan, 2.0],
                             "pfs_event": pd.array([1, pd.NA, pd.NA, pd.NA], dtype="Int64")})
    analysable, excluded = prepare.endpoint_data(patients, "pfs")
    assert len(analysable) == 1 and analysable["event"].dtype.kind == "i" and analysable["time"].dtype.kind == "f"
    summary = prepare.exclusion_summary(excluded)
    assert summary["Patients"].sum() == 3
    assert set(summary["Reason"]) == {"PFS time not recorded", "PFS event status not recorded"}


def test_group_labels_name_missing_values():
    patients = pd.DataFrame({"pazopanib": pd.array([True, False, pd.NA], dtype="boolean"),
                             "ecog": pd.array([0, 1, pd.NA], dtype="Int64")})
    assert prepare.group_labels(patients, "pazopanib").tolist() == ["on pazopanib", "no pazopanib", "not reported"]
    assert prepare.group_labels(patients, "ecog").tolist() == ["ECOG 0", "ECOG 1", "not reported"]
    assert set(prepare.group_labels(patients, "none")) == {"All patients"}


def test_km_frames_start_at_one_and_risk_grid_covers_follow_up():
    fit = kaplan_meier([1.0, 2.0, 2.0, 3.5], [1, 0, 1, 1])
    curves = prepare.km_curve_frame({"g": fit})
    assert curves.iloc[0][["time", "survival"]].tolist() == [0.0, 1.0]
    censors = prepare.km_censor_frame({"g": fit})
    assert censors["time"].tolist() == [2.0]
    grid = prepare.risk_grid(15.0)
    assert grid[0] == 0 and grid[-1] >= 15.0 and len(grid) <= 10
    risk = prepare.km_risk_frame({"g": fit}, grid)
    assert risk["n_risk"].iloc[0] == fit.n


@pytest.mark.parametrize("values", [pd.Series([2.0, np.nan, 2.0, 5.0], index=[7, 3, 1, 0]),
                                    pd.Series(["b", None, "a", "b"]), pd.Series([], dtype=float)])
def test_once_per_value_equals_map(values):
    calls = []

    def label(value):
        calls.append(value)
        return "missing" if pd.isna(value) else f"<{value}>"

    shown = prepare.once_per_value(values, label)
    pd.testing.assert_series_equal(shown, values.map(lambda v: "missing" if pd.isna(v) else f"<{v}>").astype(object))
    assert len(calls) == values.nunique(dropna=False)


def test_events_by_term_and_grade_keeps_unstated_grades():
    events = pd.DataFrame({"term": ["Pneumonitis", "Pneumonitis", "ALT increased"],
                           "grade": pd.array([pd.NA, pd.NA, 3], dtype="Int64")})
    counts = prepare.events_by_term_and_grade(events).set_index(["term", "grade"])["value"]
    assert counts[("Pneumonitis", "not stated")] == 2 and counts[("ALT increased", "3")] == 1


@pytest.mark.parametrize("grouping", sorted(prepare.GROUPING_COLUMNS))
def test_group_labels_label_each_patient_like_the_one_value_rule(grouping):
    from data.simulate import simulate_cohort
    patients, _ = simulate_cohort(400, seed=7)
    column = patients[prepare.GROUPING_COLUMNS[grouping]].astype(object)
    column.iloc[:5] = [None, np.nan, pd.NA, column.iloc[5], column.iloc[6]]  # every kind of missing
    patients[prepare.GROUPING_COLUMNS[grouping]] = column
    expected = [prepare._group_label(value, grouping) for value in column]
    assert prepare.group_labels(patients, grouping).tolist() == expected
    assert prepare.group_labels(patients, grouping).index.equals(patients.index)


def test_best_response_counts_add_up_and_name_missing_histology():
    patients = pd.DataFrame({"study_id": ["a", "a", "b", "b"], "histology": ["X", None, "X", "X"],
                             "best_response": ["PR", "SD", None, "PR"]})
    counts = prepare.best_response_counts(patients)
    assert counts["n"].sum() == 4
    assert set(counts["response"]) == {"PR", "SD", "NE"}
    assert "Histology not reported" in set(counts["histology"])
    assert counts[["study", "histology", "response"]].duplicated().sum() == 0


@pytest.mark.parametrize("filters", [
    FilterState(), FilterState(pazopanib=("yes",)), FilterState(pazopanib=("unknown",), evaluable_only=True),
    FilterState(study=("nab_paclitaxel_sintilimab",), ecog=("1",)), FilterState(histology=("no such histology",)),
])
def test_loaded_patients_are_the_rows_the_full_filter_query_returns(filters):
    """db.load_patients selects cached rows by row id; it must equal the plain filtered query."""
    import duckdb

    from data.build import ensure_database
    from sarcoma_app.sources import db

    with duckdb.connect(str(ensure_database()), read_only=True) as con:
        sql, parameters = filter_sql.patients_sql(filters)
        expected = con.execute(sql, list(parameters)).df()
    loaded = db.load_patients(filters)
    assert list(loaded.columns) == list(filter_sql.PATIENT_COLUMNS)
    pd.testing.assert_frame_equal(loaded, expected, check_dtype=False)


@pytest.mark.parametrize("filters", [
    FilterState(), FilterState(pazopanib=("yes",), ecog=("0", "unknown")),
    FilterState(study=("nab_paclitaxel_sintilimab",), response=("PR", "SD"), evaluable_only=True),
])
def test_all_option_counts_in_one_query_equal_one_query_per_dimension(filters):
    import duckdb

    from data.build import ensure_database
    from sarcoma_app.sources import db

    with duckdb.connect(str(ensure_database()), read_only=True) as con:
        expected = {}
        for dimension in filter_sql.DIMENSIONS:
            sql, parameters = filter_sql.option_counts_sql(filters, dimension.name)
            frame = con.execute(sql, list(parameters)).df()
            expected[dimension.name] = {str(v): int(n) for v, n in zip(frame["value"], frame["n"])}
    sql, parameters = filter_sql.all_option_counts_sql(filters)
    assert sql.count("?") == len(parameters)
    assert db.option_counts(filters) == expected
    assert sum(expected["study"].values()) > 0


def test_endpoint_data_is_a_copy_the_page_may_change():
    patients = pd.DataFrame({"pfs_months": [1.5, 2.0], "pfs_event": pd.array([1, 0], dtype="Int32"), "x": [1.0, 2.0]})
    before = patients.copy()
    analysable, _ = prepare.endpoint_data(patients, "pfs")
    analysable.loc[0, "x"] = 99.0
    pd.testing.assert_frame_equal(patients, before)


def test_exported_figures_say_the_filters_in_words(monkeypatch):
    """A downloaded chart's subtitle reads like the slide footnote, not like URL keys."""
    from sarcoma_app.render import ui
    from sarcoma_app.viewstate.url_state import MethodState, ViewState

    state = ViewState(filters=FilterState(study=("nab_paclitaxel_sintilimab",), pazopanib=("no",)),
                      methods=MethodState(km_by="histology_group"))
    monkeypatch.setattr(ui, "current_state", lambda: state)
    monkeypatch.setattr(ui.cohort, "is_bundled", lambda: True)
    subtitle = ui.filter_summary()
    assert subtitle == "Patients: Study: Nab-paclitaxel + sintilimab; Pazopanib co-treatment: no"
    assert "nab_paclitaxel_sintilimab" not in subtitle and "km_by" not in subtitle
    monkeypatch.setattr(ui, "current_state", lambda: ViewState())
    assert ui.filter_summary() == "Patients: none (all patients)"


@pytest.mark.parametrize("max_time, expected", [(15.0, [0, 3, 6, 9, 12, 15]), (10.2, [0, 3, 6, 9, 12]),
                                                (40.0, [0, 6, 12, 18, 24, 30, 36, 42]), (5.0, [0, 1, 2, 3, 4, 5]),
                                                (120.0, [0, 24, 48, 72, 96, 120])])
def test_risk_grid_is_whole_round_months(max_time, expected):
    assert prepare.risk_grid(max_time).tolist() == expected
