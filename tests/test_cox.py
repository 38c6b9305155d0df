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
                                             "(hazard ratio 0)")  # R: coef < -15
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


def test_one_patient_level_dropped_by_R_is_described_as_infinite_not_collinear():
    """A one-patient level whose patient has the first death (tests/reference/firth_reference.R, where R's
    coxph gives NA: the column looks singular because its coefficient runs off): monotone likelihood, not
    collinearity."""
    firth = json.loads((Path(__file__).parent / "reference" / "firth_reference.json").read_text())
    case = next(c for c in firth["cases"] if c["name"] == "one_patient_level")
    assert case["ordinary_coef"][0] is None  # NA in R
    columns = firth["datasets"]["one_patient_level"]["columns"]
    data = pd.DataFrame({"time": columns["time"], "status": columns["status"],
                         "site": pd.Series(columns["site"], dtype=object), "x": columns["x"]})
    result = fit_cox(data, "time", "status", ["site", "x"], ties="breslow")
    note = result.loc["site[head]", "note"]
    assert not result.loc["site[head]", "estimable"]
    assert "collinear" not in note
    assert note == "not estimable: infinite HR (monotone likelihood: one patient in head, with an event; NA in R)"
    assert result.loc[["site[leg]", "x"], "estimable"].all()


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
    assert row["note"] == "not estimable: no events in Angio (hazard ratio 0)"


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
    assert roots <= {"numpy", "pandas", "scipy", "__future__", "dataclasses", "analysis"}  # its own package only


def test_bool_level_without_events_names_column_and_level():
    data = pd.DataFrame({"time": np.arange(1.0, 11.0), "event": [1, 0] * 5,
                         "pazopanib": [False, True] * 5})
    row = fit_cox(data, "time", "event", ["pazopanib"]).loc["pazopanib"]
    assert row["note"] == "not estimable: no events in pazopanib = True (hazard ratio 0)"
    assert row["level_n"] == 5 and row["level_events"] == 0 and row["reference_events"] == 5


# ------------------------------------- risk sets over covariate patterns ----
# _PatternRiskSets sums the risk sets over the distinct design rows; it must
# give the fits of _RiskSets (and R) whatever the design.

CATEGORICAL = {"angiosarcoma", "head_primary", "ecog", "prior_lines", "histology",
               "primary_site", "x_bin", "grp", "exposed", "arm"}


@pytest.fixture
def risk_sets_used(monkeypatch):
    """The risk-set classes _newton_raphson was given, in order."""
    used = []
    newton_raphson = cox._newton_raphson

    def spy(risk_sets):
        used.append(type(risk_sets))
        return newton_raphson(risk_sets)

    monkeypatch.setattr(cox, "_newton_raphson", spy)
    return used


def fit_both_ways(monkeypatch, risk_sets_used, *args, **kwargs):
    fits = {}
    for method, expected in (("rows", cox._RiskSets), ("patterns", cox._PatternRiskSets)):
        monkeypatch.setattr(cox, "_RISK_SETS", method)
        fits[method] = fit_cox(*args, **kwargs)
        assert risk_sets_used[-1] is expected
    monkeypatch.setattr(cox, "_RISK_SETS", "auto")
    return fits["rows"], fits["patterns"]


def assert_same_fit(rows, patterns, rtol=1e-9):
    assert list(rows.index) == list(patterns.index)
    for column in ("coef", "se", "z", "hr", "hr_lower", "hr_upper"):
        np.testing.assert_allclose(patterns[column].to_numpy(float), rows[column].to_numpy(float),
                                   rtol=rtol, atol=1e-12)
    counts = ["n", "events", "level_n", "level_events", "reference_n", "reference_events"]
    pd.testing.assert_frame_equal(patterns[counts], rows[counts])
    assert patterns["estimable"].tolist() == rows["estimable"].tolist()
    assert patterns["note"].tolist() == rows["note"].tolist()
    np.testing.assert_allclose(patterns.attrs["loglik"], rows.attrs["loglik"], rtol=rtol)
    for key in ("lr_statistic", "score_statistic", "wald_statistic"):
        np.testing.assert_allclose(patterns.attrs[key], rows.attrs[key], rtol=rtol)
    for key in ("iterations", "converged", "lr_df", "warnings", "n", "events"):
        assert patterns.attrs[key] == rows.attrs[key]


