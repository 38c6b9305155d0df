"""Cox from events and censorings per (covariate pattern, time) equals Cox on the patients (1e-10)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import cox
from analysis.cox import InsufficientDataError, fit_cox, fit_cox_from_counts
from data import registry
from sarcoma_app.sources import count_sql, filter_sql
from sarcoma_app.views.covariates import COVARIATES
from sarcoma_app.viewstate.url_state import FilterState
from tests.conftest import count_source
from tests.test_cox import force_risk_sets


@pytest.fixture(scope="module", params=["bundled", "simulated"])
def con(request):
    connection = count_source(request.param, seed=6)
    yield connection
    connection.close()


def assert_same_fit(counted: pd.DataFrame, expected: pd.DataFrame):
    pd.testing.assert_frame_equal(counted, expected, check_exact=False, rtol=1e-10, atol=1e-10, check_dtype=False)
    for key, value in expected.attrs.items():
        if key in ("lr_statistic", "lr_p"):
            # a difference of two log-likelihoods (here about 1e4): rounding of 1e-16 x 1e4 each
            scale = 1e-10 + 1e-12 * abs(expected.attrs["loglik"][0])
            assert counted.attrs[key] == pytest.approx(value, rel=1e-10, abs=scale, nan_ok=True), key
        elif isinstance(value, float):
            assert counted.attrs[key] == pytest.approx(value, rel=1e-10, abs=1e-10, nan_ok=True), key
        elif isinstance(value, tuple):
            np.testing.assert_allclose(counted.attrs[key], value, rtol=1e-10)
        else:
            assert counted.attrs[key] == value, key


@pytest.fixture(params=["patterns", "pattern shares", "pattern projections", "rows"])
def risk_sets(request, monkeypatch):
    """Every risk-set path of the counted fit: over the patterns (outer products of their shares or of
    their projections), or over the rows of counts weighted by their patients."""
    force_risk_sets(monkeypatch, request.param)
    return request.param


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("keys", [("angiosarcoma", "ecog"), ("histology_group", "pazopanib", "sex"),
                                  ("primary_site", "prior_lines"), ("head_neck_primary",)])
def test_counted_cox_is_the_patients_cox(con, keys, ties, risk_sets):
    spec = registry.ENDPOINTS["pfs"]
    variables = [registry.COVARIATES[key].variable for key in keys]
    sql, parameters = filter_sql.patients_sql(FilterState(), hide_simulated=False)
    patients = con.execute(sql, list(parameters)).df()
    data = pd.DataFrame({"time": patients[spec.time], "event": patients[spec.event]})
    for key in keys:
        data[key] = COVARIATES[key].build(patients)
    if data.dropna()["event"].sum() == 0 or any(data[k].nunique() < 2 for k in keys):
        pytest.skip("the source cannot fit this model")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(cox, "_RISK_SETS", "auto")  # the patient path as the app runs it
            expected = fit_cox(data, "time", "event", list(keys), ties=ties)
    except InsufficientDataError:
        pytest.skip("the source cannot fit this model")
    sql, parameters = count_sql.cox_counts_sql(FilterState(), "pfs", variables, hide_simulated=False)
    counts = con.execute(sql, list(parameters)).df()
    assert len(counts) < len(patients) or len(patients) < 500
    table = counts[["time", "n_event", "n_censor"]].copy()
    for key in keys:
        table[key] = COVARIATES[key].build(counts, counts["n_event"] + counts["n_censor"])
    assert_same_fit(fit_cox_from_counts(table, list(keys), ties=ties), expected)


def test_counts_in_any_order_and_split_rows_give_the_same_fit():
    rng = np.random.default_rng(1)
    n = 400
    patients = pd.DataFrame({"time": rng.integers(1, 30, n).astype(float), "event": rng.integers(0, 2, n),
                             "arm": rng.choice(["a", "b", "c"], n), "flag": rng.integers(0, 2, n).astype(bool)})
    expected = fit_cox(patients, "time", "event", ["arm", "flag"])
    counts = (patients.assign(n_event=patients["event"], n_censor=1 - patients["event"])
              .groupby(["arm", "flag", "time"], as_index=False)[["n_event", "n_censor"]].sum())
    shuffled = pd.concat([counts, counts.assign(n_event=0, n_censor=0)]).sample(frac=1, random_state=2)
    assert_same_fit(fit_cox_from_counts(shuffled, ["arm", "flag"]), expected)


def test_bad_counts_are_refused_by_name():
    counts = pd.DataFrame({"time": [1.0, 2.0], "n_event": [1, -1], "n_censor": [0, 1], "arm": ["a", "b"]})
    with pytest.raises(ValueError, match="n_event"):
        fit_cox_from_counts(counts, ["arm"])
    with pytest.raises(ValueError, match="not patient columns"):
        count_sql.cox_counts_sql(FilterState(), "pfs", ["age; DROP TABLE patients"])


def many_pattern_counts(seed: int = 4, n: int = 6000):
    """Patients with 6 x 5 x 4 x 2 = 240 covariate patterns and tied times, and their counts."""
    rng = np.random.default_rng(seed)
    patients = pd.DataFrame({"time": rng.integers(1, 60, n).astype(float), "event": rng.integers(0, 2, n),
                             "a": rng.choice(list("abcdef"), n), "b": rng.choice(list("vwxyz"), n),
                             "c": rng.integers(0, 4, n), "flag": rng.integers(0, 2, n).astype(bool)})
    counts = (patients.assign(n_event=patients["event"], n_censor=1 - patients["event"])
              .groupby(["a", "b", "c", "flag", "time"], as_index=False)[["n_event", "n_censor"]].sum())
    return patients, counts


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_many_patterns_fit_as_the_patients_whichever_risk_sets_the_budget_picks(monkeypatch, ties):
    patients, counts = many_pattern_counts()
    covariates = ["a", "b", "c", "flag"]
    expected = fit_cox(patients, "time", "event", covariates, ties=ties)
    used, newton_raphson = [], cox._newton_raphson
    monkeypatch.setattr(cox, "_newton_raphson", lambda risk_sets: (used.append(type(risk_sets)),
                                                                   newton_raphson(risk_sets))[1])
    assert_same_fit(fit_cox_from_counts(counts, covariates, ties=ties), expected)  # 240 patterns: the patterns
    monkeypatch.setattr(cox, "_MAX_PATTERN_CELLS", 1000)  # too many cells: the weighted rows
    assert_same_fit(fit_cox_from_counts(counts, covariates, ties=ties), expected)
    assert used == [cox._PatternRiskSets, cox._RiskSets]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("keys", [("histology_group", "pazopanib"), ("ecog",)])
def test_stratified_counted_cox_is_the_patients_stratified_cox(con, keys, ties):
    spec = registry.ENDPOINTS["pfs"]
    sql, parameters = filter_sql.patients_sql(FilterState(), hide_simulated=False)
    patients = con.execute(sql, list(parameters)).df()
    if patients["study_id"].nunique() < 2:
        pytest.skip("one study: nothing to stratify")
    data = pd.DataFrame({"time": patients[spec.time], "event": patients[spec.event],
                         "study_id": patients["study_id"]})
    for key in keys:
        data[key] = COVARIATES[key].build(patients)
    expected = fit_cox(data, "time", "event", list(keys), ties=ties, strata="study_id")
    variables = [registry.COVARIATES[key].variable for key in keys] + ["study_id"]
    sql, parameters = count_sql.cox_counts_sql(FilterState(), "pfs", variables, hide_simulated=False)
    counts = con.execute(sql, list(parameters)).df()
    table = counts[["time", "n_event", "n_censor", "study_id"]].copy()
    for key in keys:
        table[key] = COVARIATES[key].build(counts, counts["n_event"] + counts["n_censor"])
    assert_same_fit(fit_cox_from_counts(table, list(keys), ties=ties, strata="study_id"), expected)


def test_stratified_counts_drop_a_missing_stratum_as_the_patients_do():
    patients, counts = many_pattern_counts(seed=8, n=1500)
    patients["site"] = np.where(patients["c"] == 0, None, np.where(patients["flag"], "x", "y"))
    counts = (patients.assign(n_event=patients["event"], n_censor=1 - patients["event"])
              .groupby(["a", "flag", "site", "time"], as_index=False, dropna=False)[["n_event", "n_censor"]].sum())
    expected = fit_cox(patients, "time", "event", ["a"], strata="site")
    fitted = fit_cox_from_counts(counts, ["a"], strata="site")
    assert expected.attrs["n_dropped_strata"] > 0
    assert_same_fit(fitted, expected)


def test_univariate_screening_from_counts_is_the_patients_screening(con):
    keys = ["angiosarcoma", "histology_group", "ecog", "prior_lines", "pazopanib", "sex"]
    spec = registry.ENDPOINTS["pfs"]
    sql, parameters = filter_sql.patients_sql(FilterState(), hide_simulated=False)
    patients = con.execute(sql, list(parameters)).df()
    data = pd.DataFrame({"time": patients[spec.time], "event": patients[spec.event]})
    tables = {}
    for key in keys:
        data[key] = COVARIATES[key].build(patients)
        sql, parameters = count_sql.cox_counts_sql(FilterState(), "pfs", [registry.COVARIATES[key].variable],
                                                   hide_simulated=False)
        counts = con.execute(sql, list(parameters)).df()
        tables[key] = counts[["time", "n_event", "n_censor"]].assign(
            **{key: COVARIATES[key].build(counts, counts["n_event"] + counts["n_censor"])})
    expected = cox.univariate_cox(data, "time", "event", keys)
    pd.testing.assert_frame_equal(cox.univariate_cox_from_counts(tables), expected, check_exact=False, rtol=1e-10,
                                  atol=1e-10, check_dtype=False)


@pytest.mark.parametrize("risk_sets", ["patterns", "pattern shares", "pattern projections"], indirect=True)
def test_the_screening_models_share_only_what_their_deaths_have_in_common(risk_sets):
    # the univariate models reuse Efron's per-death structure when their deaths per time are the same, and
    # the sums at beta = 0 when their numbers at risk are the same too; "b" leaves out patients who died at
    # tied times (other tied deaths than "a" and "c"), "d" censored patients only (the same deaths, fewer
    # at risk)
    rng = np.random.default_rng(12)
    n = 3000
    patients = pd.DataFrame({"time": rng.integers(1, 40, n).astype(float), "event": rng.integers(0, 2, n),
                             "a": rng.integers(0, 3, n).astype(str), "b": rng.integers(0, 2, n).astype(float),
                             "c": rng.random(n) < 0.4, "d": rng.integers(0, 2, n).astype(float)})
    patients.loc[(patients["event"] == 1) & (patients["time"] % 3 == 0) & (rng.random(n) < 0.5), "b"] = np.nan
    patients.loc[(patients["event"] == 0) & (rng.random(n) < 0.3), "d"] = np.nan
    keys = ("a", "b", "c", "d")
    tables = {}
    for key in keys:
        grouped = patients.groupby([key, "time"], dropna=False)["event"]
        tables[key] = pd.DataFrame({"n_event": grouped.sum(), "n_censor": grouped.size() - grouped.sum()}
                                   ).reset_index()
    screened = cox.univariate_cox_from_counts(tables)
    for key in keys:
        alone = fit_cox_from_counts(tables[key], [key])
        rows = screened[screened["covariate"] == key].set_index("term")
        np.testing.assert_array_equal(rows["coef"].to_numpy(), alone["coef"].to_numpy())
        np.testing.assert_array_equal(rows["se"].to_numpy(), alone["se"].to_numpy())
        assert rows["lr_p"].iloc[0] == alone.attrs["lr_p"]
    patient_screen = cox.univariate_cox(patients, "time", "event", list(keys))
    pd.testing.assert_frame_equal(screened, patient_screen, check_exact=False, rtol=1e-10, atol=1e-10,
                                  check_dtype=False)
    n_of = screened.groupby("covariate")["n"].first()
    events_of = screened.groupby("covariate")["events"].first()
    assert n_of["b"] < n and events_of["b"] < events_of["a"]  # b's model has fewer deaths
    assert n_of["d"] < n and events_of["d"] == events_of["a"]  # d's the same deaths, fewer at risk
