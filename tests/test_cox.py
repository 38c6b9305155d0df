"""Tests for analysis.cox against R survival::coxph (tests/reference/cox_reference.R)."""

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import cox
from analysis.cox import InsufficientDataError, fit_cox, univariate_cox

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "cox_reference.json").read_text())
RTOL = 1e-6


def reference_frame(name):
    data = REFERENCE["datasets"][name]
    factors = set(data["factors"])
    columns = {}
    for column, values in data["columns"].items():
        if column in factors:
            columns[column] = pd.Series(values, dtype=object)
        else:
            columns[column] = pd.Series([np.nan if v is None else v for v in values],
                                        dtype=float)
    return pd.DataFrame(columns)


def fit_reference(ref):
    return fit_cox(reference_frame(ref["dataset"]), ref["duration"], ref["event"],
                   ref["covariates"], ties=ref["ties"])


def as_float(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


FITS = REFERENCE["fits"]
IDS = [f["id"] for f in FITS]
_CACHE = {}


@pytest.fixture(params=FITS, ids=IDS)
def case(request):
    ref = request.param
    if ref["id"] not in _CACHE:
        _CACHE[ref["id"]] = fit_reference(ref)
    return ref, _CACHE[ref["id"]]


def estimable_in_r(ref):
    return np.array([t not in ref["not_estimable"] for t in ref["terms"]])


def assert_terms_against_r(ref, result, ours_column, r_key):
    keep = estimable_in_r(ref)
    assert list(result.index) == ref["terms"]
    np.testing.assert_allclose(result[ours_column].to_numpy(float)[keep],
                               as_float(ref[r_key])[keep], rtol=RTOL)
    assert result[ours_column].iloc[~keep].isna().all()


# ------------------------------------------------------------ against R ----

def test_coef_against_R(case):
    ref, result = case
    assert_terms_against_r(ref, result, "coef", "coef")


def test_se_against_R(case):
    ref, result = case
    assert_terms_against_r(ref, result, "se", "se")


def test_hr_ci_against_R(case):
    ref, result = case
    for column in ("hr", "hr_lower", "hr_upper"):
        assert_terms_against_r(ref, result, column, column)


def test_wald_p_against_R(case):
    ref, result = case
    assert_terms_against_r(ref, result, "z", "z")
    assert_terms_against_r(ref, result, "p", "p")
    infinite_in_r = bool(ref["not_estimable"]) and not any(ref["coef_is_na"])
    if infinite_in_r:  # a Wald test on an infinite coefficient is not reported
        assert np.isnan(result.attrs["wald_statistic"]) and np.isnan(result.attrs["wald_p"])
    else:
        np.testing.assert_allclose(result.attrs["wald_statistic"], ref["wald_statistic"],
                                   rtol=RTOL)
        np.testing.assert_allclose(result.attrs["wald_p"], ref["wald_p"], rtol=RTOL)


def test_loglik_against_R(case):
    ref, result = case
    np.testing.assert_allclose(result.attrs["loglik"], ref["loglik"], rtol=RTOL)


def test_lr_test_against_R(case):
    ref, result = case
    np.testing.assert_allclose(result.attrs["lr_statistic"], ref["lr_statistic"], rtol=RTOL)
    assert result.attrs["lr_df"] == ref["lr_df"]
    np.testing.assert_allclose(result.attrs["lr_p"], ref["lr_p"], rtol=RTOL)


def test_score_test_against_R(case):
    ref, result = case
    np.testing.assert_allclose(result.attrs["score_statistic"], ref["score_statistic"],
                               rtol=RTOL)
    np.testing.assert_allclose(result.attrs["score_p"], ref["score_p"], rtol=RTOL)


def test_n_events_iterations_against_R(case):
    ref, result = case
    assert result.attrs["n"] == ref["n"]
    assert result.attrs["events"] == ref["nevent"]
    assert result.attrs["iterations"] == ref["iter"]
    assert result.attrs["converged"] == ("Ran out of iterations and did not converge"
                                         not in ref["warnings"])


def test_not_estimable_where_R_warns_or_gives_NA(case):
    ref, result = case
    flagged = result.index[~result["estimable"]].tolist()
    assert flagged == ref["not_estimable"]
    r_warned = any("infinite" in w for w in ref["warnings"]) or any(ref["coef_is_na"])
    assert r_warned == bool(flagged)
    for term in flagged:
        assert result.loc[term, "note"].startswith("not estimable")
        assert result.loc[term, ["hr", "hr_lower", "hr_upper", "p"]].isna().all()


def test_reference_records_what_R_gives_for_infinite_coefficients():
    by_id = {f["id"]: f for f in FITS}
    exposed = by_id["no_events_level exposed efron"]
    assert exposed["warnings"] == [
        "Loglik converged before variable  1 ; coefficient may be infinite. "]
    assert exposed["coef"][0] < -15 and exposed["se"][0] > 1000  # R: HR ~ 6e-10, se ~ 1e4
    separation = by_id["separation marker efron"]
    assert "Ran out of iterations and did not converge" in separation["warnings"]
    assert separation["coef"][0] > 100  # R returns HR = exp(470)


def test_no_events_level_note_names_the_level():
    ref = next(f for f in FITS if f["id"] == "no_events_level exposed+x_num efron")
    result = fit_reference(ref)
    assert result.loc["exposed", "note"] == ("not estimable: no events in exposed = 1 "
                                             "(infinite hazard ratio)")
    assert result.loc["exposed", "level_events"] == 0
    assert result.loc["x_num", "estimable"]
    assert any("not estimable" in w for w in result.attrs["warnings"])
    arm = fit_reference(next(f for f in FITS if f["id"] == "no_events_level arm efron"))
    assert (arm["note"] == "not estimable: no events in reference level control "
                           "(infinite hazard ratio)").all()


# ------------------------------------------------------- seed 002 paper ----

def seed002():
    return reference_frame("seed002").assign(
        angiosarcoma_vs_others=lambda d: d["histology"] == "Angiosarcoma",
        head_vs_other_sites=lambda d: d["primary_site"] == "Head")


def published_format(row):
    return (round(row["hr"], 2), round(row["hr_lower"], 2), round(row["hr_upper"], 2),
            round(row["p"], 3))


def test_seed002_angiosarcoma_reproduces_published_hr():
    table = univariate_cox(seed002(), "pfs_months", "progressed",
                           ["angiosarcoma_vs_others"]).iloc[0]
    assert published_format(table) == (0.20, 0.06, 0.70, 0.012)  # paper: 0.20 (0.06-0.70)
    assert table["n"] == 28 and table["events"] == 28
    assert table["level_n"] == 5 and table["level_events"] == 5


def test_seed002_angiosarcoma_breslow_rounds_differently():
    table = univariate_cox(seed002(), "pfs_months", "progressed",
                           ["angiosarcoma_vs_others"], ties="breslow").iloc[0]
    assert published_format(table) == (0.21, 0.06, 0.74, 0.015)  # paper used Efron


def test_seed002_head_reproduces_as_level_of_primary_site_factor():
    # The published head HR is the Head level of primary site as a 4-level
    # factor (reference Extremities; Neck and Trunk separate levels).
    table = univariate_cox(seed002(), "pfs_months", "progressed", ["primary_site"])
    head = table.set_index("term").loc["primary_site[Head]"]
    assert head["reference"] == "Extremities"
    assert published_format(head) == (0.20, 0.04, 0.99, 0.048)  # paper: 0.20 (0.04-0.99)
    breslow = univariate_cox(seed002(), "pfs_months", "progressed", ["primary_site"],
                             ties="breslow").set_index("term").loc["primary_site[Head]"]
    assert published_format(breslow) == (0.21, 0.04, 1.02, 0.053)


def test_seed002_head_vs_all_other_sites_does_not_reproduce_published_hr():
    # Head against all other sites pooled gives 0.26 (0.06-1.19), Wald p = 0.082
    # (likelihood-ratio p = 0.041): not the published 0.20 (0.04-0.99), p = 0.048.
    table = univariate_cox(seed002(), "pfs_months", "progressed",
                           ["head_vs_other_sites"]).iloc[0]
    assert published_format(table) == (0.26, 0.06, 1.19, 0.082)
    assert round(table["lr_p"], 3) == 0.041
    assert table["level_n"] == 3


# ------------------------------------------------------------ invariance ----

def sim200():
    return reference_frame("sim200")


def test_row_order_does_not_change_results():
    data = sim200()
    shuffled = data.sample(frac=1, random_state=3)
    covariates = ["x_num", "x_bin", "grp", "age"]
    a = fit_cox(data, "time", "status", covariates)
    b = fit_cox(shuffled, "time", "status", covariates)
    np.testing.assert_allclose(a[["coef", "se", "p"]], b[["coef", "se", "p"]], rtol=1e-10)
    np.testing.assert_allclose(a.attrs["loglik"], b.attrs["loglik"], rtol=1e-12)


def test_reference_level_swap_inverts_hazard_ratio():
    data = sim200().dropna(subset=["grp"])
    as_ab = data.assign(grp=pd.Categorical(data["grp"], categories=["A", "B", "C"]))
    as_ba = data.assign(grp=pd.Categorical(data["grp"], categories=["B", "A", "C"]))
    a = fit_cox(as_ab, "time", "status", ["grp"])
    b = fit_cox(as_ba, "time", "status", ["grp"])
    assert a.loc["grp[B]", "reference"] == "A" and b.loc["grp[A]", "reference"] == "B"
    np.testing.assert_allclose(b.loc["grp[A]", "hr"], 1 / a.loc["grp[B]", "hr"], rtol=1e-9)
    np.testing.assert_allclose(b.loc["grp[A]", "hr_lower"], 1 / a.loc["grp[B]", "hr_upper"],
                               rtol=1e-9)
    np.testing.assert_allclose(b.loc["grp[A]", "p"], a.loc["grp[B]", "p"], rtol=1e-9)
    np.testing.assert_allclose(b.attrs["loglik"], a.attrs["loglik"], rtol=1e-12)


def test_bool_numeric_and_two_level_factor_agree():
    data = sim200()
    data["x_flag"] = data["x_bin"] == 1
    data["x_label"] = np.where(data["x_bin"] == 1, "yes", "no")
    numeric = fit_cox(data, "time", "status", ["x_bin"]).iloc[0]
    boolean = fit_cox(data, "time", "status", ["x_flag"]).iloc[0]
    factor = fit_cox(data, "time", "status", ["x_label"])
    assert list(factor.index) == ["x_label[yes]"]
    for other in (boolean, factor.iloc[0]):
        np.testing.assert_allclose(other[["coef", "se", "p"]].to_numpy(float),
                                   numeric[["coef", "se", "p"]].to_numpy(float), rtol=1e-10)


def test_rescaling_a_covariate_rescales_its_coefficient():
    data = sim200()
    a = fit_cox(data, "time", "status", ["age"])
    b = fit_cox(data.assign(age=data["age"] / 10), "time", "status", ["age"])
    np.testing.assert_allclose(b.loc["age", "coef"], 10 * a.loc["age", "coef"], rtol=1e-9)
    np.testing.assert_allclose(b.loc["age", "p"], a.loc["age", "p"], rtol=1e-9)


def test_efron_equals_breslow_without_tied_events():
    data = sim200().dropna()
    data = data.assign(time=data["time"] + np.arange(len(data)) * 1e-3)
    a = fit_cox(data, "time", "status", ["x_num", "grp"], ties="efron")
    b = fit_cox(data, "time", "status", ["x_num", "grp"], ties="breslow")
    np.testing.assert_allclose(a["coef"], b["coef"], rtol=1e-12)


def test_alpha_sets_confidence_level():
    data = sim200()
    result = fit_cox(data, "time", "status", ["x_num"], alpha=0.10).iloc[0]
    np.testing.assert_allclose(result["hr_upper"],
                               np.exp(result["coef"] + 1.6448536269514722 * result["se"]),
                               rtol=1e-12)


def test_timefix_merges_times_one_ulp_apart():
    times = np.sort(np.array([0.1 * 3, 0.3, 0.6, 1.0]))
    assert 0.1 * 3 != 0.3
    np.testing.assert_array_equal(cox._timefix(times), [0.3, 0.3, 0.6, 1.0])


def test_lifelines_agrees_on_efron_fit():
    lifelines = pytest.importorskip("lifelines")
    data = sim200().dropna()[["time", "status", "x_num", "age"]]
    ours = fit_cox(data, "time", "status", ["x_num", "age"])
    theirs = lifelines.CoxPHFitter().fit(data, "time", "status")
    np.testing.assert_allclose(ours["coef"], theirs.params_[["x_num", "age"]], rtol=1e-5)
    np.testing.assert_allclose(ours["se"], theirs.standard_errors_[["x_num", "age"]],
                               rtol=1e-4)


# ------------------------------------------------- warnings and messages ----

def test_missing_rows_are_dropped_and_reported():
    result = fit_cox(sim200(), "time", "status", ["x_num", "grp"])
    assert result.attrs["n"] == 190 and result.attrs["n_dropped_missing"] == 10
    assert any("10 of 200 rows dropped" in w for w in result.attrs["warnings"])


def test_few_events_per_term_warns_with_the_figure():
    ref = reference_frame("sim30")
    result = fit_cox(ref, "time", "status", ["x_num", "x_bin", "grp"])
    assert any("only 5.0 events per covariate term (20 events, 4 terms)" in w
               for w in result.attrs["warnings"])
    big = fit_cox(reference_frame("sim2000"), "time", "status", ["x_num"])
    assert not any("events per covariate" in w for w in big.attrs["warnings"])


def test_constant_covariate_is_dropped_with_warning():
    data = sim200().assign(site="Extremities", dose=5.0)
    result = fit_cox(data, "time", "status", ["x_num", "dose", "site"])
    assert list(result.index) == ["x_num"]
    assert any("'dose' is constant" in w for w in result.attrs["warnings"])
    assert any("'site' has a single level" in w for w in result.attrs["warnings"])
    with pytest.raises(InsufficientDataError, match="no covariate varies"):
        fit_cox(data, "time", "status", ["dose"])


def test_unused_categories_are_dropped():
    data = sim200().dropna(subset=["grp"])
    data["grp"] = pd.Categorical(data["grp"], categories=["Z", "A", "B", "C"])
    result = fit_cox(data, "time", "status", ["grp"])
    assert list(result.index) == ["grp[B]", "grp[C]"]
    assert any("categories without rows" in w for w in result.attrs["warnings"])


def test_collinear_term_is_not_estimable():
    data = sim200().assign(x_twice=lambda d: 2 * d["x_num"])
    result = fit_cox(data, "time", "status", ["x_num", "x_twice"])
    assert result["estimable"].tolist() == [True, False]
    assert "collinear" in result.loc["x_twice", "note"]


def test_binary_level_without_events_is_not_estimable():
    data = pd.DataFrame({"time": [1, 2, 3, 4, 5, 6, 7, 8.0],
                         "event": [1, 1, 0, 1, 0, 1, 0, 0],
                         "histology": ["UPS", "UPS", "Angio", "UPS", "Angio", "UPS",
                                       "UPS", "Angio"]})
    result = fit_cox(data, "time", "event", ["histology"])
    row = result.loc["histology[UPS]"]
    # the reference "Angio" has no events: hazard ratio of UPS vs Angio is infinite
    assert not row["estimable"] and np.isnan(row["hr"])
    assert row["note"] == ("not estimable: no events in reference level Angio "
                           "(infinite hazard ratio)")
    flipped = data.assign(histology=pd.Categorical(data["histology"], ["UPS", "Angio"]))
    row = fit_cox(flipped, "time", "event", ["histology"]).loc["histology[Angio]"]
    assert row["note"] == "not estimable: no events in Angio (infinite hazard ratio)"


def test_perfect_separation_is_not_estimable():
    data = pd.DataFrame({"time": np.arange(1.0, 13.0), "event": 1,
                         "marker": np.arange(12.0, 0.0, -1.0)})
    result = fit_cox(data, "time", "event", ["marker"])
    assert not result.loc["marker", "estimable"]
    assert "highest marker" in result.loc["marker", "note"]


def test_univariate_cox_one_row_per_term_and_failures_become_rows():
    data = sim200()
    data["only_censored"] = np.where(data["status"] == 0, 1.0, np.nan)
    table = univariate_cox(data, "time", "status", ["x_num", "grp", "only_censored"])
    assert table["term"].tolist() == ["x_num", "grp[B]", "grp[C]", "only_censored"]
    assert table["covariate"].tolist() == ["x_num", "grp", "grp", "only_censored"]
    assert table["n"].tolist()[:3] == [194, 196, 196]
    last = table.iloc[-1]
    assert not last["estimable"] and "no events" in last["note"]
    single = {f["id"]: f for f in FITS}["sim200 x_num efron"]
    np.testing.assert_allclose(table.loc[0, "hr"], single["hr"][0], rtol=RTOL)


# ------------------------------------------------------------ validation ----

@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.iloc[:0], "empty"),
    (lambda d: d.drop(columns="x_num"), "not found"),
    (lambda d: d.assign(time=-d["time"]), "negative"),
    (lambda d: d.assign(time=np.inf), "infinite"),
    (lambda d: d.assign(status=d["status"] * 2), "only 0/1"),
    (lambda d: d.assign(status="yes"), "0/1 or boolean"),
    (lambda d: d.assign(status=0), "no events"),
    (lambda d: d.iloc[:1], "at least 2"),
    (lambda d: d.assign(x_num=pd.Timestamp("2024-01-01")), "unsupported dtype"),
])
def test_invalid_input_raises_value_error(mutate, message):
    data = sim200().dropna()
    with pytest.raises(ValueError, match=message):
        fit_cox(mutate(data), "time", "status", ["x_num"])