def simulated(n, seed, levels=12, round_to=None):
    """Factor (rare levels included), booleans, small integers and a continuous column."""
    rng = np.random.default_rng(seed)
    weights = np.r_[np.full(levels - 3, 1.0), 0.08, 0.04, 0.02]
    histology = rng.choice([f"H{i:02d}" for i in range(levels)], n, p=weights / weights.sum())
    level_effect = dict(zip(sorted(set(histology)), rng.normal(0, 0.5, levels)))
    frame = pd.DataFrame({
        "histology": histology,
        "pazopanib": rng.random(n) < 0.4,
        "male": rng.random(n) < 0.5,
        "metastatic": rng.random(n) < 0.3,
        "ecog": rng.integers(0, 4, n).astype(float),
        "prior_lines": rng.integers(0, 6, n).astype(float),
        "age": rng.normal(55, 12, n),
    })
    hazard = 0.1 * np.exp(frame["histology"].map(level_effect) - 0.4 * frame["pazopanib"]
                          + 0.3 * frame["ecog"] + 0.1 * frame["prior_lines"] + 0.2 * frame["metastatic"])
    event_time = rng.exponential(1 / hazard)
    censor_time = rng.uniform(1, 30, n)
    time = np.minimum(event_time, censor_time)
    frame["time"] = np.ceil(time / round_to) * round_to if round_to else time
    frame["status"] = (event_time <= censor_time).astype(int)
    return frame


def without_events_in(frame, level):
    frame = frame.copy()
    frame.loc[frame["histology"] == level, "status"] = 0
    return frame


def ordered_separation():
    """Every event of level C before those of B, and of B before A: monotone likelihood."""
    time = np.arange(1.0, 31.0)
    time[[5, 6]] = 6.0  # a tied pair
    status = np.ones(30, int)
    status[[9, 19, 29]] = 0
    return pd.DataFrame({"time": time, "status": status,
                         "grp": ["C"] * 10 + ["B"] * 10 + ["A"] * 10,
                         "flag": [True] * 10 + [False] * 20})


# a small data set on which Newton-Raphson halves its step (the second
# iteration lowers the log-likelihood); R coxph gives the values in
# test_step_halving_matches_R
HALVING = pd.DataFrame({
    "time": [0.2868142782122003, 0.1, 0.0, 0.0, 0.0, 0.0, 1.228710912615282,
             2.6706710723494016, 0.08835122626532987, 2.8, 1.9250867036660406, 0.0, 1.3, 2.0,
             0.2, 0.2, 0.0, 0.8790533611421211, 0.7, 0.0, 0.0, 0.1, 0.3693481168112074, 0.4,
             0.2, 2.527410648263094, 2.9599215965916343, 0.48656182234758727, 0.6, 0.0, 0.8,
             2.5292859521575277, 0.0, 0.9],
    "status": [0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 0,
               0, 0, 1, 1, 1, 0, 1, 1],
    "x": [1, 0, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0,
          0, 0, 1, 1, 1, 1, 1],
    "g": ["0", "0", "1", "1", "1", "1", "0", "2", "0", "2", "0", "1", "0", "0", "0", "0",
          "0", "0", "0", "1", "1", "2", "0", "0", "0", "2", "0", "0", "2", "1", "0", "2",
          "1", "0"],
})

PATTERN_DESIGNS = {
    "factor with 12 levels, 3 rare": (lambda: simulated(1500, 1), ["histology"]),
    "three booleans": (lambda: simulated(1500, 2), ["pazopanib", "male", "metastatic"]),
    "small integers": (lambda: simulated(1500, 3), ["ecog", "prior_lines"]),
    "factor, booleans and integers": (lambda: simulated(1500, 4, levels=6),
                                      ["histology", "pazopanib", "ecog"]),
    "level without events": (lambda: without_events_in(simulated(800, 5, levels=5), "H03"),
                             ["histology", "pazopanib"]),
    "reference level without events": (lambda: without_events_in(simulated(800, 6, levels=5), "H00"),
                                       ["histology"]),
    "perfect separation": (ordered_separation, ["grp"]),
    "perfect separation, boolean": (ordered_separation, ["flag"]),
    "heavy ties": (lambda: simulated(2000, 7, levels=8, round_to=1.0), ["histology", "male"]),
    "heavy ties, integers": (lambda: simulated(2000, 8, round_to=3.0), ["ecog", "prior_lines"]),
    "step halving": (lambda: HALVING, ["x", "g"]),
}


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("name", list(PATTERN_DESIGNS))
def test_pattern_risk_sets_give_the_same_fit(monkeypatch, risk_sets_used, name, ties):
    make, covariates = PATTERN_DESIGNS[name]
    rows, patterns = fit_both_ways(monkeypatch, risk_sets_used, make(), "time", "status",
                                   covariates, ties=ties)
    assert_same_fit(rows, patterns)


