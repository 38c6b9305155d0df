"""Difference of two proportions: Newcombe's hybrid score interval, with Fisher's exact test and the
conditional maximum-likelihood odds ratio.

Reference values: the worked examples of Newcombe (1998), Table II, method 10 (tests/test_proportions.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from analysis.response import compare_rates, proportion_ci


@dataclass(frozen=True)
class ProportionDifference:
    """Result of :func:`compare_proportions` (group 1 minus group 2)."""

    k1: int
    n1: int
    k2: int
    n2: int
    p1: float
    p2: float
    difference: float
    lower: float
    upper: float
    fisher_p: float
    odds_ratio: float
    odds_ratio_lower: float
    odds_ratio_upper: float


def newcombe_difference(k1, n1, k2, n2, alpha=0.05) -> tuple[float, float, float]:
    """Difference ``k1/n1 - k2/n2`` with Newcombe's hybrid score confidence interval.

    Parameters
    ----------
    k1, n1 : int
        Events and denominator of group 1 (``n1 > 0``).
    k2, n2 : int
        Events and denominator of group 2 (``n2 > 0``).
    alpha : float, default 0.05
        Two-sided error rate; the confidence level is ``1 - alpha``.

    Returns
    -------
    tuple of float
        ``(difference, lower, upper)``.

    Raises
    ------
    ValueError
        For invalid counts, ``k > n`` or a zero denominator.

    Notes
    -----
    Newcombe's method 10: with ``(l_i, u_i)`` the Wilson score interval of
    ``p_i`` without continuity correction (R ``prop.test(correct = FALSE)``),
    ``lower = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` and
    ``upper = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)`` for ``d = p1 - p2``.
    The limits stay within [-1, 1] and are defined for 0 or n events.

    References
    ----------
    .. [1] Newcombe RG. Interval estimation for the difference between
       independent proportions: comparison of eleven methods. Statistics in
       Medicine. 1998;17:873-890 (method 10, Table II).
    .. [2] Wilson EB. Probable inference, the law of succession, and
       statistical inference. J Am Stat Assoc. 1927;22:209-212.
    """
    p1, l1, u1 = proportion_ci(k1, n1, "wilson", alpha)
    p2, l2, u2 = proportion_ci(k2, n2, "wilson", alpha)
    difference = p1 - p2
    lower = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return difference, lower, upper


def compare_proportions(k1, n1, k2, n2, alpha=0.05) -> ProportionDifference:
    """Group 1 versus group 2: Newcombe difference, Fisher's exact p and the conditional-MLE odds ratio.

    Parameters
    ----------
    k1, n1, k2, n2, alpha
        As :func:`newcombe_difference`.

    Returns
    -------
    ProportionDifference
        Proportions, their difference with the Newcombe interval, the
        two-sided Fisher p and the conditional maximum-likelihood odds ratio
        (odds in group 1 over odds in group 2) with its exact conditional
        interval (R ``fisher.test``; NaN when the margins allow one table only).

    Raises
    ------
    ValueError
        For invalid counts, ``k > n`` or a zero denominator.

    References
    ----------
    .. [1] Newcombe RG. Statistics in Medicine. 1998;17:873-890.
    .. [2] Fisher RA. J R Stat Soc. 1922;85:87-94.
    .. [3] R Core Team. ``fisher.test``, package stats.
    """
    difference, lower, upper = newcombe_difference(k1, n1, k2, n2, alpha)
    fisher = compare_rates(k1, n1, k2, n2, alpha)
    return ProportionDifference(int(k1), int(n1), int(k2), int(n2), k1 / n1, k2 / n2, difference, lower, upper,
                                fisher.p_value, fisher.odds_ratio, fisher.odds_ratio_lower, fisher.odds_ratio_upper)
