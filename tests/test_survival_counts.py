"""The count-based survival path (a database counts, analysis is exact) equals the patient-level path.

Kaplan-Meier and log-rank computed from DuckDB's events and censorings per
(group, stratum, time) must give the same numbers as the same functions on
the patients, to 1e-12, on the bundled cohorts and on simulated registries.
The patient-level functions are themselves checked against R in
tests/test_survival.py.
"""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis.survival import (kaplan_meier, kaplan_meier_by_group, kaplan_meier_by_group_from_counts,
                               kaplan_meier_from_counts, logrank_table, logrank_table_from_counts, survival_counts)
from data.build import ensure_database
from data.simulate import simulate_cohort
from sarcoma_app.sources import count_sql, filter_sql
from sarcoma_app.views import prepare
from sarcoma_app.viewstate.url_state import FilterState

TOL = dict(rtol=1e-12, atol=1e-12)
FIT_ARRAYS = ("time", "n_risk", "n_event", "n_censor", "survival", "std_err_log", "lower", "upper")


def assert_same_fit(count_fit, patient_fit):
    for name in FIT_ARRAYS:
        np.testing.assert_allclose(getattr(count_fit, name), getattr(patient_fit, name), equal_nan=True, **TOL,
                                   err_msg=name)
    assert (count_fit.n, count_fit.n_events, count_fit.n_dropped) == (patient_fit.n, patient_fit.n_events,
                                                                      patient_fit.n_dropped)
    np.testing.assert_allclose([count_fit.median, *count_fit.median_ci],
                               [patient_fit.median, *patient_fit.median_ci], equal_nan=True, **TOL)


def assert_same_logrank(count_test, patient_test):
    np.testing.assert_allclose([count_test.statistic, count_test.p_value],
                               [patient_test.statistic, patient_test.p_value], equal_nan=True, **TOL)
    assert (count_test.df, count_test.n_strata, count_test.n_dropped, count_test.n_dropped_strata) == (
        patient_test.df, patient_test.n_strata, patient_test.n_dropped, patient_test.n_dropped_strata)
    np.testing.assert_allclose(count_test.variance, patient_test.variance, **TOL)
    pd.testing.assert_frame_equal(count_test.table, patient_test.table, rtol=1e-12, atol=1e-12)


def database_counts(con, filters, endpoint, grouping, stratify):
    sql, parameters = count_sql.survival_counts_sql(filters, endpoint, grouping, stratify, hide_simulated=False)
    return con.execute(sql, list(parameters)).df()


def database_patients(con, filters):
    sql, parameters = filter_sql.patients_sql(filters, hide_simulated=False)
    return con.execute(sql, list(parameters)).df()