def test_pattern_designs_cover_the_awkward_cases(monkeypatch, risk_sets_used):
    def fit(name, ties="efron"):
        make, covariates = PATTERN_DESIGNS[name]
        return fit_cox(make(), "time", "status", covariates, ties=ties)

    assert "no events in H03" in fit("level without events").loc["histology[H03]", "note"]
    assert "no events in reference level H00" in fit("reference level without events")["note"].iloc[0]
    separated = fit("perfect separation")
    assert not separated["estimable"].any()
    assert "perfect separation" in separated.loc["grp[C]", "note"]
    ties = fit("heavy ties")
    assert ties.attrs["events"] > 3 * 30  # at most 30 distinct times
    assert all(used is cox._PatternRiskSets for used in risk_sets_used)


@pytest.mark.parametrize("sign, size", [(1, "infinite hazard ratio"), (-1, "hazard ratio 0")])
def test_a_monotone_note_says_which_way_the_hazard_ratio_runs(sign, size):
    """Every death at its risk set's highest value: the coefficient runs to +inf; at its lowest: to -inf (HR 0)."""
    time = np.arange(1.0, 13.0)
    data = pd.DataFrame({"time": time, "event": [1, 0] * 6, "dose": sign * (20.0 - time)})  # first to die: extreme
    dose = fit_cox(data, "time", "event", ["dose"]).loc["dose"]
    side = "highest" if sign == 1 else "lowest"
    assert not dose["estimable"]
    assert dose["note"] == f"not estimable: every event has the {side} dose in its risk set (perfect separation, {size})"
    flag = fit_cox(data.assign(flag=(data["event"] == 1) == (sign == 1)), "time", "event", ["flag"]).loc["flag"]
    level = "reference level flag = False" if sign == 1 else "flag = True"  # events in True only, or in False only
    assert flag["note"] == f"not estimable: no events in {level} ({size})"


def test_a_level_without_events_against_a_reference_without_events_has_no_direction():
    """R (survival 3.5): coef gB ~ -6e-9, gC 19.9 with a variance of 3e8: B is flat against A, C runs off."""
    data = pd.DataFrame({"time": np.r_[np.arange(1, 6) + 0.5, np.arange(1, 6) + 0.25, np.arange(1, 11)],
                         "status": [0] * 10 + [1, 1, 0, 1, 1] * 2, "g": ["A"] * 5 + ["B"] * 5 + ["C"] * 10})
    notes = fit_cox(data, "time", "status", ["g"])["note"]
    assert notes["g[B]"] == ("not estimable: no events in B nor in reference level A "
                             "(hazard ratio not determined)")
    assert notes["g[C]"] == "not estimable: no events in reference level A (infinite hazard ratio)"
    assert all(cox.is_monotone_note(note) for note in notes)
    assert not cox.is_monotone_note("not estimable: collinear with other terms (NA in R)")


