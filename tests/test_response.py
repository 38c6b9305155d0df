"""Tests for analysis.response and analysis.multiplicity against base R.

Expected values come from tests/reference/response_reference.json, written by
tests/reference/response_reference.R (binom.test, prop.test, qbeta,
fisher.test, p.adjust).
"""

import itertools
import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import gammaln

from analysis.multiplicity import adjust_pvalues
from analysis.response import (
    compare_rates,
    fisher_test,
    normalise_best_response,
    proportion_ci,
    response_comparison,
    response_table,
    subgroup_rates,
)

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = ROOT / "tests" / "reference"
REF = json.loads((REFERENCE_DIR / "response_reference.json").read_text())
RTOL = 1e-6


def num(value):
    """JSON value from R -> float (null -> nan, "Inf" -> inf)."""
    if value is None:
        return math.nan
    if value == "Inf":
        return math.inf
    if value == "-Inf":
        return -math.inf
    return float(value)


def nums(values):
    return np.array([num(v) for v in values], dtype=float)


def assert_close(actual, expected, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=rtol, atol=0, equal_nan=True)


def response_data():
    return pd.DataFrame(REF["response_data"])


# --------------------------------------------------------------------------
# proportion_ci
# --------------------------------------------------------------------------
PROPORTION_CASES = [
    pytest.param(row, method, id=f"{method}-{row['k']}/{row['n']}-alpha{row['alpha']}")
    for row in REF["proportion_ci"]
    for method in ("clopper-pearson", "wilson", "jeffreys")
]
R_KEY = {"clopper-pearson": "clopper_pearson", "wilson": "wilson", "jeffreys": "jeffreys"}


@pytest.mark.parametrize(("row", "method"), PROPORTION_CASES)
def test_proportion_ci_against_R(row, method):
    estimate, lower, upper = proportion_ci(int(row["k"]), int(row["n"]), method=method,
                                           alpha=row["alpha"])
    assert_close(estimate, row["estimate"])
    assert_close([lower, upper], nums(row[R_KEY[method]]))


@pytest.mark.parametrize("method", ["clopper-pearson", "wilson", "jeffreys"])
@pytest.mark.parametrize("n", [1, 7, 28])
def test_proportion_ci_boundaries(method, n):
    assert proportion_ci(0, n, method)[1] == 0.0
    assert proportion_ci(n, n, method)[2] == 1.0


def test_seed002_published_values():
    # Published: ORR 7/28 = 25.0% (10.7-44.9), DCR 14/28 = 50.0% (30.6-69.4)
    orr = [round(100 * value, 1) for value in proportion_ci(7, 28)]
    dcr = [round(100 * value, 1) for value in proportion_ci(14, 28)]
    assert orr == [25.0, 10.7, 44.9]
    assert dcr == [50.0, 30.6, 69.4]


def test_seed002_response_table_against_R():
    data = pd.DataFrame({"best_response": REF["seed002"]["best_response"]})
    row = response_table(data).iloc[0]
    expected = REF["seed002"]["all_treated"]
    assert (row["orr_count"], row["dcr_count"], row["denominator"]) == (7, 14, 28)
    assert_close([row["orr"], row["orr_lower"], row["orr_upper"]], expected["orr"])
    assert_close([row["dcr"], row["dcr_lower"], row["dcr_upper"]], expected["dcr"])
    columns = ("orr", "orr_lower", "orr_upper", "dcr", "dcr_lower", "dcr_upper")
    published = [round(100 * row[c], 1) for c in columns]
    assert published == [25.0, 10.7, 44.9, 50.0, 30.6, 69.4]


@pytest.mark.parametrize(
    ("k", "n"),
    [(1, 0), (0, 0)],
)
def test_proportion_ci_zero_denominator_raises(k, n):
    with pytest.raises(ValueError, match="no patients in the denominator"):
        proportion_ci(k, n)


@pytest.mark.parametrize(
    ("k", "n", "kwargs", "message"),
    [
        (5, 4, {}, "cannot exceed"),
        (-1, 4, {}, "non-negative integer"),
        (1, -4, {}, "non-negative integer"),
        (1.5, 4, {}, "non-negative integer"),
        (1, 4.2, {}, "non-negative integer"),
        (True, 4, {}, "non-negative integer"),
        ("1", 4, {}, "non-negative integer"),
        (float("nan"), 4, {}, "non-negative integer"),
        (1, 4, {"method": "wald"}, "unknown confidence interval method"),
        (1, 4, {"alpha": 0}, "alpha"),
        (1, 4, {"alpha": 1.2}, "alpha"),
    ],
)
def test_proportion_ci_invalid_input(k, n, kwargs, message):
    with pytest.raises(ValueError, match=message):
        proportion_ci(k, n, **kwargs)


