"""Tests for analysis.rmst and analysis.follow_up against R survival 3.x.

Reference values come from tests/reference/rmst_reference.json, written by
``Rscript tests/reference/rmst_reference.R`` (data sets included): per group R's ``summary(survfit, rmean =
tau)$table`` rmean and se(rmean); between groups survRM2 ``rmst2``'s formulas written out in R from those; the
median follow-up of ``survfit(Surv(time, 1 - status) ~ 1)``.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from analysis.follow_up import median_follow_up
from analysis.rmst import rmst_by_group, rmst_contrast, rmst_of_fit, rmst_of_fits, rmst_tau_limit
from analysis.survival import kaplan_meier, kaplan_meier_by_group_from_counts, survival_counts

RTOL = 1e-6
REFERENCE = json.loads((Path(__file__).parent / "reference" / "rmst_reference.json").read_text())
DATASETS = REFERENCE["datasets"]
CONTRAST_FIELDS = ("difference", "difference_se", "difference_lower", "difference_upper", "difference_p",
                   "ratio", "log_ratio_se", "ratio_lower", "ratio_upper", "ratio_p")


def _num(value):
    return math.nan if value is None else float(value)


def _close(actual, expected, what):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray([_num(v) for v in np.atleast_1d(expected)]
                                                                          if isinstance(expected, list)
                                                                          else _num(expected), dtype=float),
                               rtol=RTOL, atol=1e-12, equal_nan=True, err_msg=what)


CASES = [pytest.param(dataset, case, id=f"{dataset['name']}-tau{case['tau']:g}-{case['label']}")
         for dataset in DATASETS for case in dataset["cases"]]


def _fit(dataset, case):
    tau = None if case["label"] == "default" else case["tau"]
    return rmst_by_group(dataset["time"], dataset["status"], dataset["group"], tau=tau)


@pytest.mark.parametrize("dataset, case", CASES)
def test_rmst_per_group_matches_r(dataset, case):
    result = _fit(dataset, case)
    expected = case["groups"]
    assert [str(g) for g in result.groups] == expected["group"]
    _close(result.tau, case["tau"], "tau")
    for column in ("n", "events", "rmst", "se", "lower", "upper"):
        _close(result.table[column], expected[column], f"{dataset['name']} {column}")


@pytest.mark.parametrize("dataset, case", CASES)
def test_rmst_from_counted_fits_matches_r(dataset, case):
    """The RMST of the Survival page on a large source: Kaplan-Meier fits of a count table."""
    counts = survival_counts(dataset["time"], dataset["status"], dataset["group"])
    result = rmst_of_fits(kaplan_meier_by_group_from_counts(counts).fits,
                          tau=None if case["label"] == "default" else case["tau"])
    expected = case["groups"]
    assert [str(g) for g in result.groups] == expected["group"]
    _close(result.tau, case["tau"], "tau")
    for column in ("n", "events", "rmst", "se", "lower", "upper"):
        _close(result.table[column], expected[column], f"{dataset['name']} {column}")


@pytest.mark.parametrize("dataset, case", CASES)
def test_rmst_contrasts_match_survrm2_formulas(dataset, case):
    result = _fit(dataset, case)
    assert case["contrasts"], "every reference data set has at least two groups"
    for expected in case["contrasts"]:
        contrast = rmst_contrast(result, expected["reference"], expected["comparator"])
        for name in CONTRAST_FIELDS:
            _close(getattr(contrast, name), expected[name], f"{dataset['name']} {expected['comparator']} {name}")


@pytest.mark.parametrize("dataset", DATASETS, ids=[d["name"] for d in DATASETS])
def test_default_tau_is_the_smallest_last_follow_up(dataset):
    assert rmst_tau_limit(dataset["time"], dataset["group"]) == pytest.approx(dataset["tau_limit"], rel=RTOL)
    result = rmst_by_group(dataset["time"], dataset["status"], dataset["group"])
    assert result.tau_is_default and result.tau == pytest.approx(dataset["tau_limit"], rel=RTOL)


@pytest.mark.parametrize("dataset", DATASETS, ids=[d["name"] for d in DATASETS])
def test_reverse_km_median_follow_up_matches_r(dataset):
    follow = median_follow_up(dataset["time"], dataset["status"])
    expected = dataset["follow_up"]
    _close([follow.median, follow.lower, follow.upper], [expected["median"], expected["lower"], expected["upper"]],
           dataset["name"])
    assert follow.n_censored == expected["n_censored"]


def test_tau_beyond_the_shortest_follow_up_is_refused():
    dataset = DATASETS[0]
    with pytest.raises(ValueError, match="beyond the shortest group's last follow-up"):
        rmst_by_group(dataset["time"], dataset["status"], dataset["group"], tau=dataset["tau_limit"] + 1)
    for bad in (0, -1, math.nan, math.inf):
        with pytest.raises(ValueError):
            rmst_by_group(dataset["time"], dataset["status"], dataset["group"], tau=bad)


def test_tau_before_the_first_time_is_the_whole_interval():
    # R's summary() refuses this; the integral of S = 1 over [0, tau] is tau with no variance
    fit = kaplan_meier([2, 3, 5], [1, 1, 0])
    assert rmst_of_fit(fit, 1.5) == (1.5, 0.0)


def test_rmst_is_the_area_under_the_curve():
    fit = kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1])  # S = .75, .5, .25, 0
    value, _ = rmst_of_fit(fit, 4)
    assert value == pytest.approx(1 + 0.75 + 0.5 + 0.25)
    assert rmst_of_fit(fit, 2.5)[0] == pytest.approx(1 + 0.75 + 0.5 * 0.5)


def test_edge_inputs_give_clear_results_or_messages():
    one = rmst_by_group([4], [1])
    assert one.table["rmst"].iloc[0] == 4 and one.table["se"].iloc[0] == 0
    with pytest.raises(ValueError, match="two groups"):
        rmst_contrast(one)
    with pytest.raises(ValueError):
        rmst_by_group([], [])
    with pytest.raises(ValueError, match="last follow-up time of some group is 0"):
        rmst_by_group([0, 3], [1, 1], ["a", "b"])
    no_events = rmst_by_group([2, 3, 4, 5], [0, 0, 0, 0], ["a", "a", "b", "b"])
    contrast = rmst_contrast(no_events)
    assert contrast.difference == pytest.approx(0.0) and math.isnan(contrast.difference_p)
    assert math.isnan(median_follow_up([1, 2, 3], [1, 1, 1]).median)  # nobody censored: not reached