def test_a_dropped_level_keeps_the_direction_its_reference_gives():
    """A level R drops (NA) says HR 0 for no events, unless its reference has none either."""
    terms = [cox._Term("g[B]", "g", "factor", "B", "A"), cox._Term("g[C]", "g", "factor", "C", "A")]
    values = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # A, B (one patient), C
    rows = cox._Rows(values, np.array([5.0, 1.0, 10.0]), np.array([2.0, 0.0, 8.0]))
    indicator = np.array([True, True])
    dropped = cox._dropped_monotone_note(terms[0], 0, rows, indicator, {})
    assert dropped == "not estimable: HR 0 (monotone likelihood: one patient in B, without an event; NA in R)"
    rows_without_reference_events = cox._Rows(values, rows.rows, np.array([0.0, 0.0, 8.0]))
    structural = cox._monotone_notes(terms, rows_without_reference_events, indicator,
                                     (np.zeros(2, bool), np.zeros(2, bool)))
    dropped = cox._dropped_monotone_note(terms[0], 0, rows_without_reference_events, indicator, structural)
    assert dropped.startswith("not estimable: HR not determined (monotone likelihood: one patient in B")
    dropped = cox._dropped_monotone_note(terms[1], 1, rows_without_reference_events, indicator, structural)
    assert dropped.startswith("not estimable: infinite HR (monotone likelihood: no events in reference level A")
    assert cox._dropped_monotone_note(terms[1], 1, rows, indicator, {}) == ""


def test_pattern_path_halves_steps_like_the_rows(monkeypatch, risk_sets_used):
    logliks = []
    for cls in (cox._RiskSets, cox._PatternRiskSets):
        derivatives = cls.derivatives

        def recorded(self, beta, derivatives=derivatives):
            result = derivatives(self, beta)
            logliks.append((type(self), result[0]))
            return result

        monkeypatch.setattr(cls, "derivatives", recorded)
    fit_both_ways(monkeypatch, risk_sets_used, HALVING, "time", "status", ["x", "g"])
    for cls in (cox._RiskSets, cox._PatternRiskSets):
        sequence = [loglik for used, loglik in logliks if used is cls]
        assert len(sequence) == 7  # null model + 6 iterations
        assert sequence[2] < sequence[1] - 0.5  # the second step lowers the log-likelihood: halved


#: the risk-set implementations a test can force: rows, or patterns with the cheaper outer products, or
#: with the patterns' shares (G x G) or their projections on the covariates (p x p) forced
RISK_SET_METHODS = {"rows": ("rows", None), "patterns": ("patterns", None),
                    "pattern shares": ("patterns", False), "pattern projections": ("patterns", True)}


def force_risk_sets(monkeypatch, method: str) -> None:
    risk_sets, project = RISK_SET_METHODS[method]
    monkeypatch.setattr(cox, "_RISK_SETS", risk_sets)
    monkeypatch.setattr(cox, "_PROJECT_SHARES", project)


@pytest.mark.parametrize("method", list(RISK_SET_METHODS))
def test_step_halving_matches_R(monkeypatch, method):
    # R 4 / survival 3.5.3: coxph(Surv(time, status) ~ x + g, ties = "efron"), g a factor
    force_risk_sets(monkeypatch, method)
    result = fit_cox(HALVING, "time", "status", ["x", "g"])
    np.testing.assert_allclose(result["coef"], [0.021945895459733196, 4.0502449409348689,
                                                -0.73604934614287443], rtol=RTOL)
    np.testing.assert_allclose(result["se"], [0.47517443292663092, 1.1009417394878556,
                                              0.74005786737409207], rtol=RTOL)
    np.testing.assert_allclose(result.attrs["loglik"], [-66.335763847383134, -51.224486855344388],
                               rtol=RTOL)
    np.testing.assert_allclose(result.attrs["score_statistic"], 42.999376276802522, rtol=RTOL)
    assert result.attrs["iterations"] == 6
    breslow = fit_cox(HALVING, "time", "status", ["x", "g"], ties="breslow")
    np.testing.assert_allclose(breslow["coef"], [0.022662810977541144, 3.0816503021543475,
                                                 -0.72715311119416104], rtol=RTOL)
    np.testing.assert_allclose(breslow.attrs["loglik"], [-67.996596334756646, -58.348037935545605],
                               rtol=RTOL)
    assert breslow.attrs["iterations"] == 4