def test_proportion_ci_accepts_integral_numpy_and_float_counts():
    assert proportion_ci(np.int64(7), 28.0) == proportion_ci(7, 28)


# --------------------------------------------------------------------------
# Fisher's exact test
# --------------------------------------------------------------------------
FISHER_2X2 = [
    pytest.param(row, id=f"{row['table']}-conf{row['conf_level']}") for row in REF["fisher_2x2"]
]


def single_table_possible(cells):
    a, b, c, d = cells
    return a + b == 0 or c + d == 0 or a + c == 0 or b + d == 0


@pytest.mark.parametrize("row", FISHER_2X2)
def test_fisher_2x2_p_value_against_R(row):
    result = fisher_test(np.reshape(row["table"], (2, 2)), alpha=1 - row["conf_level"])
    assert_close(result.p_value, row["p_value"])


@pytest.mark.parametrize("row", REF["fisher_2x2_large"], ids=lambda row: str(row["table"]))
def test_fisher_2x2_registry_size_p_value_against_R(row):
    """Level-vs-rest tables of 100,000 patients: the windowed null distribution (p only) and the whole one."""
    from analysis.response import _fisher_2x2

    table = np.reshape(row["table"], (2, 2))
    assert_close(_fisher_2x2(table, 0.05, with_odds_ratio=False).p_value, row["p_value"])
    assert_close(fisher_test(table).p_value, row["p_value"])


@pytest.mark.parametrize("seed", range(6))
def test_fisher_2x2_windowed_null_equals_the_whole_support(seed):
    from analysis.response import _WINDOW_MIN_SUPPORT, _fisher_2x2, _null_support

    rng = np.random.default_rng(seed)
    windowed = 0
    for _ in range(40):
        n_level, n_rest = rng.integers(1, 40_000, size=2)
        rate_level, rate_rest = rng.uniform(0.02, 0.98, size=2)
        k_level = int(rng.binomial(n_level, rate_level))
        k_rest = int(rng.binomial(n_rest, rate_rest if rng.random() < 0.5 else rate_level))
        table = np.array([[k_level, n_level - k_level], [k_rest, n_rest - k_rest]])
        m, n, k = int(table[:, 0].sum()), int(table[:, 1].sum()), int(table[0].sum())
        lo, hi = max(0, k - n), min(k, m)
        windowed += len(_null_support(lo, hi, m, n, k)) < hi - lo + 1
        whole = fisher_test(table).p_value  # the odds ratio path uses the whole support
        np.testing.assert_allclose(_fisher_2x2(table, 0.05, with_odds_ratio=False).p_value, whole,
                                   rtol=1e-11, atol=1e-300)
    assert windowed > 10 and _WINDOW_MIN_SUPPORT > 100  # the window was really exercised


