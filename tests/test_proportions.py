"""Tests for analysis.proportions: Newcombe's hybrid score interval against the published worked examples."""

import math

import pytest

from analysis.proportions import compare_proportions, newcombe_difference
from analysis.response import compare_rates

# Newcombe RG. Interval estimation for the difference between independent proportions: comparison of eleven
# methods. Statistics in Medicine 1998;17:873-890. Table II, examples (a)-(h), method 10 (score interval
# combining the Wilson intervals without continuity correction). Printed to 4 decimals: (k1, n1, k2, n2) ->
# (p1 - p2, lower, upper).
NEWCOMBE_1998_TABLE_II = [
    ((56, 70, 48, 80), (0.2000, 0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.6000, 0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.5714, 0.0582, 0.8062)),
    ((5, 56, 0, 29), (0.0893, -0.0381, 0.1926)),
    ((0, 10, 0, 20), (0.0000, -0.1611, 0.2775)),
    ((0, 10, 0, 10), (0.0000, -0.2775, 0.2775)),
    ((10, 10, 0, 20), (1.0000, 0.6791, 1.0000)),
    ((10, 10, 0, 10), (1.0000, 0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "published"), NEWCOMBE_1998_TABLE_II)
def test_newcombe_matches_published_table(counts, published):
    ours = newcombe_difference(*counts)
    for value, printed in zip(ours, published):
        assert abs(value - printed) <= 0.5e-4 + 1e-12, (counts, ours, published)


def test_swapping_the_groups_mirrors_the_interval():
    d, lo, hi = newcombe_difference(6, 7, 2, 7)
    d2, lo2, hi2 = newcombe_difference(2, 7, 6, 7)
    assert (d2, lo2, hi2) == pytest.approx((-d, -hi, -lo), abs=1e-15)


def test_narrower_at_lower_confidence():
    _, lo95, hi95 = newcombe_difference(56, 70, 48, 80)
    _, lo90, hi90 = newcombe_difference(56, 70, 48, 80, alpha=0.10)
    assert lo95 < lo90 < hi90 < hi95


def test_compare_proportions_reuses_fisher():
    result = compare_proportions(9, 10, 3, 10)
    fisher = compare_rates(9, 10, 3, 10)
    assert (result.fisher_p, result.odds_ratio, result.odds_ratio_lower, result.odds_ratio_upper) == (
        fisher.p_value, fisher.odds_ratio, fisher.odds_ratio_lower, fisher.odds_ratio_upper)
    assert (result.difference, result.lower, result.upper) == newcombe_difference(9, 10, 3, 10)
    assert result.p1 == 0.9 and result.p2 == 0.3


def test_no_event_anywhere_gives_nan_odds_ratio_but_an_interval():
    result = compare_proportions(0, 5, 0, 4)
    assert math.isnan(result.odds_ratio) and result.fisher_p == pytest.approx(1.0)
    assert result.lower < 0 < result.upper


@pytest.mark.parametrize("counts", [(1, 0, 1, 2), (3, 2, 1, 2), (-1, 3, 1, 2)])
def test_bad_counts_raise_value_error(counts):
    with pytest.raises(ValueError):
        newcombe_difference(*counts)