@pytest.mark.parametrize("method", list(RISK_SET_METHODS))
@pytest.mark.parametrize("ref", FITS, ids=IDS)
def test_each_risk_set_method_against_R(monkeypatch, ref, method):
    """Each implementation, forced, on every reference fit (the patterns even for continuous covariates)."""
    force_risk_sets(monkeypatch, method)
    result = fit_reference(ref)
    for column in ("coef", "se", "p"):
        assert_terms_against_r(ref, result, column, column)
    np.testing.assert_allclose(result.attrs["loglik"], ref["loglik"], rtol=RTOL)
    np.testing.assert_allclose(result.attrs["score_statistic"], ref["score_statistic"], rtol=RTOL)
    assert result.attrs["iterations"] == ref["iter"]
    assert result.index[~result["estimable"]].tolist() == ref["not_estimable"]


def test_reference_fits_of_categorical_designs_use_pattern_risk_sets(risk_sets_used):
    """The R comparisons above (fixture `case`) of factors, booleans and small integers run
    through _PatternRiskSets; those with a continuous covariate and at least 200 rows do not."""
    for ref in FITS:
        fit_reference(ref)
        if set(ref["covariates"]) <= CATEGORICAL:
            assert risk_sets_used[-1] is cox._PatternRiskSets, ref["id"]
        elif ref["n"] >= 190:
            assert risk_sets_used[-1] is cox._RiskSets, ref["id"]


def test_pattern_risk_sets_chosen_for_factors_not_continuous(risk_sets_used):
    data = simulated(20_000, 9)
    expected = {("histology",): cox._PatternRiskSets, ("pazopanib",): cox._PatternRiskSets,
                ("prior_lines",): cox._PatternRiskSets,
                ("histology", "pazopanib"): cox._PatternRiskSets,
                ("histology", "pazopanib", "ecog"): cox._RiskSets,  # 12 x 2 x 4 > 64 patterns
                ("age",): cox._RiskSets, ("histology", "age"): cox._RiskSets}
    for covariates, cls in expected.items():
        fit_cox(data, "time", "status", list(covariates))
        assert risk_sets_used[-1] is cls, covariates
    # the timing model: patterns for a factor, rows for one integer with many values
    assert cox._patterns_pay(11, 10, 100_000, 88_000)
    assert not cox._patterns_pay(40, 1, 100_000, 68_000)


def test_design_patterns_number_the_distinct_rows():
    design = cox._build_design(simulated(3000, 10), "time", "status",
                               ["histology", "pazopanib", "ecog", "prior_lines"])
    indicator = np.array([t.kind != "numeric" for t in design.terms])
    pattern, count = cox._design_patterns(design, indicator, 10_000)
    distinct, expected = np.unique(design.x, axis=0, return_inverse=True)
    assert count == len(distinct)
    # the same partition of the rows
    pairs = pd.DataFrame({"ours": pattern, "unique": expected.ravel()}).drop_duplicates()
    assert len(pairs) == count
    assert cox._design_patterns(design, indicator, count - 1) is None
    age = cox._build_design(simulated(3000, 10), "time", "status", ["histology", "age"])
    assert cox._design_patterns(age, np.array([True] * 11 + [False]), 64) is None


def pattern_and_row_risk_sets(frame, covariates, ties):
    design = cox._build_design(frame, "time", "status", covariates)
    timeline = cox._sorted_timeline(design, None, None)
    indicator = np.array([t.kind != "numeric" for t in design.terms])
    pattern, count = cox._design_patterns(design, indicator, len(frame))
    representative = np.empty(count, dtype=np.intp)
    representative[pattern] = np.arange(len(pattern))
    x = design.x - np.where(indicator, 0.0, design.x.mean(axis=0))  # as _fit_cox
    patterns = cox._PatternRiskSets(timeline, pattern[timeline.order], x[representative], ties)
    rows = cox._RiskSets(timeline.time, timeline.event, x[timeline.order], ties)
    return patterns, rows


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_pattern_derivatives_equal_row_derivatives_up_to_huge_risk_scores(monkeypatch, ties):
    share_grams = []
    share_gram = cox._share_gram
    monkeypatch.setattr(cox, "_share_gram", lambda *a: share_grams.append(1) or share_gram(*a))
    rng = np.random.default_rng(12)
    cases = [(simulated(600, 13, levels=6, round_to=2.0), ["histology", "pazopanib"]),
             (simulated(600, 14), ["ecog", "prior_lines", "male"]),
             (simulated(300, 15, levels=4, round_to=2.0), ["histology"]),
             (ordered_separation(), ["grp"])]
    for frame, covariates in cases:
        patterns, rows = pattern_and_row_risk_sets(frame, covariates, ties)
        _, score_0, information_0 = rows.derivatives(np.zeros(rows.p))
        for size in (0.0, 0.5, 5.0, 400.0):  # largest linear predictor: risk scores up to e^400
            beta = rng.normal(size=patterns.p)
            beta *= size / np.abs(patterns.x @ beta).max()
            ours, theirs = patterns.derivatives(beta), rows.derivatives(beta)
            assert np.isfinite(theirs[0]) and np.all(np.isfinite(theirs[2]))
            np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10)
            # absolute tolerances from the sizes at beta = 0 (at huge beta
            # the information is rounding noise in both)
            np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-9,
                                       atol=1e-10 * np.abs(score_0).max())
            np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-9,
                                       atol=1e-10 * np.abs(information_0).max())
            assert np.array_equal(ours[2], ours[2].T)
        # overflow of exp (no shift of the linear predictor, as in coxfit6):
        # a non-finite log-likelihood both ways, so that the step is halved
        eta = patterns.x @ beta
        beta *= 800.0 / (eta.max() if eta.max() > -eta.min() else eta.min())
        assert not np.isfinite(patterns.derivatives(beta)[0])
        assert not np.isfinite(rows.derivatives(beta)[0])
    assert share_grams  # huge risk scores: the shares are formed first