@pytest.mark.parametrize("seed", range(4))
def test_hypergeometric_density_is_scipys_to_the_last_bit(seed):
    """The Fisher tests' direct density: scipy's formula without its argument checks, so the very same doubles."""
    from scipy import stats

    from analysis.response import _hypergeom_logpmf

    rng = np.random.default_rng(seed)
    for total in [1, 2, 7, 60, 5_000, 400_000]:
        m = int(rng.integers(0, total + 1))
        k = int(rng.integers(0, total + 1))
        support = np.arange(max(0, k - (total - m)), min(k, m) + 1)
        np.testing.assert_array_equal(_hypergeom_logpmf(support, total, m, k),
                                      stats.hypergeom.logpmf(support, total, m, k))
        x = int(support[len(support) // 2])
        assert _hypergeom_logpmf(x, total, m, k) == stats.hypergeom.logpmf(x, total, m, k)


def test_the_empty_table_has_density_one_where_scipy_gives_nan():
    from scipy import stats

    from analysis.response import _hypergeom_logpmf

    assert _hypergeom_logpmf(0, 0, 0, 0) == 0.0 and np.isnan(stats.hypergeom.logpmf(0, 0, 0, 0))
    assert fisher_test(np.zeros((2, 2), dtype=int)).p_value == 1.0  # R: fisher.test(matrix(0, 2, 2))$p.value


@pytest.mark.parametrize("row", [r for r in FISHER_2X2 if not single_table_possible(r.values[0]["table"])])
def test_fisher_2x2_odds_ratio_against_R(row):
    result = fisher_test(np.reshape(row["table"], (2, 2)), alpha=1 - row["conf_level"])
    expected = [num(row["odds_ratio"])] + list(nums(row["conf_int"]))
    assert_close([result.odds_ratio, result.odds_ratio_lower, result.odds_ratio_upper], expected)


@pytest.mark.parametrize("row", [r for r in FISHER_2X2 if single_table_possible(r.values[0]["table"])])
def test_fisher_2x2_degenerate_odds_ratio_is_nan(row):
    # R reports 0 with interval (0, Inf) when only one table is possible;
    # we deliberately return NaN (not estimable).
    assert nums(row["conf_int"]).tolist() == [0.0, math.inf]
    result = fisher_test(np.reshape(row["table"], (2, 2)))
    assert math.isnan(result.odds_ratio)
    assert math.isnan(result.odds_ratio_lower) and math.isnan(result.odds_ratio_upper)


@pytest.mark.parametrize("row", [r for r in FISHER_2X2[::2]  # compare_rates refuses an empty group
                                 if sum(r.values[0]["table"][:2]) and sum(r.values[0]["table"][2:])])
def test_compare_rates_against_R(row):
    a, b, c, d = row["table"]
    result = compare_rates(a, a + b, c, c + d)
    assert_close(result.p_value, row["p_value"])


@pytest.mark.parametrize("row", REF["fisher_rx2"], ids=lambda row: str(row["table"]))
def test_fisher_rx2_p_value_against_R(row):
    table = np.reshape(row["table"], (-1, 2))
    assert_close(fisher_test(table).p_value, row["p_value"])
    # orientation and row order do not matter
    assert_close(fisher_test(table.T).p_value, row["p_value"])
    assert_close(fisher_test(table[::-1]).p_value, row["p_value"])


def brute_force_fisher_p(table):
    """Enumerate every r x 2 table with the observed margins."""
    rows = table.sum(axis=1)
    m = table[:, 0].sum()

    def log_prob(col):
        return sum(gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1) for n, x in zip(rows, col))

    observed = log_prob(table[:, 0])
    tables = [c for c in itertools.product(*[range(n + 1) for n in rows]) if sum(c) == m]
    log_probs = np.array([log_prob(c) for c in tables])
    probs = np.exp(log_probs - np.logaddexp.reduce(log_probs))
    return probs[log_probs <= observed + 1e-7].sum()


@pytest.mark.parametrize("seed", range(20))
def test_fisher_rx2_matches_full_enumeration(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, 8, size=rng.integers(3, 6))
    responders = np.array([rng.integers(0, n + 1) for n in sizes])
    table = np.column_stack([responders, sizes - responders])
    assert_close(fisher_test(table).p_value, brute_force_fisher_p(table), rtol=1e-9)


@pytest.mark.parametrize(
    "table",
    [[[1, 2, 3]], [[1], [2]], [[1, -1], [2, 3]], [[1.5, 1], [2, 3]], [[1, 2, 3], [1, 2, 3], [1, 2, 3]]],
)
def test_fisher_test_invalid_table(table):
    with pytest.raises(ValueError):
        fisher_test(table)


def test_compare_rates_invalid():
    with pytest.raises(ValueError, match="no patients in the denominator"):
        compare_rates(0, 0, 1, 4)
    with pytest.raises(ValueError, match="cannot exceed"):
        compare_rates(5, 4, 1, 4)


# --------------------------------------------------------------------------
# p-value adjustment
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "row", REF["p_adjust"], ids=lambda row: f"{row['method']}-{row['p']}"
)
def test_adjust_pvalues_against_R(row):
    assert_close(adjust_pvalues(nums(row["p"]), row["method"]), nums(row["adjusted"]))
    # None, like R's NA, is accepted and kept in place
    assert_close(adjust_pvalues(row["p"], row["method"]), nums(row["adjusted"]))


def test_adjust_pvalues_keeps_series_index():
    p = pd.Series([0.04, np.nan, 0.01], index=["b", "x", "a"])
    adjusted = adjust_pvalues(p, "bh")
    assert list(adjusted.index) == ["b", "x", "a"]
    assert np.isnan(adjusted["x"])
    assert adjusted["a"] == pytest.approx(0.02)


def test_adjust_pvalues_invalid():
    with pytest.raises(ValueError, match="unknown p-value adjustment method"):
        adjust_pvalues([0.1], "hochberg-typo")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adjust_pvalues([0.1, 1.2])


def test_adjust_pvalues_empty_and_all_missing():
    assert adjust_pvalues([]).size == 0
    assert np.isnan(adjust_pvalues([np.nan, None])).all()


