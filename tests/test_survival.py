"""Tests for analysis.survival against R survival 3.x.

Reference values come from tests/reference/survival_reference.json, written by
``Rscript tests/reference/survival_reference.R`` (data sets included).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.survival import (
    kaplan_meier,
    kaplan_meier_by_group,
    logrank_table,
    logrank_test,
)

RTOL = 1e-6
REFERENCE_PATH = Path(__file__).parent / "reference" / "survival_reference.json"


def _decode(value):
    """JSON from R: null -> nan, "Inf" -> inf, recursively."""
    if value is None:
        return math.nan
    if isinstance(value, str) and value in ("Inf", "-Inf"):
        return math.inf if value == "Inf" else -math.inf
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if isinstance(value, dict):
        return {key: _decode(item) for key, item in value.items()}
    return value


REFERENCE = json.loads(REFERENCE_PATH.read_text())
DATASETS = {dataset["name"]: dataset for dataset in REFERENCE["datasets"]}


def _array(values) -> np.ndarray:
    return np.asarray(_decode(values), dtype=float)


def assert_close(actual, expected, what: str = "") -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), _array(expected), rtol=RTOL, atol=0, equal_nan=True, err_msg=what
    )


def _alpha(fit_entry) -> float:
    return 1 - fit_entry["conf_int"]


# one case per (data set, conf.type, conf.int)
OVERALL_CASES = [
    pytest.param(dataset, entry, id=f"{dataset['name']}-{entry['conf_type']}-{entry['conf_int']}")
    for dataset in REFERENCE["datasets"]
    for entry in dataset["fits"]
]
# one case per (data set, conf.type, conf.int, group)
GROUP_CASES = [
    pytest.param(dataset, entry, level, id=f"{dataset['name']}-{entry['conf_type']}-{entry['conf_int']}-{level}")
    for dataset in REFERENCE["datasets"]
    if dataset.get("group") is not None
    for entry in dataset["fits"]
    for level in entry["by_group"]
]
GROUPED_DATASETS = [dataset for dataset in REFERENCE["datasets"] if dataset.get("group") is not None]
LOGRANK_CASES = [
    pytest.param(dataset, id=dataset["name"])
    for dataset in GROUPED_DATASETS
    if "error" not in dataset["logrank"]
]


def _fit_overall(dataset, entry):
    return kaplan_meier(dataset["time"], dataset["status"], conf_type=entry["conf_type"], alpha=_alpha(entry))


def _fit_group(dataset, entry, level):
    grouped = kaplan_meier_by_group(
        dataset["time"],
        dataset["status"],
        dataset["group"],
        conf_type=entry["conf_type"],
        alpha=_alpha(entry),
        landmarks=entry["by_group"][level]["landmarks"]["requested"],
    )
    return grouped, grouped.fits[level]


def _check_table(km, reference) -> None:
    table = km.table
    expected = reference["table"]
    assert_close(table["time"], expected["summary_time"], "summary(censored=TRUE) rows")
    for ours, theirs in [
        ("time", "time"),
        ("n_risk", "n_risk"),
        ("n_event", "n_event"),
        ("n_censor", "n_censor"),
        ("survival", "surv"),
        ("std_err", "std_err"),
        ("std_err_log", "std_err_log"),
        ("lower", "lower"),
        ("upper", "upper"),
    ]:
        assert_close(table[ours], expected[theirs], ours)


def _check_landmarks(km, reference) -> None:
    expected = reference["landmarks"]
    frame = km.survival_at_times(expected["requested"])
    for ours, theirs in [
        ("time", "time"),
        ("n_risk", "n_risk"),
        ("n_event", "n_event"),
        ("n_censor", "n_censor"),
        ("survival", "surv"),
        ("std_err", "std_err"),
        ("lower", "lower"),
        ("upper", "upper"),
    ]:
        assert_close(frame[ours], expected[theirs], ours)
    # scalar form, one time at a time
    for t, s, lo, hi in zip(expected["time"], expected["surv"], expected["lower"], expected["upper"]):
        assert_close(km.survival_at(t), [s, lo, hi], f"survival_at({t})")


# --------------------------------------------------------------------------- #
# Kaplan-Meier against R
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("dataset, entry", OVERALL_CASES)
def test_km_table_against_R(dataset, entry):
    _check_table(_fit_overall(dataset, entry), entry["overall"])


@pytest.mark.parametrize("dataset, entry, level", GROUP_CASES)
def test_km_table_by_group_against_R(dataset, entry, level):
    _, km = _fit_group(dataset, entry, level)
    _check_table(km, entry["by_group"][level])


@pytest.mark.parametrize("dataset, entry", OVERALL_CASES)
def test_n_and_events_against_R(dataset, entry):
    km = _fit_overall(dataset, entry)
    assert km.n == entry["overall"]["n"]
    assert km.n_events == entry["overall"]["print"]["events"]


@pytest.mark.parametrize("dataset, entry", OVERALL_CASES)
def test_median_against_R(dataset, entry):
    km = _fit_overall(dataset, entry)
    assert_close(km.median, entry["overall"]["print"]["median"], "median")


@pytest.mark.parametrize("dataset, entry", OVERALL_CASES)
def test_median_ci_against_R(dataset, entry):
    km = _fit_overall(dataset, entry)
    expected = entry["overall"]["print"]
    assert_close(km.median_ci, [expected["lower"], expected["upper"]], "median CI")


@pytest.mark.parametrize("dataset, entry, level", GROUP_CASES)
def test_median_by_group_against_R(dataset, entry, level):
    grouped, km = _fit_group(dataset, entry, level)
    expected = entry["by_group"][level]
    row = grouped.summary.set_index("group").loc[level]
    for reference in (expected["print"], expected["print_strata"]):
        assert_close(km.median, reference["median"], "median")
        assert_close(km.median_ci, [reference["lower"], reference["upper"]], "median CI")
        assert_close(
            row[["median", "median_lower", "median_upper"]].to_numpy(dtype=float),
            [reference["median"], reference["lower"], reference["upper"]],
            "summary row",
        )
    assert row["n"] == expected["n"]
    assert row["events"] == expected["print"]["events"]


@pytest.mark.parametrize("dataset, entry", OVERALL_CASES)
def test_quantile_against_R(dataset, entry):
    km = _fit_overall(dataset, entry)
    expected = entry["overall"]["quantile"]
    frame = km.quantile(expected["probs"])
    for column in ("quantile", "lower", "upper"):
        assert_close(frame[column], expected[column], column)


@pytest.mark.parametrize("dataset, entry, level", GROUP_CASES)
def test_quantile_by_group_against_R(dataset, entry, level):
    _, km = _fit_group(dataset, entry, level)
    expected = entry["by_group"][level]["quantile"]
    frame = km.quantile(expected["probs"])
    for column in ("quantile", "lower", "upper"):
        assert_close(frame[column], expected[column], column)


@pytest.mark.parametrize("dataset, entry", OVERALL_CASES)
def test_landmark_against_R(dataset, entry):
    _check_landmarks(_fit_overall(dataset, entry), entry["overall"])


@pytest.mark.parametrize("dataset, entry, level", GROUP_CASES)
def test_landmark_by_group_against_R(dataset, entry, level):
    grouped, km = _fit_group(dataset, entry, level)
    reference = entry["by_group"][level]
    _check_landmarks(km, reference)
    expected = reference["landmarks"]
    long = grouped.landmarks[grouped.landmarks["group"] == level]
    assert_close(long["survival"], expected["surv"], "long landmark table")
    row = grouped.summary.set_index("group").loc[level]
    for t, s, lo, hi in zip(expected["time"], expected["surv"], expected["lower"], expected["upper"]):
        assert_close(
            [row[f"survival_{t:g}"], row[f"lower_{t:g}"], row[f"upper_{t:g}"]], [s, lo, hi], f"landmark {t}"
        )


@pytest.mark.parametrize("dataset, entry", OVERALL_CASES)
def test_number_at_risk_against_R(dataset, entry):
    km = _fit_overall(dataset, entry)
    expected = entry["overall"]["number_at_risk"]
    requested = _array(expected["requested"])
    ours = km.number_at_risk(requested)
    # R sorts the times; ours keeps the order given
    assert_close(ours[np.argsort(requested, kind="stable")], expected["n_risk"], "n at risk")
    assert ours.dtype.kind == "i"


@pytest.mark.parametrize("dataset, entry, level", GROUP_CASES)
def test_number_at_risk_by_group_against_R(dataset, entry, level):
    _, km = _fit_group(dataset, entry, level)
    expected = entry["by_group"][level]["number_at_risk"]
    requested = _array(expected["requested"])
    assert_close(km.number_at_risk(np.sort(requested)), expected["n_risk"], "n at risk")


# --------------------------------------------------------------------------- #
# Log-rank against R
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("dataset", LOGRANK_CASES)
def test_logrank_against_R(dataset):
    expected = dataset["logrank"]
    statistic, p_value = logrank_test(dataset["time"], dataset["status"], dataset["group"])
    assert_close(statistic, expected["chisq"], "chisq")
    assert_close(p_value, expected["p"], "p")


@pytest.mark.parametrize("dataset", LOGRANK_CASES)
def test_logrank_table_against_R(dataset):
    expected = dataset["logrank"]
    result = logrank_table(dataset["time"], dataset["status"], dataset["group"])
    assert result.df == expected["df"]
    assert_close(result.statistic, expected["chisq"], "chisq")
    assert_close(result.p_value, expected["p"], "p")
    table = result.table.set_index("group").loc[expected["levels"]]
    assert_close(table["n"], expected["n"], "n")
    assert_close(table["observed"], expected["observed"], "observed")
    assert_close(table["expected"], expected["expected"], "expected")
    order = [list(result.table["group"]).index(level) for level in expected["levels"]]
    variance = result.variance[np.ix_(order, order)]
    # off-diagonal covariances can be 0 up to rounding: compare on the matrix scale
    reference_variance = _array(expected["var"])
    np.testing.assert_allclose(variance, reference_variance, rtol=RTOL, atol=RTOL * np.abs(reference_variance).max())


def test_logrank_singular_variance_uses_generalised_inverse():
    dataset = DATASETS["singular_variance"]
    assert "singular" in dataset["logrank"]["error"]  # R stops here
    result = logrank_table(dataset["time"], dataset["status"], dataset["group"])
    # two patients dying together: zero variance, O - E = 0 in each group
    assert result.generalised_inverse
    assert result.statistic == 0.0
    assert result.df == 0
    assert math.isnan(result.p_value)
    np.testing.assert_allclose(result.table["expected"], [1.0, 1.0])


def test_logrank_single_group_raises():
    with pytest.raises(ValueError, match="two groups"):
        logrank_test([1, 2, 3], [1, 0, 1], ["a", "a", "a"])


# --------------------------------------------------------------------------- #
# Invariance
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("dataset", GROUPED_DATASETS, ids=lambda d: d["name"])
def test_logrank_invariant_to_row_order(dataset):
    rng = np.random.default_rng(7)
    permutation = rng.permutation(len(dataset["time"]))
    time_, status, group = (np.asarray(dataset[key])[permutation] for key in ("time", "status", "group"))
    original = logrank_table(dataset["time"], dataset["status"], dataset["group"])
    shuffled = logrank_table(time_, status, group)
    assert_close(shuffled.statistic, original.statistic)
    assert_close(shuffled.p_value, original.p_value)
    assert_close(shuffled.table["expected"], original.table["expected"])


@pytest.mark.parametrize("dataset", GROUPED_DATASETS, ids=lambda d: d["name"])
def test_logrank_invariant_to_group_relabelling(dataset):
    levels = sorted(set(dataset["group"]))
    original = logrank_test(dataset["time"], dataset["status"], dataset["group"])
    # reversed order of levels, integers, and booleans when there are two groups
    relabellings = [
        {level: f"z{len(levels) - i}" for i, level in enumerate(levels)},
        {level: 10 * (len(levels) - i) for i, level in enumerate(levels)},
    ]
    if len(levels) == 2:
        relabellings.append({levels[0]: True, levels[1]: False})
    for mapping in relabellings:
        relabelled = [mapping[label] for label in dataset["group"]]
        statistic, p_value = logrank_test(dataset["time"], dataset["status"], relabelled)
        assert_close([statistic, p_value], list(original), f"relabelling {mapping}")


@pytest.mark.parametrize("dataset", GROUPED_DATASETS[:4], ids=lambda d: d["name"])
def test_km_by_group_invariant_to_row_order_and_labels(dataset):
    entry = dataset["fits"][0]
    rng = np.random.default_rng(11)
    permutation = rng.permutation(len(dataset["time"]))
    mapping = {level: i for i, level in enumerate(sorted(set(dataset["group"]), reverse=True))}
    grouped = kaplan_meier_by_group(
        np.asarray(dataset["time"])[permutation],
        np.asarray(dataset["status"])[permutation],
        [mapping[dataset["group"][i]] for i in permutation],
        conf_type=entry["conf_type"],
    )
    for level, code in mapping.items():
        reference = entry["by_group"][level]
        _check_table(grouped.fits[code], reference)
        assert_close(grouped.fits[code].median, reference["print"]["median"])


def test_km_invariant_to_row_order_and_event_type():
    dataset = DATASETS["sim_n200"]
    entry = dataset["fits"][0]
    permutation = np.random.default_rng(3).permutation(len(dataset["time"]))
    km = kaplan_meier(
        np.asarray(dataset["time"])[permutation], np.asarray(dataset["status"])[permutation].astype(bool)
    )
    _check_table(km, entry["overall"])


# --------------------------------------------------------------------------- #
# Input validation and edge cases
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "durations, events, message",
    [
        ([], [], "empty"),
        ([1.0, -2.0], [1, 0], "non-negative"),
        ([1.0, float("inf")], [1, 0], "infinite"),
        ([1.0, 2.0], [1, 2], "0/1"),
        ([1.0, 2.0], ["yes", "no"], "0/1"),
        ([1.0, 2.0, 3.0], [1, 0], "length"),
        (["a", "b"], [1, 0], "numeric"),
        ([[1.0, 2.0]], [[1, 0]], "one-dimensional"),
    ],
)
def test_invalid_input_raises(durations, events, message):
    with pytest.raises(ValueError, match=message):
        kaplan_meier(durations, events)
    with pytest.raises(ValueError, match=message):
        logrank_test(durations, events, ["a", "b"][: len(np.ravel(durations))] or ["a"])


@pytest.mark.parametrize(
    "durations, events",
    [
        ([1.0, float("nan"), 2.0], [1, 0, 1]),
        ([1.0, 2.0, 3.0], [1, float("nan"), 0]),
        (pd.array([1.0, None, 2.0], dtype="Float64"), [1, 0, 0]),
        ([1.0, 2.0, 3.0], pd.array([1, None, 1], dtype="Int64")),
    ],
)
def test_missing_time_or_event_is_dropped_as_r(durations, events):
    # R's default na.action = na.omit (these raised ValueError before): the row is left out and counted;
    # tests/test_pairwise.py checks the numbers against R
    km = kaplan_meier(durations, events)
    assert (km.n, km.n_dropped) == (2, 1)
    assert logrank_table(durations, events, ["a", "b", "b"]).n_dropped == 1


def test_invalid_groups_and_options_raise():
    with pytest.raises(ValueError, match="length"):
        logrank_test([1, 2, 3], [1, 0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="length"):
        kaplan_meier_by_group([1, 2, 3], [1, 0], ["a", "b", "b"])
    # a missing group is dropped (R na.omit), no longer an error: one group is left, so no log-rank test
    with pytest.raises(ValueError, match="two groups"):
        logrank_test([1, 2, 3], [1, 0, 1], ["a", None, "a"])
    grouped = kaplan_meier_by_group([1, 2, 3], [1, 0, 1], ["a", np.nan, "b"])
    assert grouped.n_dropped == 1 and list(grouped.fits) == ["a", "b"]
    with pytest.raises(ValueError, match="conf_type"):
        kaplan_meier([1, 2], [1, 1], conf_type="logit-probit")
    with pytest.raises(ValueError, match="alpha"):
        kaplan_meier([1, 2], [1, 1], alpha=1.5)
    km = kaplan_meier([1, 2], [1, 1])
    with pytest.raises(ValueError, match="survival_at_times"):
        km.survival_at([1, 2])
    with pytest.raises(ValueError, match="NaN"):
        km.number_at_risk([1, np.nan])


def test_events_accept_bool_and_pandas():
    dataset = DATASETS["censor_at_event_times"]
    reference = dataset["fits"][0]["overall"]
    km = kaplan_meier(pd.Series(dataset["time"]), pd.Series(dataset["status"]).astype(bool))
    _check_table(km, reference)


def test_all_censored_and_single_patient_do_not_crash():
    for name in ("all_censored", "single_patient_censored"):
        dataset = DATASETS[name]
        for entry in dataset["fits"]:
            km = _fit_overall(dataset, entry)
            assert_close(km.table["survival"], entry["overall"]["table"]["surv"])
            assert math.isnan(km.median) and all(math.isnan(x) for x in km.median_ci)
            assert math.isnan(_decode(entry["overall"]["print"]["median"]))
    all_censored = DATASETS["all_censored"]
    assert math.isnan(_decode(all_censored["logrank"]["p"]))  # R: no events, df = -1
    statistic, p_value = logrank_test(all_censored["time"], all_censored["status"], all_censored["group"])
    assert_close([statistic, p_value], [all_censored["logrank"]["chisq"], all_censored["logrank"]["p"]])


def test_median_rules_differ_when_curve_ends_at_half():
    # print.survfit and quantile.survfit disagree in R; we expose both
    overall = DATASETS["ends_at_half"]["fits"][0]["overall"]
    assert overall["print"]["median"] != overall["quantile"]["quantile"][1]
    km = kaplan_meier(DATASETS["ends_at_half"]["time"], DATASETS["ends_at_half"]["status"])
    assert_close(km.median, overall["print"]["median"])
    assert_close(km.quantile(0.5)["quantile"], [overall["quantile"]["quantile"][1]])


def test_timefix_merges_near_ties_like_R():
    dataset = DATASETS["near_ties"]
    reference = dataset["fits"][0]["overall"]["table"]
    merged = kaplan_meier(dataset["time"], dataset["status"])
    unmerged = kaplan_meier(dataset["time"], dataset["status"], timefix=False)
    assert len(merged.table) == len(reference["time"])
    assert len(unmerged.table) == len(set(dataset["time"])) > len(reference["time"])


def test_seed002_values_quoted_in_brief():
    """Values quoted by the project lead (printed by R, 3-4 significant digits)."""
    dataset = DATASETS["seed002_pfs"]
    km = kaplan_meier(dataset["time"], dataset["status"])
    assert km.median == pytest.approx(2.25)
    assert km.median_ci == pytest.approx((1.8, 3.0))
    assert km.survival_at(4) == pytest.approx((0.1786, 0.0808, 0.395), abs=5e-4)
    assert km.survival_at(6) == pytest.approx((0.0714, 0.019, 0.272), abs=5e-4)


def test_lifelines_median_differs_from_R_on_seed002():
    """Why we do not use lifelines: it ignores R's midpoint rule (2.0, not 2.25)."""
    lifelines = pytest.importorskip("lifelines")
    dataset = DATASETS["seed002_pfs"]
    r_median = dataset["fits"][0]["overall"]["print"]["median"]
    fitter = lifelines.KaplanMeierFitter().fit(dataset["time"], dataset["status"])
    assert fitter.median_survival_time_ == pytest.approx(2.0)
    assert r_median == pytest.approx(2.25)
    assert kaplan_meier(dataset["time"], dataset["status"]).median == pytest.approx(r_median)


def test_large_cohort_counts():
    """A registry-size cohort runs end to end (speed is measured by bench/run.py, not here)."""
    rng = np.random.default_rng(0)
    n = 100_000
    durations = np.round(rng.exponential(12, n), 1)
    events = rng.random(n) < 0.7
    groups = rng.choice(["a", "b", "c", "d"], n)
    km = kaplan_meier(durations, events)
    grouped = kaplan_meier_by_group(durations, events, groups, landmarks=(6, 12, 24))
    statistic, p = logrank_test(durations, events, groups)
    assert km.n == n and km.n_events == int(events.sum())
    assert grouped.summary["n"].sum() == n
    assert np.isfinite(statistic) and 0 <= p <= 1