def test_pattern_extremes_match_risk_set_extremes():
    rng = np.random.default_rng(15)
    for trial in range(40):
        n = int(rng.integers(5, 60))
        time = np.sort(rng.integers(0, 15, n)).astype(float)
        event = rng.random(n) < 0.6
        event[rng.integers(n)] = True
        deaths = np.flatnonzero(event)
        risk_start = np.searchsorted(time, time[deaths], side="left")
        values = rng.integers(0, 3, (int(rng.integers(2, 6)), 3)).astype(float)
        pattern = rng.integers(0, len(values), n)
        if trial % 4 == 0:  # later deaths have lower values: extremes
            pattern = np.sort(pattern)[::-1]
        values = values[np.unique(pattern)]
        pattern = np.unique(pattern, return_inverse=True)[1]
        x = values[pattern]
        timeline = cox._Timeline(np.arange(n), time, event)
        risk_sets = cox._PatternRiskSets(timeline, pattern, values - x.mean(axis=0), "efron")
        expected = cox._at_risk_set_extremes(x, deaths, risk_start)
        result = cox._pattern_extremes(values, risk_sets.first_death, risk_sets.last_at_risk)
        assert np.array_equal(result[0], expected[0]) and np.array_equal(result[1], expected[1])


def test_stable_argsort_equals_numpy_stable_sort():
    rng = np.random.default_rng(16)
    samples = [rng.normal(size=1000), np.round(rng.exponential(5, 5000), 1),
               np.r_[rng.normal(size=500), [np.nan] * 7, [0.0, -0.0, 0.0]],
               rng.integers(0, 3, 400).astype(float), np.array([np.nan]), np.array([2.0, 1.0]),
               np.r_[np.arange(2000.0), [5.0, 5.0, 7.0]][::-1]]
    for values in samples:
        rng.shuffle(values)
        np.testing.assert_array_equal(cox._stable_argsort(values), np.argsort(values, kind="stable"))


def test_univariate_cox_equals_separate_fits_with_different_missing_rows():
    data = sim200().assign(x_int=lambda d: np.round(d["age"] / 20))
    data.loc[data.index[:7], "x_bin"] = np.nan  # another set of complete rows
    covariates = ["x_num", "grp", "x_bin", "age", "x_int"]
    table = univariate_cox(data, "time", "status", covariates)
    for covariate in covariates:
        single = fit_cox(data, "time", "status", [covariate])
        rows = table[table["covariate"] == covariate].set_index("term")
        np.testing.assert_allclose(rows["coef"], single["coef"], rtol=1e-12)
        np.testing.assert_allclose(rows["se"], single["se"], rtol=1e-12)
        assert rows["n"].tolist() == single["n"].tolist()
        np.testing.assert_allclose(rows["lr_p"].iloc[0], single.attrs["lr_p"], rtol=1e-12)