# --------------------------------------------------------------------------
# response_table / response_comparison / subgroup_rates against R
# --------------------------------------------------------------------------
RESPONSE_COLUMNS = ["n_treated", "n_evaluable", "n_not_evaluable", "CR", "PR", "SD", "PD",
                    "denominator", "orr_count", "orr", "orr_lower", "orr_upper",
                    "dcr_count", "dcr", "dcr_lower", "dcr_upper"]


@pytest.mark.parametrize(
    "row", REF["response_table"], ids=lambda row: f"{row['denominator_type']}-{row['group']}"
)
def test_response_table_against_R(row):
    table = response_table(response_data(), group_col="arm", denominator=row["denominator_type"])
    assert list(table["group"]) == ["A", "B", "C", "All"]
    ours = table.set_index("group").loc[row["group"]]
    assert_close([ours[c] for c in RESPONSE_COLUMNS], [num(row[c]) for c in RESPONSE_COLUMNS])
    expected_label = "all treated" if row["denominator_type"] == "all" else "evaluable"
    assert ours["denominator_label"] == expected_label


@pytest.mark.parametrize(
    "row",
    REF["response_comparison"],
    ids=lambda row: f"{row['denominator_type']}-{row['endpoint']}-{''.join(row['arms'])}",
)
def test_response_comparison_against_R(row):
    data = response_data()
    data = data[data["arm"].isin(row["arms"])]
    result = response_comparison(data, "arm", endpoint=row["endpoint"],
                                 denominator=row["denominator_type"])
    assert list(result.groups) == row["arms"]
    assert list(result.events) == row["responders"]
    assert list(result.denominators) == row["denominators"]
    assert_close(result.p_value, row["p_value"])
    assert_close([result.odds_ratio, result.odds_ratio_lower, result.odds_ratio_upper],
                 [num(row["odds_ratio"])] + list(nums(row["conf_int"])))


SUBGROUP_BLOCKS = sorted({(r["denominator_type"], r["endpoint"]) for r in REF["subgroup_rates"]})


@pytest.mark.parametrize(("denominator", "endpoint"), SUBGROUP_BLOCKS)
def test_subgroup_rates_against_R(denominator, endpoint):
    expected = pd.DataFrame([r for r in REF["subgroup_rates"]
                             if r["denominator_type"] == denominator and r["endpoint"] == endpoint])
    # this reference tests the "Missing" level like any other (test_missing=True); the R na.omit default,
    # where it is shown but not tested, is checked against R in tests/test_pairwise.py
    ours = subgroup_rates(response_data(), ["arm", "histology", "sex"], endpoint=endpoint,
                          denominator=denominator, test_missing=True)
    assert len(ours) == len(expected)
    merged = expected.merge(ours, on=["subgroup", "level"], suffixes=("_r", ""), validate="1:1")
    assert len(merged) == len(expected)
    for column in ["n", "k", "rate", "lower", "upper", "p_value", "p_adjusted"]:
        assert_close(merged[column], merged[f"{column}_r"].astype(float))


# --------------------------------------------------------------------------
# Edge cases and invariance
# --------------------------------------------------------------------------
def test_unknown_response_label_is_named():
    data = pd.DataFrame({"best_response": ["CR", "PR", "XX", None]})
    with pytest.raises(ValueError, match="XX"):
        response_table(data)
    with pytest.raises(ValueError, match="'iCR'"):
        normalise_best_response(["iCR"])


def test_labels_are_normalised_and_ne_is_not_evaluable():
    data = pd.DataFrame({"best_response": [" cr", "Pr", "sd ", "PD", "NE", None, np.nan, pd.NA]})
    row = response_table(data, denominator="evaluable").iloc[0]
    assert (row["CR"], row["PR"], row["SD"], row["PD"]) == (1, 1, 1, 1)
    assert (row["n_treated"], row["n_evaluable"], row["n_not_evaluable"]) == (8, 4, 4)


def test_empty_group_gives_nan_row_with_note():
    data = pd.DataFrame({
        "arm": pd.Categorical(["A", "A", "B"], categories=["A", "B", "C"]),
        "best_response": ["PR", "PD", "SD"],
    })
    table = response_table(data, group_col="arm").set_index("group")
    assert list(table.index) == ["A", "B", "C", "All"]
    empty = table.loc["C"]
    assert empty["n_treated"] == 0 and empty["denominator"] == 0
    assert np.isnan([empty["orr"], empty["orr_lower"], empty["dcr_upper"]]).all()
    assert "no treated patients" in empty["note"]
    assert table.loc["A", "note"] == ""


