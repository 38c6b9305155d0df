"""Pairwise log-rank tests, missing values as R's na.omit, and the KMunicate risk table, against R.

Reference values come from tests/reference/pairwise_reference.json, written by
``Rscript tests/reference/pairwise_reference.R`` (data sets included; survminer is not installed, so the
script computes ``pairwise_survdiff`` as survdiff on each pair's patients plus ``p.adjust``).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import pairwise
from analysis.pairwise import pairwise_logrank, pairwise_logrank_from_counts
from analysis.response import subgroup_rates
from analysis.survival import kaplan_meier, kaplan_meier_by_group, logrank_table, logrank_test

RTOL = 1e-6
REFERENCE = json.loads((Path(__file__).parent / "reference" / "pairwise_reference.json").read_text())


def _num(values) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in np.atleast_1d(values)], dtype=float)


def _labels(values) -> np.ndarray:
    return np.array([None if v is None else v for v in values], dtype=object)


def assert_close(actual, expected, what: str = "") -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float), _num(expected), rtol=RTOL, atol=1e-12,
                               equal_nan=True, err_msg=what)


PAIRWISE = {case["name"]: case for case in REFERENCE["pairwise"]}


# --------------------------------------------------------------------------- #
# Pairwise log-rank
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("method", ["BH", "holm", "bonferroni", "none"])
@pytest.mark.parametrize("name", list(PAIRWISE))
def test_pairwise_logrank_against_R(name, method):
    case = PAIRWISE[name]
    ours = pairwise_logrank(_num(case["time"]), _num(case["status"]), _labels(case["group"]), p_adjust=method)
    pairs = case["result"]["pairs"]
    assert list(zip(ours["group_1"], ours["group_2"])) == [(p["group_1"], p["group_2"]) for p in pairs]
    assert_close(ours["statistic"], [p["chisq"] for p in pairs], "chi-square")
    assert_close(ours["p_value"], [p["p"] for p in pairs], "p")
    assert_close(ours["p_adjusted"], case["result"]["adjusted"][method], f"p adjusted ({method})")
    assert list(ours["df"]) == [p["df"] for p in pairs]
    assert_close(ours[["n_1", "n_2"]].to_numpy().ravel(), np.concatenate([p["n"] for p in pairs]))
    assert_close(ours[["events_1", "events_2"]].to_numpy().ravel(), np.concatenate([p["observed"] for p in pairs]))
    assert ours.attrs["p_adjust"] == method
    assert ours.attrs["n_dropped"] == case.get("n_dropped", 0)
    assert ours.attrs["n_tests"] == sum(p["p"] is not None for p in pairs)


def test_pairwise_pair_without_events_is_not_tested():
    case = PAIRWISE["groups_without_events"]
    ours = pairwise_logrank(case["time"], case["status"], case["group"])
    row = ours[(ours["group_1"] == "E") & (ours["group_2"] == "F")].iloc[0]
    assert math.isnan(row["p_value"]) and math.isnan(row["p_adjusted"]) and row["note"]
    assert ours.attrs["n_tests"] == 2


def test_pairwise_two_groups_is_the_logrank_test():
    case = PAIRWISE["four_groups"]
    keep = np.isin(case["group"], ["A", "C"])
    time, status, group = (np.asarray(case[k], dtype=object)[keep] for k in ("time", "status", "group"))
    ours = pairwise_logrank(time.astype(float), status.astype(int), group, p_adjust="holm")
    statistic, p = logrank_test(time.astype(float), status.astype(int), group)
    assert len(ours) == 1
    assert ours["statistic"].iloc[0] == pytest.approx(statistic) and ours["p_adjusted"].iloc[0] == pytest.approx(p)


def test_pairwise_invariant_to_row_order():
    case = PAIRWISE["four_groups"]
    order = np.random.default_rng(5).permutation(len(case["time"]))
    shuffled = pairwise_logrank(*(np.asarray(case[k], dtype=object)[order] for k in ("time", "status", "group")))
    original = pairwise_logrank(case["time"], case["status"], case["group"])
    pd.testing.assert_frame_equal(shuffled, original)


def test_pairwise_near_ties_are_merged_within_each_pair_as_R():
    case = PAIRWISE["near_ties_within_one_pair"]
    codes = pd.factorize(np.asarray(case["group"]), sort=True)[0]
    # 1000 and 1000.00001 are one time for the pair (A, C) only: no one table of the whole data serves every pair
    assert pairwise._tallied_pair_tests(_num(case["time"]), np.ones(len(codes)), _num(case["status"]), codes, 3) is None


@pytest.mark.parametrize("seed", range(8))
def test_pairwise_from_one_table_equals_each_pairs_own_test(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(2, 400)), int(rng.integers(2, 9))
    time = np.round(rng.exponential(10, n), int(rng.integers(0, 3)))  # ties, and zeros with 0 decimals
    status = (rng.random(n) < rng.choice([0.0, 0.2, 0.8, 1.0])).astype(int)  # including no event at all
    codes = rng.integers(0, k, n)
    codes[:k] = np.arange(k)  # every group present; some with a single patient
    tallied = pairwise._tallied_pair_tests(time, np.ones(n), status, codes, k)
    assert tallied is not None
    by_subset = pairwise._subset_pair_tests(lambda m: logrank_table(time[m], status[m], codes[m]), codes, k)
    assert tallied.keys() == by_subset.keys()
    for pair, (n_1, n_2, e_1, e_2, statistic, p_value, df) in by_subset.items():
        assert tallied[pair][:4] == (n_1, n_2, e_1, e_2) and tallied[pair][6] == df, pair
        np.testing.assert_allclose(tallied[pair][4:6], (statistic, p_value), rtol=1e-12, atol=1e-15, equal_nan=True)


def _counted(time, status, group) -> pd.DataFrame:
    """Events and censorings per (group, time), rows in a shuffled order, as a database GROUP BY returns them."""
    frame = pd.DataFrame({"group": pd.Series(group, dtype=object), "time": np.asarray(time, dtype=float),
                          "event": np.asarray(status, dtype=float)})
    counts = (frame.groupby(["group", "time"], dropna=False)["event"]
              .agg(n_event="sum", n_total="size").reset_index())
    counts["n_censor"] = counts.pop("n_total") - counts["n_event"]
    return counts.sample(frac=1, random_state=3).reset_index(drop=True)


@pytest.mark.parametrize("name", [n for n, case in PAIRWISE.items() if "n_dropped" not in case])
def test_pairwise_logrank_from_counts_against_R(name):
    case = PAIRWISE[name]
    ours = pairwise_logrank_from_counts(_counted(_num(case["time"]), _num(case["status"]), _labels(case["group"])),
                                        p_adjust="holm")
    pairs = case["result"]["pairs"]
    assert list(zip(ours["group_1"], ours["group_2"])) == [(p["group_1"], p["group_2"]) for p in pairs]
    assert_close(ours["statistic"], [p["chisq"] for p in pairs], "chi-square")
    assert_close(ours["p_adjusted"], case["result"]["adjusted"]["holm"], "p adjusted (holm)")
    assert_close(ours[["n_1", "n_2"]].to_numpy().ravel(), np.concatenate([p["n"] for p in pairs]))


@pytest.mark.parametrize("seed", range(6))
def test_pairwise_from_counts_equals_the_patients_pairwise(seed):
    rng = np.random.default_rng(100 + seed)
    n, k = int(rng.integers(3, 600)), int(rng.integers(2, 8))
    time = np.round(rng.exponential(8, n), int(rng.integers(0, 3)))
    status = (rng.random(n) < rng.choice([0.0, 0.5, 1.0])).astype(int)
    group = np.array([f"g{c}" for c in rng.integers(0, k, n)], dtype=object)
    group[: k] = [f"g{c}" for c in range(k)]
    group[rng.random(n) < 0.05] = None  # a missing group: left out on both paths
    if seed == 0:
        time[:3] = [5.0, 5.0 + 1e-10, 5.0 + 2e-10]  # near ties: each pair merges its own
    patients = pairwise_logrank(time, status, group)
    counted = pairwise_logrank_from_counts(_counted(time, status, group))
    pd.testing.assert_frame_equal(counted, patients, check_exact=False, rtol=1e-12)
    assert counted.attrs == patients.attrs


def test_pairwise_past_the_tally_budget_tests_each_pair_on_its_rows(monkeypatch):
    rng = np.random.default_rng(9)
    time, status = np.round(rng.exponential(8, 300), 2), rng.integers(0, 2, 300)
    group = np.array([f"g{c}" for c in rng.integers(0, 4, 300)], dtype=object)
    within = pairwise_logrank(time, status, group)
    monkeypatch.setattr(pairwise, "MAX_TALLY_CELLS", 10)
    assert pairwise._tallied_pair_tests(time, np.ones(300), status, pd.factorize(group, sort=True)[0], 4) is None
    pd.testing.assert_frame_equal(pairwise_logrank(time, status, group), within, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(pairwise_logrank_from_counts(_counted(time, status, group)), within,
                                  check_exact=False, rtol=1e-12)


def test_pairwise_invalid_input_raises():
    with pytest.raises(ValueError, match="two groups"):
        pairwise_logrank([1, 2, 3], [1, 0, 1], ["a", "a", "a"])
    with pytest.raises(ValueError, match="length"):
        pairwise_logrank([1, 2, 3], [1, 0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="adjustment"):
        pairwise_logrank([1, 2, 3], [1, 0, 1], ["a", "b", "c"], p_adjust="sidak")


# --------------------------------------------------------------------------- #
# Missing values as R's na.omit
# --------------------------------------------------------------------------- #
MISSING = REFERENCE["missing"]
NA_TIME, NA_STATUS, NA_GROUP = _num(MISSING["time"]), _num(MISSING["status"]), _labels(MISSING["group"])


def test_kaplan_meier_drops_missing_as_R():
    expected = MISSING["fits"]["overall"]
    km = kaplan_meier(NA_TIME, NA_STATUS)
    assert km.n_dropped == expected["n_dropped"] == 4
    assert km.n == expected["n"][0]
    table = km.table
    assert_close(table["time"], expected["time"])
    assert_close(table["n_risk"], expected["n_risk"])
    assert_close(table["survival"], expected["surv"])
    assert_close(table["lower"], expected["lower"])
    assert_close(table["upper"], expected["upper"])
    assert_close(km.median, expected["median"])


def test_kaplan_meier_by_group_drops_missing_as_R():
    expected = MISSING["fits"]["by_group"]
    result = kaplan_meier_by_group(pd.Series(NA_TIME), pd.Series(NA_STATUS), pd.Series(NA_GROUP))
    assert result.n_dropped == expected["n_dropped"] == 7
    assert [str(g) for g in result.fits] == expected["strata"]
    assert_close(result.summary["n"], expected["n"])
    assert_close(result.summary["median"], expected["median"])
    tables = pd.concat([fit.table for fit in result.fits.values()])
    assert_close(tables["time"], expected["time"])
    assert_close(tables["survival"], expected["surv"])
    assert_close(tables["n_risk"], expected["n_risk"])


def test_logrank_drops_missing_as_R():
    expected = MISSING["fits"]["logrank"]
    test = logrank_table(NA_TIME, NA_STATUS, NA_GROUP)
    assert test.n_dropped == expected["n_dropped"] == 7
    assert_close(test.statistic, expected["chisq"])
    assert_close(test.p_value, expected["p"])
    assert_close(test.table["n"], expected["n"])
    assert_close(test.table["observed"], expected["observed"])
    assert_close(test.table["expected"], expected["expected"])
    pair = logrank_test(NA_TIME, NA_STATUS, NA_GROUP)
    statistic, p = pair
    assert (statistic, p) == (test.statistic, test.p_value) and pair.n_dropped == 7


def test_nullable_pandas_missing_values_are_dropped():
    km = kaplan_meier(pd.array([1.0, None, 3.0, 4.0], dtype="Float64"), pd.array([1, 1, None, 0], dtype="Int64"))
    assert km.n == 2 and km.n_dropped == 2
    assert kaplan_meier([1.0, 2.0], [1, 0]).n_dropped == 0


def test_all_missing_still_raises():
    with pytest.raises(ValueError, match="no patient left"):
        kaplan_meier([np.nan, np.nan], [1, 0])
    with pytest.raises(ValueError, match="no patient left"):
        logrank_test([1.0, 2.0], [1, 0], [None, np.nan])


# --------------------------------------------------------------------------- #
# KMunicate risk table
# --------------------------------------------------------------------------- #
RISK = REFERENCE["risk_table"]


@pytest.mark.parametrize("row", RISK["rows"], ids=lambda row: row["group"])
def test_risk_table_against_R(row):
    result = kaplan_meier_by_group(RISK["time"], RISK["status"], RISK["group"])
    table = result.fits[row["group"]].risk_table(RISK["times"])
    assert_close(table["time"], row["time"])
    assert_close(table["n_risk"], row["n_risk"])
    assert_close(table["events"], row["events"])
    assert_close(table["censored"], row["censored"])
    fit = result.fits[row["group"]]
    end = fit.risk_table([np.inf]).iloc[0]  # after the last follow-up: everyone has had an event or is censored
    assert (end["n_risk"], end["events"], end["censored"]) == (0, fit.n_events, fit.n - fit.n_events)


# --------------------------------------------------------------------------- #
# Subgroup rates: a not-reported level is shown, not tested
# --------------------------------------------------------------------------- #
SUBGROUP = REFERENCE["subgroup"]


@pytest.mark.parametrize("endpoint", ["orr", "dcr"])
def test_subgroup_rates_not_reported_level_against_R(endpoint):
    data = pd.DataFrame({key: _labels(SUBGROUP[key]) for key in ("best_response", "histology", "sex")})
    expected = pd.DataFrame([r for r in SUBGROUP["rows"] if r["endpoint"] == endpoint])
    expected["level"] = expected["level"].fillna("Missing")
    ours = subgroup_rates(data, ["histology", "sex"], endpoint=endpoint)
    merged = expected.merge(ours, on=["subgroup", "level"], suffixes=("_r", ""), validate="1:1")
    assert len(merged) == len(expected) == len(ours)
    for column in ["n", "k", "rate", "lower", "upper", "p_value", "p_adjusted"]:
        assert_close(merged[column], merged[f"{column}_r"].astype(float), column)
    missing = ours[ours["level"] == "Missing"]
    assert len(missing) == 2 and missing["p_value"].isna().all() and missing["note"].str.contains("not tested").all()
    # the same when the missing level is a label ("not reported", as the app labels it)
    labelled = data.assign(histology=data["histology"].fillna("not reported"), sex=data["sex"].fillna("not reported"))
    again = subgroup_rates(labelled, ["histology", "sex"], endpoint=endpoint, missing_levels=("not reported",))
    np.testing.assert_allclose(again["p_adjusted"].to_numpy(float),
                               ours.set_index(["subgroup", "level"]).rename(index={"Missing": "not reported"})
                               .loc[list(zip(again["subgroup"], again["level"])), "p_adjusted"].to_numpy(float),
                               rtol=1e-12, equal_nan=True)