@pytest.mark.parametrize("kwargs, message", [
    ({"ties": "exact"}, "ties must be one of"),
    ({"alpha": 1.5}, "alpha"),
])
def test_invalid_options_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit_cox(sim200(), "time", "status", ["x_num"], **kwargs)
    with pytest.raises(ValueError, match=message):
        univariate_cox(sim200(), "time", "status", ["x_num"], **kwargs)


def test_no_events_is_a_value_error():
    assert issubclass(InsufficientDataError, ValueError)


# ------------------------------------------------------- speed and rules ----

def test_100k_rows_recover_the_true_coefficient():
    """Registry-size data fit correctly (speed is measured by bench/run.py, not here)."""
    rng = np.random.default_rng(1)
    n = 100_000
    x = rng.normal(size=n)
    event_time = rng.exponential(1 / (0.1 * np.exp(0.5 * x)))
    censor_time = rng.uniform(2, 30, n)
    data = pd.DataFrame({"time": np.round(np.minimum(event_time, censor_time), 4),
                         "status": (event_time <= censor_time).astype(int), "x": x})
    result = fit_cox(data, "time", "status", ["x"])
    assert abs(result.loc["x", "coef"] - 0.5) < 0.03
    assert result.attrs["converged"]


def test_analysis_module_imports_only_numpy_pandas_scipy():
    tree = ast.parse(Path(cox.__file__).read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert roots <= {"numpy", "pandas", "scipy", "__future__", "dataclasses"}


def test_bool_level_without_events_names_column_and_level():
    data = pd.DataFrame({"time": np.arange(1.0, 11.0), "event": [1, 0] * 5,
                         "pazopanib": [False, True] * 5})
    row = fit_cox(data, "time", "event", ["pazopanib"]).loc["pazopanib"]
    assert row["note"] == "not estimable: no events in pazopanib = True (infinite hazard ratio)"
    assert row["level_n"] == 5 and row["level_events"] == 0 and row["reference_events"] == 5