def test_all_not_evaluable():
    data = pd.DataFrame({"best_response": [None, np.nan, "NE"]})
    evaluable = response_table(data, denominator="evaluable").iloc[0]
    assert evaluable["denominator"] == 0 and np.isnan(evaluable["orr"])
    assert "no evaluable patients" in evaluable["note"]
    treated = response_table(data, denominator="all").iloc[0]
    assert treated["denominator"] == 3 and treated["orr"] == 0.0
    assert treated["orr_upper"] == pytest.approx(proportion_ci(0, 3)[2])


def test_empty_data_frame():
    table = response_table(pd.DataFrame({"best_response": pd.Series([], dtype=object)}))
    assert table.iloc[0]["n_treated"] == 0
    assert "no treated patients" in table.iloc[0]["note"]


def test_missing_group_values_form_missing_group():
    data = pd.DataFrame({"arm": ["A", None, "B", "A"], "best_response": ["CR", "PD", "PR", "SD"]})
    table = response_table(data, group_col="arm")
    assert list(table["group"]) == ["A", "B", "Missing", "All"]
    assert list(table["n_treated"]) == [2, 1, 1, 4]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"denominator": "itt"}, "denominator"), ({"method": "exact"}, "method"),
     ({"response_col": "bor"}, "not found"), ({"group_col": "arm2"}, "not found")],
)
def test_response_table_invalid_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        response_table(response_data(), **kwargs)


@pytest.mark.parametrize("denominator", ["all", "evaluable"])
def test_response_table_row_order_invariance(denominator):
    data = response_data()
    shuffled = data.sample(frac=1, random_state=7).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        response_table(data, "arm", denominator=denominator),
        response_table(shuffled, "arm", denominator=denominator),
    )


def test_subgroup_rates_row_order_invariance():
    data = response_data()
    shuffled = data.sample(frac=1, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(subgroup_rates(data, ["histology", "sex"], "dcr"),
                                  subgroup_rates(shuffled, ["histology", "sex"], "dcr"))


def test_response_comparison_row_order_invariance():
    data = response_data()
    shuffled = data.sample(frac=1, random_state=11)
    original, reordered = response_comparison(data, "arm"), response_comparison(shuffled, "arm")
    assert (original.groups, original.events, original.denominators) == (
        reordered.groups, reordered.events, reordered.denominators)
    assert original.p_value == reordered.p_value


def test_response_comparison_single_group():
    data = pd.DataFrame({"arm": ["A", "A"], "best_response": ["PR", "PD"]})
    result = response_comparison(data, "arm")
    assert math.isnan(result.p_value)
    assert "fewer than two groups" in result.note


def test_response_comparison_drops_empty_and_missing_groups():
    data = pd.DataFrame({
        "arm": ["A", "A", "B", "B", "C", None],
        "best_response": ["PR", "PD", "SD", "PD", None, "CR"],
    })
    result = response_comparison(data, "arm", denominator="evaluable")
    assert result.groups == ("A", "B")
    assert "missing arm" in result.note and "'C'" in result.note
    assert_close(result.p_value, compare_rates(1, 2, 0, 2).p_value)


def test_subgroup_rates_single_level_has_no_p_value():
    data = pd.DataFrame({"sex": ["F"] * 4, "best_response": ["PR", "PD", "SD", "CR"]})
    row = subgroup_rates(data, "sex").iloc[0]
    assert (row["n"], row["k"]) == (4, 2)
    assert np.isnan(row["p_value"]) and np.isnan(row["p_adjusted"])
    assert "no patients outside" in row["note"]


# --------------------------------------------------------------------------
# The committed reference must be what the R script produces
# --------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_reference_json_is_reproducible_from_R(tmp_path):
    output = tmp_path / "reference.json"
    subprocess.run(["Rscript", str(REFERENCE_DIR / "response_reference.R"), str(output)],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)
    assert_same_reference(json.loads(output.read_text()), REF)


def assert_same_reference(regenerated, committed, path="reference"):
    """Equal structure and strings; numbers equal up to last-digit noise."""
    if isinstance(committed, dict):
        assert isinstance(regenerated, dict) and regenerated.keys() == committed.keys(), path
        for key in set(committed) - {"r_version"}:
            assert_same_reference(regenerated[key], committed[key], f"{path}.{key}")
    elif isinstance(committed, list):
        assert isinstance(regenerated, list) and len(regenerated) == len(committed), path
        for i, (new, old) in enumerate(zip(regenerated, committed)):
            assert_same_reference(new, old, f"{path}[{i}]")
    elif isinstance(committed, (int, float)) and not isinstance(committed, bool):
        assert regenerated == pytest.approx(committed, rel=1e-12, abs=0), path
    else:
        assert regenerated == committed, path