@pytest.fixture(scope="module")
def bundled():
    con = duckdb.connect(str(ensure_database()), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def simulated():
    """A simulated registry with heavy ties (1 decimal of a month), as a DuckDB table."""
    patients, _ = simulate_cohort(20_000, seed=7, time_decimals=1)
    con = duckdb.connect(":memory:")
    con.register("frame", patients)
    con.execute("CREATE TABLE patients AS SELECT * FROM frame")
    con.unregister("frame")
    yield con
    con.close()


CASES = [("pfs", "none", False), ("pfs", "histology_group", False), ("pfs", "pazopanib", True),
         ("os", "study", False), ("os", "ecog", False), ("pfs", "sex", True)]


def _patient_arrays(patients, endpoint, grouping):
    spec = prepare.registry.ENDPOINTS[endpoint]
    groups = (pd.Series("All patients", index=patients.index, dtype=object) if grouping == "none"
              else patients[count_sql.GROUPING_COLUMNS[grouping]].astype(object))
    return patients[spec.time], patients[spec.event], groups


@pytest.mark.parametrize("source", ["bundled", "simulated"])
@pytest.mark.parametrize("endpoint, grouping, stratify", CASES)
def test_km_and_logrank_from_database_counts_equal_patient_path(source, endpoint, grouping, stratify, request):
    con = request.getfixturevalue(source)
    filters = FilterState()
    patients = database_patients(con, filters)
    time, event, groups = _patient_arrays(patients, endpoint, grouping)
    if time.notna().sum() == 0:
        pytest.skip(f"no {endpoint} in {source}")
    counts = database_counts(con, filters, endpoint, grouping, stratify)
    assert len(counts) <= len(patients)
    if groups[time.notna() & event.notna()].isna().all():  # nothing left: both paths refuse
        with pytest.raises(ValueError, match="no patient left"):
            kaplan_meier_by_group(time, event, groups)
        with pytest.raises(ValueError, match="no patient left"):
            kaplan_meier_by_group_from_counts(counts)
        return
    for conf_type in ("log", "log-log", "plain"):
        by_counts = kaplan_meier_by_group_from_counts(counts, conf_type=conf_type, landmarks=[3, 6])
        by_patients = kaplan_meier_by_group(time, event, groups, conf_type=conf_type, landmarks=[3, 6])
        assert list(by_counts.fits) == list(by_patients.fits)
        assert by_counts.n_dropped == by_patients.n_dropped
        for label in by_patients.fits:
            assert_same_fit(by_counts.fits[label], by_patients.fits[label])
        pd.testing.assert_frame_equal(by_counts.summary, by_patients.summary, rtol=1e-12, atol=1e-12)
        pd.testing.assert_frame_equal(by_counts.landmarks, by_patients.landmarks, rtol=1e-12, atol=1e-12,
                                      check_dtype=False)
    if counts.loc[counts["time"].notna(), "group"].nunique(dropna=True) >= 2:
        strata = patients["study_id"] if stratify else None
        assert_same_logrank(logrank_table_from_counts(counts, stratified=stratify),
                            logrank_table(time, event, groups, strata=strata))


def test_counts_follow_the_filters(simulated):
    filters = FilterState(pazopanib=("yes",), ecog=("0", "1"))
    patients = database_patients(simulated, filters)
    counts = database_counts(simulated, filters, "pfs", "histology_group", False)
    assert int(counts[["n_event", "n_censor"]].to_numpy().sum()) == len(patients)
    time, event, groups = _patient_arrays(patients, "pfs", "histology_group")
    assert_same_logrank(logrank_table_from_counts(counts, stratified=False), logrank_table(time, event, groups))


def test_single_curve_from_counts_with_missing_and_near_ties():
    rng = np.random.default_rng(3)
    time = np.round(rng.exponential(5, 500), 1)
    time[:20] += 1e-10  # near ties, merged as R aeqSurv
    event = (rng.random(500) < 0.7).astype(float)
    time[50:55] = np.nan
    event[60:63] = np.nan
    counts = survival_counts(time, event)
    assert counts["time"].isna().any()
    fit = kaplan_meier_from_counts(counts["time"], counts["n_event"], counts["n_censor"], conf_type="log-log")
    assert_same_fit(fit, kaplan_meier(time, event, conf_type="log-log"))
    assert fit.n_dropped == 8


def test_counts_with_a_missing_group_are_dropped_as_na_omit():
    time = [1, 2, 3, 4, 5, 6]
    event = [1, 0, 1, 1, 0, 1]
    groups = ["a", "b", None, "a", "b", "b"]
    counts = survival_counts(time, event, groups)
    assert_same_logrank(logrank_table_from_counts(counts, stratified=False), logrank_table(time, event, groups))
    assert kaplan_meier_by_group_from_counts(counts).n_dropped == 1


@pytest.mark.parametrize("bad, message", [
    (pd.DataFrame({"group": ["a"], "time": [1.0], "n_event": [-1], "n_censor": [0]}), "non-negative whole"),
    (pd.DataFrame({"group": ["a"], "time": [1.0], "n_event": [0.5], "n_censor": [0]}), "non-negative whole"),
    (pd.DataFrame({"group": ["a"], "time": [-1.0], "n_event": [1], "n_censor": [0]}), "non-negative"),
    (pd.DataFrame({"group": ["a"], "time": [1.0], "n_event": [1]}), "lack the column"),
    (pd.DataFrame({"group": ["a"], "time": [np.nan], "n_event": [1], "n_censor": [0]}), "no patient left"),
])
def test_invalid_counts_raise_clearly(bad, message):
    with pytest.raises(ValueError, match=message):
        kaplan_meier_by_group_from_counts(bad)


def test_logrank_from_counts_needs_two_groups():
    counts = survival_counts([1, 2], [1, 1], ["a", "a"])
    with pytest.raises(ValueError, match="two groups"):
        logrank_table_from_counts(counts, stratified=False)


# ---- the count path against R directly (the R reference data of tests/test_survival.py) ----
from tests.test_survival import (GROUP_CASES, LOGRANK_CASES, OVERALL_CASES, _alpha, _check_table,  # noqa: E402
                                 assert_close)


@pytest.mark.parametrize("dataset, entry", OVERALL_CASES)
def test_km_from_counts_table_against_R(dataset, entry):
    counts = survival_counts(dataset["time"], dataset["status"])
    fit = kaplan_meier_from_counts(counts["time"], counts["n_event"], counts["n_censor"],
                                   conf_type=entry["conf_type"], alpha=_alpha(entry))
    _check_table(fit, entry["overall"])


@pytest.mark.parametrize("dataset, entry, level", GROUP_CASES)
def test_km_by_group_from_counts_table_against_R(dataset, entry, level):
    counts = survival_counts(dataset["time"], dataset["status"], dataset["group"])
    grouped = kaplan_meier_by_group_from_counts(counts, conf_type=entry["conf_type"], alpha=_alpha(entry))
    _check_table(grouped.fits[level], entry["by_group"][level])


@pytest.mark.parametrize("dataset", LOGRANK_CASES)
def test_logrank_from_counts_against_R(dataset):
    expected = dataset["logrank"]
    result = logrank_table_from_counts(survival_counts(dataset["time"], dataset["status"], dataset["group"]),
                                       stratified=False)
    assert result.df == expected["df"]
    assert_close(result.statistic, expected["chisq"], "chisq")
    assert_close(result.p_value, expected["p"], "p")
    assert_close(result.table.set_index("group").loc[expected["levels"], "expected"], expected["expected"], "expected")
