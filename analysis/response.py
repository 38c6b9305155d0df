"""Tumour response statistics: rates with confidence intervals and exact tests.

Pure functions on pandas/numpy data; results agree with base R (``binom.test``,
``prop.test``, ``qbeta``, ``fisher.test``, ``p.adjust``) to a relative
tolerance of 1e-6 (see ``tests/reference/response_reference.R``).

Conventions
-----------
* One row per treated patient; ``best_response`` is one of ``"CR"``, ``"PR"``,
  ``"SD"``, ``"PD"`` (RECIST best overall response) or missing (NaN/None, or
  the RECIST label ``"NE"``), which means *not evaluable*. Labels are
  matched after stripping whitespace, case-insensitively; any other label
  raises ``ValueError`` naming it.
* ORR (objective response rate) counts CR + PR; DCR (disease control rate)
  counts CR + PR + SD.
* ``denominator="all"``: all treated patients (not evaluable = non-responder,
  the intention-to-treat convention). ``denominator="evaluable"``: patients
  with a response assessment only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import betaln, gammaln

from analysis.methods import CI_METHODS
from analysis.multiplicity import adjust_pvalues

__all__ = [
    "CI_METHODS",
    "DENOMINATORS",
    "ENDPOINTS",
    "RESPONSE_CATEGORIES",
    "FisherResult",
    "RateComparison",
    "adjust_pvalues",
    "compare_rates",
    "fisher_test",
    "normalise_best_response",
    "proportion_ci",
    "response_comparison",
    "response_table",
    "subgroup_rates",
]

RESPONSE_CATEGORIES = ("CR", "PR", "SD", "PD")
NOT_EVALUABLE_LABELS = ("NE",)
#: denominator option -> label shown in tables
DENOMINATORS = {"all": "all treated", "evaluable": "evaluable"}
#: endpoint -> response categories counted as events
ENDPOINTS = {"orr": ("CR", "PR"), "dcr": ("CR", "PR", "SD")}

ALL_LABEL = "All"
MISSING_LABEL = "Missing"

_EPS = np.finfo(float).eps
# R fisher.test (2 x 2): tables with density <= observed * (1 + 1e-7) count.
_R_2X2_REL_ERR = 1.0 + 1e-7
# R FEXACT (r x c): tolerance on the log-probability scale.
_R_FEXACT_LOG_TOL = 3.45254e-7
# Log masses closer than this are merged as ties in the r x 2 enumeration.
_MERGE_LOG_TOL = 1e-9
# Safety cap on partial tables the r x 2 enumeration may hold or create in one step
# (checked before allocating, so an infeasible table fails in milliseconds, as R's FEXACT does).
_MAX_OPEN_TABLES = 1_000_000


class ExactTestTooLarge(RuntimeError):
    """The exact r x 2 enumeration would exceed its memory and time budget."""


# --------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------
def _as_count(value, name):
    """Return `value` as a non-negative int or raise ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if isinstance(value, Integral):
        count = int(value)
    else:
        if not math.isfinite(value) or not float(value).is_integer():
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        count = int(value)
    if count < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return count


def _check_alpha(alpha):
    if not isinstance(alpha, Real) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number strictly between 0 and 1, got {alpha!r}")
    return float(alpha)


def _check_option(value, allowed, name):
    key = str(value).lower()
    if key not in allowed:
        raise ValueError(f"unknown {name} {value!r}; expected one of {list(allowed)}")
    return key


def _check_columns(df, columns):
    missing = [col for col in columns if col not in df.columns]
    if missing:
        raise ValueError(f"column(s) not found in data: {missing}")


# --------------------------------------------------------------------------
# Single proportion
# --------------------------------------------------------------------------
def proportion_ci(k, n, method="clopper-pearson", alpha=0.05):
    """Estimate a binomial proportion with a two-sided confidence interval.

    Parameters
    ----------
    k : int
        Number of patients with the event (e.g. responders).
    n : int
        Number of patients in the denominator; must be positive.
    method : {"clopper-pearson", "wilson", "jeffreys"}, default "clopper-pearson"
        Interval method, see Notes.
    alpha : float, default 0.05
        Two-sided error rate; the confidence level is ``1 - alpha``.

    Returns
    -------
    tuple of float
        ``(estimate, lower, upper)`` with ``estimate = k / n``.

    Raises
    ------
    ValueError
        ``"no patients in the denominator"`` when ``n == 0``; also when `k`
        or `n` is negative or not an integer, ``k > n``, `alpha` is not in
        (0, 1) or `method` is unknown.

    Notes
    -----
    * ``"clopper-pearson"``: exact interval from beta quantiles,
      ``Beta(alpha/2; k, n-k+1)`` and ``Beta(1-alpha/2; k+1, n-k)``, with
      lower = 0 when k = 0 and upper = 1 when k = n. Equals R
      ``binom.test(k, n, conf.level = 1 - alpha)$conf.int``.
    * ``"wilson"``: score interval without continuity correction, equal to
      R ``prop.test(k, n, correct = FALSE)$conf.int``.
    * ``"jeffreys"``: equal-tailed interval of the Beta(k + 1/2, n - k + 1/2)
      posterior (Jeffreys prior), with the Brown, Cai & DasGupta (2001)
      boundary modification: lower = 0 when k = 0 and upper = 1 when k = n.

    References
    ----------
    .. [1] Clopper, C. J. and Pearson, E. S. (1934). The use of confidence or
       fiducial limits illustrated in the case of the binomial. Biometrika,
       26(4), 404-413.
    .. [2] Wilson, E. B. (1927). Probable inference, the law of succession,
       and statistical inference. Journal of the American Statistical
       Association, 22(158), 209-212.
    .. [3] Brown, L. D., Cai, T. T. and DasGupta, A. (2001). Interval
       estimation for a binomial proportion. Statistical Science, 16(2),
       101-133.

    Examples
    --------
    >>> est, lo, hi = proportion_ci(7, 28)
    >>> f"{100 * est:.1f}% ({100 * lo:.1f}-{100 * hi:.1f})"
    '25.0% (10.7-44.9)'
    """
    k = _as_count(k, "k")
    n = _as_count(n, "n")
    method = _check_option(method, CI_METHODS, "confidence interval method")
    alpha = _check_alpha(alpha)
    if n == 0:
        raise ValueError("no patients in the denominator")
    if k > n:
        raise ValueError(f"k ({k}) cannot exceed n ({n})")

    estimate = k / n
    if method == "clopper-pearson":
        lower = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
        upper = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    elif method == "jeffreys":
        lower = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k + 0.5, n - k + 0.5))
        upper = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 0.5, n - k + 0.5))
    else:
        lower, upper = _wilson_interval(k, n, alpha)
    return estimate, lower, upper


def _proportion_cis(k, n, method, alpha):
    """:func:`proportion_ci` for many count pairs at once, with the same results.

    Parameters are arrays of counts already checked (``0 <= k <= n``, ``n >
    0``), a lower-case `method` and a checked `alpha`. Returns a dict
    ``{(k, n): (estimate, lower, upper)}``: the beta quantiles of all pairs
    come from one vectorised call, which evaluates the same function per
    element as the scalar calls.
    """
    pairs = sorted(set(zip(np.asarray(k, dtype=np.int64).tolist(), np.asarray(n, dtype=np.int64).tolist())))
    if not pairs:
        return {}
    k = np.array([pair[0] for pair in pairs], dtype=np.int64)
    n = np.array([pair[1] for pair in pairs], dtype=np.int64)
    estimate = k / n
    if method == "wilson":
        lower, upper = _wilson_interval(k, n, alpha, np)
    else:
        if method == "clopper-pearson":
            lower_a, lower_b, upper_a, upper_b = k, n - k + 1, k + 1, n - k
        else:  # jeffreys
            lower_a = upper_a = k + 0.5
            lower_b = upper_b = n - k + 0.5
        lower, upper = np.zeros(len(pairs)), np.ones(len(pairs))
        has_lower, has_upper = k > 0, k < n
        if has_lower.any():
            lower[has_lower] = stats.beta.ppf(alpha / 2, lower_a[has_lower], lower_b[has_lower])
        if has_upper.any():
            upper[has_upper] = stats.beta.ppf(1 - alpha / 2, upper_a[has_upper], upper_b[has_upper])
    return {pair: (float(e), float(lo), float(hi))
            for pair, e, lo, hi in zip(pairs, estimate, lower, upper)}


def _wilson_interval(k, n, alpha, xp=None):
    """Score interval, written as in R prop.test(correct = FALSE).

    Scalars, or arrays of counts when `xp` is numpy (same arithmetic).
    """
    z = stats.norm.ppf(1 - alpha / 2)
    p_hat = k / n
    z22n = z**2 / (2 * n)
    if xp is None:
        spread = z * math.sqrt(p_hat * (1 - p_hat) / n + z22n / (2 * n))
        upper = 1.0 if p_hat >= 1 else (p_hat + z22n + spread) / (1 + 2 * z22n)
        lower = 0.0 if p_hat <= 0 else (p_hat + z22n - spread) / (1 + 2 * z22n)
        return max(lower, 0.0), min(upper, 1.0)
    spread = z * xp.sqrt(p_hat * (1 - p_hat) / n + z22n / (2 * n))
    upper = xp.where(p_hat >= 1, 1.0, (p_hat + z22n + spread) / (1 + 2 * z22n))
    lower = xp.where(p_hat <= 0, 0.0, (p_hat + z22n - spread) / (1 + 2 * z22n))
    return xp.maximum(lower, 0.0), xp.minimum(upper, 1.0)


# --------------------------------------------------------------------------
# Fisher's exact test
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class FisherResult:
    """Result of :func:`fisher_test` / :func:`compare_rates`.

    Attributes
    ----------
    p_value : float
        Two-sided exact p-value.
    odds_ratio : float
        Conditional maximum likelihood odds ratio (2 x 2 only, else NaN).
    odds_ratio_lower, odds_ratio_upper : float
        Exact conditional confidence interval for the odds ratio (2 x 2 only).
    """

    p_value: float
    odds_ratio: float = math.nan
    odds_ratio_lower: float = math.nan
    odds_ratio_upper: float = math.nan


def fisher_test(table, alpha=0.05):
    """Fisher's exact test for a 2 x 2 or r x 2 contingency table.

    Parameters
    ----------
    table : array_like of int, shape (r, 2) or (2, c)
        Counts; for response data one row per group with columns
        ``[responders, non-responders]``. A 2 x c table is transposed.
    alpha : float, default 0.05
        Two-sided error rate of the odds-ratio interval (2 x 2 only).

    Returns
    -------
    FisherResult
        Two-sided p-value and, for 2 x 2 tables, the conditional MLE of the
        odds ratio ``(a d) / (b c)`` of the table ``[[a, b], [c, d]]`` with
        its exact conditional confidence interval.

    Raises
    ------
    ValueError
        If the table has negative or non-integer entries or neither
        dimension equals 2.
    RuntimeError
        If an r x 2 table is too large for exact enumeration.

    Notes
    -----
    The p-value is the total probability, under the hypergeometric null with
    all margins fixed, of the tables no more probable than the observed one.
    As in R, "no more probable" allows a small relative tolerance so that
    numerically tied tables count: ``1e-7`` for 2 x 2 tables (R
    ``fisher.test``) and ``3.45254e-7`` on the log scale for larger tables
    (R's FEXACT network algorithm). Larger r x 2 tables are evaluated here
    by a network-style enumeration over the rows: a partial table is
    summed in closed form (Vandermonde's identity) once all its completions
    are known to be at least as extreme, and dropped once none can be.

    The odds ratio and its interval follow R ``fisher.test`` exactly,
    including its root finder (Brent's zeroin, tolerance
    ``eps**0.25``), so estimates agree with R to floating-point accuracy.
    Deliberate deviation: when the margins allow a single table (e.g. no
    responder in either group) the odds ratio is not estimable and NaN is
    returned, whereas R reports 0 with interval (0, Inf).

    References
    ----------
    .. [1] Fisher, R. A. (1922). On the interpretation of chi-square from
       contingency tables, and the calculation of P. Journal of the Royal
       Statistical Society, 85(1), 87-94.
    .. [2] Mehta, C. R. and Patel, N. R. (1983). A network algorithm for
       performing Fisher's exact test in r x c contingency tables. Journal
       of the American Statistical Association, 78(382), 427-434.
    .. [3] R Core Team. ``fisher.test``, package stats.
    .. [4] Forsythe, G. E., Malcolm, M. A. and Moler, C. B. (1977). Computer
       Methods for Mathematical Computations, Prentice-Hall (zeroin).
    """
    counts = _as_count_table(table)
    alpha = _check_alpha(alpha)
    if counts.shape == (2, 2):
        return _fisher_2x2(counts, alpha)
    return FisherResult(p_value=_fisher_rx2_pvalue(counts))


def compare_rates(k1, n1, k2, n2, alpha=0.05):
    """Compare two proportions ``k1/n1`` and ``k2/n2`` by Fisher's exact test.

    Parameters
    ----------
    k1, n1 : int
        Events and denominator of the first group.
    k2, n2 : int
        Events and denominator of the second group.
    alpha : float, default 0.05
        Two-sided error rate of the odds-ratio interval.

    Returns
    -------
    FisherResult
        Two-sided p-value and the odds ratio of group 1 versus group 2
        (odds of the event in group 1 divided by those in group 2).

    Raises
    ------
    ValueError
        For invalid counts, ``k > n`` or a zero denominator.

    References
    ----------
    .. [1] Fisher, R. A. (1922). On the interpretation of chi-square from
       contingency tables, and the calculation of P. Journal of the Royal
       Statistical Society, 85(1), 87-94.
    .. [2] R Core Team. ``fisher.test``, package stats.
    """
    k1, n1 = _as_count(k1, "k1"), _as_count(n1, "n1")
    k2, n2 = _as_count(k2, "k2"), _as_count(n2, "n2")
    if k1 > n1 or k2 > n2:
        raise ValueError(f"events cannot exceed the denominator ({k1}/{n1}, {k2}/{n2})")
    if n1 == 0 or n2 == 0:
        raise ValueError("no patients in the denominator")
    return fisher_test([[k1, n1 - k1], [k2, n2 - k2]], alpha=alpha)


def _as_count_table(table):
    raw = np.asarray(table, dtype=float)
    if raw.ndim != 2 or 2 not in raw.shape or min(raw.shape) < 2:
        raise ValueError(
            f"Fisher's exact test needs an r x 2 (or 2 x c) table, got shape {raw.shape}"
        )
    if not np.all(np.isfinite(raw)) or np.any(raw < 0) or np.any(raw != np.round(raw)):
        raise ValueError("table entries must be non-negative integers")
    counts = raw.astype(np.int64)
    return counts if counts.shape[1] == 2 else counts.T


#: Below max - this many nats a density is exactly 0 once exponentiated (exp(-745) is the smallest double).
_UNDERFLOW_NATS = 800.0
#: Supports shorter than this are always evaluated whole.
_WINDOW_MIN_SUPPORT = 2_000


def _hypergeom_logpmf(x, total: int, m: int, k: int) -> np.ndarray:
    """``scipy.stats.hypergeom.logpmf(x, total, m, k)`` for ``x`` inside the support, by scipy's own formula.

    The same ``betaln`` terms in the same order as scipy's ``hypergeom._logpmf``, so the same doubles, without
    the argument checks of ``rv_discrete.logpmf`` (about 3 ms a call; a subgroup table makes dozens). One
    difference: for the empty table (``total == 0``) this gives log 1 = 0, the one table there is, where scipy
    gives nan; so an all-zero 2 x 2 table has p = 1, as R's ``fisher.test`` says.

    References
    ----------
    .. [1] Virtanen P et al. SciPy 1.0: fundamental algorithms for scientific computing in Python. Nat Methods
       2020;17:261-72 (``scipy.stats.hypergeom``).
    """
    x = np.asarray(x)
    bad = total - m
    return (betaln(m + 1, 1) + betaln(bad + 1, 1) + betaln(total - k + 1, k + 1)
            - betaln(x + 1, m - x + 1) - betaln(k - x + 1, bad - k + x + 1)
            - betaln(total + 1, 1))


def _null_support(lo: int, hi: int, m: int, n: int, k: int) -> np.ndarray:
    """Tables of the 2 x 2 null distribution whose density can be non-zero in double precision.

    The hypergeometric density is log-concave, so it falls monotonically on
    either side of its mode; a window around the mode whose two edges are
    already more than :data:`_UNDERFLOW_NATS` below the mode holds every
    table whose normalised density is not exactly 0. Outside it the whole
    support is used. A registry-size table (support of 50,000 values)
    then costs a few thousand density evaluations instead of all of them.
    """
    if hi - lo < _WINDOW_MIN_SUPPORT:
        return np.arange(lo, hi + 1)
    total = m + n
    mode = min(hi, max(lo, (k + 1) * (m + 1) // (total + 2)))
    sd = math.sqrt(k * (m / total) * (n / total) * (total - k) / max(total - 1, 1))
    half = int(math.ceil(60 * sd)) + 10
    start, stop = max(lo, mode - half), min(hi, mode + half)
    edges = [v for v in (start, stop) if v not in (lo, hi)]
    if edges:
        log_mode = _hypergeom_logpmf(mode, total, m, k)
        if np.any(_hypergeom_logpmf(edges, total, m, k) > log_mode - _UNDERFLOW_NATS):
            return np.arange(lo, hi + 1)
    return np.arange(start, stop + 1)


def _fisher_2x2(counts, alpha, with_odds_ratio=True):
    """2 x 2 test written as R fisher.test (p-value, conditional MLE, CI).

    Without the odds ratio only the null distribution is needed, evaluated
    on :func:`_null_support` (the same p-value to rounding).
    """
    x = int(counts[0, 0])
    m = int(counts[:, 0].sum())  # first column total
    n = int(counts[:, 1].sum())  # second column total
    k = int(counts[0, :].sum())  # first row total
    lo, hi = max(0, k - n), min(k, m)
    if not with_odds_ratio:
        support = _null_support(lo, hi, m, n, k)
        if not support[0] <= x <= support[-1]:
            return FisherResult(p_value=0.0)  # x's own density underflows: nothing is as improbable
        d_null = _hypergeom_logpmf(support, m + n, m, k)
        d_null = np.exp(d_null - d_null.max())
        d_null /= d_null.sum()
        return FisherResult(p_value=min(1.0, float(d_null[d_null <= d_null[x - support[0]] * _R_2X2_REL_ERR].sum())))
    support = np.arange(lo, hi + 1)
    log_density = _hypergeom_logpmf(support, m + n, m, k)

    def density(ncp):
        d = log_density + math.log(ncp) * support
        d = np.exp(d - d.max())
        return d / d.sum()

    def mean(ncp):
        if ncp == 0:
            return lo
        if ncp == math.inf:
            return hi
        return float(np.sum(support * density(ncp)))

    def tail(ncp, upper_tail):
        if ncp == 1:
            if upper_tail:
                return float(stats.hypergeom.sf(x - 1, m + n, m, k))
            return float(stats.hypergeom.cdf(x, m + n, m, k))
        if ncp == 0:
            return float(x <= lo) if upper_tail else float(x >= lo)
        if ncp == math.inf:
            return float(x <= hi) if upper_tail else float(x >= hi)
        d = density(ncp)
        return float(d[support >= x].sum() if upper_tail else d[support <= x].sum())

    d_null = density(1.0)
    p_value = float(d_null[d_null <= d_null[x - lo] * _R_2X2_REL_ERR].sum())
    p_value = min(1.0, p_value)

    # a single possible table leaves the odds ratio not estimable
    if lo == hi:
        return FisherResult(p_value=p_value)

    # conditional MLE solves E[X | ncp] = x
    if x == lo:
        odds_ratio = 0.0
    elif x == hi:
        odds_ratio = math.inf
    else:
        odds_ratio = _ncp_root(mean, x, increasing=True)
    # interval ends solve P(X >= x | ncp) = alpha/2 and P(X <= x | ncp) = alpha/2
    half_alpha = alpha / 2
    lower = 0.0 if x == lo else _ncp_root(lambda t: tail(t, True), half_alpha, increasing=True)
    upper = math.inf if x == hi else _ncp_root(lambda t: tail(t, False), half_alpha, increasing=False)
    return FisherResult(p_value, odds_ratio, lower, upper)


def _ncp_root(func, target, increasing):
    """Solve func(ncp) = target as R fisher.test does.

    The root is searched on (0, 1) when it lies below 1, otherwise as 1/t
    with t on (eps, 1).
    """
    at_one = func(1.0)
    if at_one == target:
        return 1.0
    if (at_one > target) == increasing:
        return _r_uniroot(lambda t: func(t) - target, 0.0, 1.0)
    return 1.0 / _r_uniroot(lambda t: func(1.0 / t) - target, _EPS, 1.0)


def _r_uniroot(func, lower, upper, tol=_EPS**0.25, max_iter=1000):
    """Brent-Dekker zero finder with R ``uniroot`` defaults.

    Forsythe-Malcolm-Moler *zeroin* (as used by R's ``uniroot``): secant /
    inverse quadratic interpolation safeguarded by bisection, stopping when
    the bracket half-width falls below ``2 eps |b| + tol / 2``. Re-using
    R's algorithm and tolerance makes the odds-ratio estimates agree with
    R beyond the (loose) tolerance itself.
    """
    a, b = lower, upper
    fa, fb = func(a), func(b)
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    c, fc = a, fa
    for _ in range(max_iter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):  # keep b as the best approximation
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * _EPS * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # secant
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:  # inverse quadratic interpolation
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = func(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def _log_choose(n, k):
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def _fisher_rx2_pvalue(counts):
    """Exact two-sided p-value for an r x 2 table (rows = groups).

    Under the null the first-column counts follow a multivariate
    hypergeometric law: P(x) = prod_i C(n_i, x_i) / C(N, m).
    """
    row_totals = counts.sum(axis=1)
    observed = counts[:, 0]
    m = int(observed.sum())
    total = int(row_totals.sum())
    if m == 0 or m == total:
        return 1.0
    # The bound arrays below cost about sum_j (n_j + 1) * (m + 1) operations: refuse early when
    # that alone is beyond the budget (R's FEXACT gives up at once on such tables too).
    if float(np.sum((row_totals + 1.0) * (m + 1.0))) > _MAX_OPEN_TABLES * 20:
        raise ExactTestTooLarge("table too large for exact enumeration of Fisher's test")

    # larger rows first: p-value is invariant to row order, pruning is not
    by_size = np.argsort(-row_totals, kind="stable")
    row_totals, observed = row_totals[by_size], observed[by_size]
    n_rows = len(row_totals)
    log_terms = [_log_choose(n_i, np.arange(n_i + 1)) for n_i in row_totals]
    threshold = float(sum(terms[x] for terms, x in zip(log_terms, observed))) + _R_FEXACT_LOG_TOL
    log_norm = float(_log_choose(total, m))

    # suffix_room[j]: patients in rows j..r-1; best/worst log mass of rows j..
    # that place t responders (max-plus / min-plus convolutions).
    suffix_room = np.append(np.cumsum(row_totals[::-1])[::-1], 0)
    best = [None] * (n_rows + 1)
    worst = [None] * (n_rows + 1)
    best[n_rows] = np.array([0.0])
    worst[n_rows] = np.array([0.0])
    for j in range(n_rows - 1, -1, -1):
        size = min(m, int(suffix_room[j])) + 1
        hi_vals = np.full(size, -np.inf)
        lo_vals = np.full(size, np.inf)
        next_best, next_worst = best[j + 1], worst[j + 1]
        for x_j, term in enumerate(log_terms[j][: size]):
            span = min(len(next_best), size - x_j)
            hi_vals[x_j : x_j + span] = np.maximum(hi_vals[x_j : x_j + span], term + next_best[:span])
            lo_vals[x_j : x_j + span] = np.minimum(lo_vals[x_j : x_j + span], term + next_worst[:span])
        best[j], worst[j] = hi_vals, lo_vals

    p_value = 0.0
    placed = np.array([0])  # responders placed in rows before j
    mass = np.array([0.0])  # log mass of those rows
    paths = np.array([1.0])  # partial tables merged into this state
    for j in range(n_rows + 1):
        needed = m - placed
        all_extreme = mass + best[j][needed] <= threshold
        if np.any(all_extreme):
            # every completion counts: sum them with Vandermonde's identity
            completion = _log_choose(suffix_room[j], needed[all_extreme])
            p_value += float(np.sum(paths[all_extreme]
                                    * np.exp(mass[all_extreme] + completion - log_norm)))
        undecided = ~all_extreme & (mass + worst[j][needed] <= threshold)
        placed, mass, paths = placed[undecided], mass[undecided], paths[undecided]
        if j == n_rows or placed.size == 0:
            break
        x_j = np.arange(row_totals[j] + 1)
        if placed.size * x_j.size > _MAX_OPEN_TABLES:
            raise ExactTestTooLarge("table too large for exact enumeration of Fisher's test")
        placed = (placed[:, None] + x_j[None, :]).ravel()
        mass = (mass[:, None] + log_terms[j][None, :]).ravel()
        paths = np.repeat(paths, len(x_j))
        feasible = (placed <= m) & (m - placed <= suffix_room[j + 1])
        placed, mass, paths = _merge_states(placed[feasible], mass[feasible], paths[feasible])
    return min(1.0, p_value)


def _merge_states(placed, mass, paths):
    """Merge partial tables with equal responders placed and equal log mass.

    Log masses equal to within ``_MERGE_LOG_TOL`` are treated as ties (as
    FEXACT merges past path lengths); this keeps the enumeration small
    when groups have equal sizes.
    """
    if placed.size < 2:
        return placed, mass, paths
    mass_key = np.rint(mass / _MERGE_LOG_TOL).astype(np.int64)
    order = np.lexsort((mass_key, placed))
    placed, mass, paths, mass_key = placed[order], mass[order], paths[order], mass_key[order]
    starts = np.flatnonzero(np.r_[True, (np.diff(placed) != 0) | (np.diff(mass_key) != 0)])
    return placed[starts], mass[starts], np.add.reduceat(paths, starts)


# --------------------------------------------------------------------------
# Response data
# --------------------------------------------------------------------------
def normalise_best_response(values):
    """Map best-response labels to ``CR/PR/SD/PD`` or missing.

    Parameters
    ----------
    values : array_like or pandas.Series
        Raw labels. Missing values and ``"NE"`` mean not evaluable;
        whitespace and case are ignored.

    Returns
    -------
    pandas.Series
        Object series with values in :data:`RESPONSE_CATEGORIES` or None,
        same index as `values` when it is a Series.

    Raises
    ------
    ValueError
        Naming the first unknown label(s).
    """
    series, codes = _response_codes(values)
    normalised = _RESPONSE_BY_CODE[codes]
    return pd.Series(normalised, index=series.index, dtype=object, name=series.name)


#: response code -> normalised label (code 4 = not evaluable)
_RESPONSE_BY_CODE = np.array(list(RESPONSE_CATEGORIES) + [None], dtype=object)
_NOT_EVALUABLE_CODE = len(RESPONSE_CATEGORIES)
_N_RESPONSE_CODES = len(RESPONSE_CATEGORIES) + 1


def _response_codes(values):
    """``(series, codes)``: `values` as a Series and one int code per patient.

    Codes 0-3 index :data:`RESPONSE_CATEGORIES`; 4 means not evaluable.
    Each distinct raw label is normalised once (labels are factorised first),
    so the cost does not grow with a Python loop over patients.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    if isinstance(series.dtype, pd.CategoricalDtype):
        raw_codes = series.cat.codes.to_numpy()
        categories = series.cat.categories
        used = np.bincount(raw_codes[raw_codes >= 0], minlength=len(categories)) > 0
        uniques = np.asarray(categories, dtype=object)
    else:
        raw_codes, uniques = pd.factorize(series.to_numpy(dtype=object))
        uniques = np.asarray(uniques, dtype=object)
        used = np.ones(len(uniques), dtype=bool)
    # code of each distinct label; the extra last entry is for missing values
    unique_codes = np.full(len(uniques) + 1, _NOT_EVALUABLE_CODE, dtype=np.int8)
    unknown = np.zeros(len(uniques), dtype=bool)
    for index, value in enumerate(uniques):
        if not used[index]:
            continue
        label = str(value).strip().upper()
        if label in RESPONSE_CATEGORIES:
            unique_codes[index] = RESPONSE_CATEGORIES.index(label)
        elif label not in NOT_EVALUABLE_LABELS:
            unknown[index] = True
    if unknown.any():
        raw = series.to_numpy(dtype=object)
        bad_rows = np.zeros(len(raw), dtype=bool)
        valid = raw_codes >= 0
        bad_rows[valid] = unknown[raw_codes[valid]]
        bad = list(dict.fromkeys(raw[bad_rows].tolist()))[:5]
        raise ValueError(
            f"unknown best_response value(s) {bad}; expected one of "
            f"{list(RESPONSE_CATEGORIES)} or missing/'NE' (not evaluable)"
        )
    # raw code -1 (missing) picks the last entry
    return series, unique_codes[raw_codes]


def _group_levels(column):
    """Ordered group labels of `column`, with missing values as "Missing"."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        levels = list(column.cat.categories)
    else:
        levels = sorted(column.dropna().unique().tolist(), key=_sort_key)
    labels = column.astype(object).where(column.notna(), MISSING_LABEL)
    if column.isna().any():
        levels.append(MISSING_LABEL)
    return levels, labels


def _group_index(column):
    """Levels of `column` as :func:`_group_levels`, with the level of each row.

    Returns ``(levels, row_level, members_of)``: `row_level[i]` is the index
    in `levels` of row i (missing values: the ``"Missing"`` level) and the
    rows of level ``j`` are those with ``row_level == members_of[j]``. The
    two differ only when ``"Missing"`` is also an actual value of a column
    with missing values: both levels then hold the rows of either, as the
    label comparison ``labels == level`` of :func:`_group_levels` gives.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        levels = list(column.cat.categories)
        row_level = column.cat.codes.to_numpy().astype(np.intp)
    else:
        codes, uniques = pd.factorize(column)
        uniques = uniques.tolist()
        order = sorted(range(len(uniques)), key=lambda i: _sort_key(uniques[i]))
        levels = [uniques[i] for i in order]
        position = np.empty(len(uniques) + 1, dtype=np.intp)
        position[order] = np.arange(len(uniques))
        position[-1] = -1
        row_level = position[codes]
    members_of = np.arange(len(levels) + 1)
    missing = row_level < 0
    if missing.any():
        missing_index = len(levels)
        for index, level in enumerate(levels):
            if isinstance(level, str) and level == MISSING_LABEL:
                missing_index = index
                members_of[len(levels)] = index
                break
        row_level = np.where(missing, missing_index, row_level)
        levels.append(MISSING_LABEL)
    return levels, row_level, members_of[: len(levels)]


def _counts_by_level(row_level, members_of, weights=None):
    """Rows (or summed `weights`) of each level, per :func:`_group_index`."""
    counts = np.bincount(row_level, weights=weights, minlength=len(members_of))
    return counts[members_of]


def _row_weights(df, count_col):
    """Patients each row stands for: 1, or the whole numbers of `count_col` (a table of counts)."""
    if count_col is None:
        return None
    _check_columns(df, [count_col])
    weights = pd.to_numeric(df[count_col], errors="coerce").to_numpy(dtype=float)
    if np.isnan(weights).any() or (weights < 0).any() or np.any(weights != np.rint(weights)):
        raise ValueError(f"{count_col} must hold non-negative whole numbers of patients")
    return weights


def _bincount(values, weights, minlength):
    counts = np.bincount(values, weights=weights, minlength=minlength)
    return counts if weights is None else np.rint(counts).astype(np.int64)


def _sort_key(value):
    # numbers before strings, each in natural order
    return (0, value, "") if isinstance(value, Real) else (1, 0, str(value))


def _summarise_responses(code_counts, denominator, cis):
    """One response_table row (without the group label).

    `code_counts`: patients per response code (CR, PR, SD, PD, not evaluable);
    `cis`: intervals by (events, denominator), see :func:`_proportion_cis`.
    """
    counts = {cat: int(code_counts[code]) for code, cat in enumerate(RESPONSE_CATEGORIES)}
    n_treated = int(code_counts.sum())
    n_evaluable = n_treated - int(code_counts[_NOT_EVALUABLE_CODE])
    used = n_treated if denominator == "all" else n_evaluable
    row = {
        "n_treated": n_treated,
        "n_evaluable": n_evaluable,
        "n_not_evaluable": n_treated - n_evaluable,
        **counts,
        "denominator": used,
        "denominator_label": DENOMINATORS[denominator],
    }
    for endpoint, categories in ENDPOINTS.items():
        events = sum(counts[cat] for cat in categories)
        if used > 0:
            rate, lower, upper = cis[(events, used)]
        else:
            rate = lower = upper = math.nan
        row.update({
            f"{endpoint}_count": events,
            endpoint: rate,
            f"{endpoint}_lower": lower,
            f"{endpoint}_upper": upper,
        })
    row["note"] = _empty_denominator_note(n_treated, used, denominator)
    return row


def _empty_denominator_note(n_treated, used, denominator):
    if used > 0:
        return ""
    if n_treated == 0:
        return "no treated patients in this group"
    return "no evaluable patients (all not evaluable)"


RESPONSE_TABLE_COLUMNS = [
    "group", "n_treated", "n_evaluable", "n_not_evaluable",
    "CR", "PR", "SD", "PD", "denominator", "denominator_label",
    "orr_count", "orr", "orr_lower", "orr_upper",
    "dcr_count", "dcr", "dcr_lower", "dcr_upper", "note",
]


def response_table(df, group_col=None, response_col="best_response", denominator="all",
                   method="clopper-pearson", alpha=0.05, count_col=None):
    """Best-response counts with ORR and DCR and their confidence intervals.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per treated patient.
    group_col : str, optional
        Column defining the groups (e.g. treatment arm). Missing values form
        a ``"Missing"`` group; unused categories of a categorical column give
        rows with a zero denominator.
    response_col : str, default "best_response"
        Best overall response, see the module conventions.
    denominator : {"all", "evaluable"}, default "all"
        ``"all"``: all treated patients (not evaluable = non-responder);
        ``"evaluable"``: patients with a response only.
    method : {"clopper-pearson", "wilson", "jeffreys"}, default "clopper-pearson"
        Confidence interval, see :func:`proportion_ci`.
    alpha : float, default 0.05
        Two-sided error rate of the intervals.
    count_col : str, optional
        Rows are counts, not patients: the column holding the patients of
        each (group, response) row (e.g. a database ``GROUP BY``). The result
        is the same as on the patients.

    Returns
    -------
    pandas.DataFrame
        One row per group in group order, plus a final ``"All"`` row when
        grouped (a single ``"All"`` row otherwise), with columns
        ``group, n_treated, n_evaluable, n_not_evaluable, CR, PR, SD, PD,
        denominator, denominator_label, orr_count, orr, orr_lower, orr_upper,
        dcr_count, dcr, dcr_lower, dcr_upper, note``. Rates are proportions
        in [0, 1]. A zero denominator gives NaN rates and a `note`
        explaining why; `note` is empty otherwise.

    Raises
    ------
    ValueError
        For unknown response labels (naming them), missing columns or
        invalid options.

    References
    ----------
    .. [1] Eisenhauer, E. A. et al. (2009). New response evaluation criteria
       in solid tumours: revised RECIST guideline (version 1.1). European
       Journal of Cancer, 45(2), 228-247.
    .. [2] Clopper, C. J. and Pearson, E. S. (1934). Biometrika, 26(4),
       404-413.
    """
    denominator = _check_option(denominator, DENOMINATORS, "denominator")
    method = _check_option(method, CI_METHODS, "confidence interval method")
    alpha = _check_alpha(alpha)
    _check_columns(df, [response_col] + ([group_col] if group_col is not None else []))
    _, codes = _response_codes(df[response_col])
    weights = _row_weights(df, count_col)

    groups = []
    counts = []
    if group_col is not None:
        # one pass: patients per (group, response code)
        levels, row_level, members_of = _group_index(df[group_col])
        by_group = _bincount(row_level * _N_RESPONSE_CODES + codes, weights,
                             minlength=len(levels) * _N_RESPONSE_CODES)
        by_group = by_group.reshape(len(levels), _N_RESPONSE_CODES)
        groups += levels
        counts += [by_group[members_of[index]] for index in range(len(levels))]
    groups.append(ALL_LABEL)
    counts.append(_bincount(codes, weights, minlength=_N_RESPONSE_CODES))
    counts = np.array(counts, dtype=np.int64).reshape(-1, _N_RESPONSE_CODES)
    used = counts.sum(axis=1) - (0 if denominator == "all" else counts[:, _NOT_EVALUABLE_CODE])
    events = [counts[:, [RESPONSE_CATEGORIES.index(cat) for cat in categories]].sum(axis=1)
              for categories in ENDPOINTS.values()]
    positive = used > 0
    cis = _proportion_cis(np.concatenate([count[positive] for count in events]),
                          np.tile(used[positive], len(events)), method, alpha)
    rows = [{"group": group, **_summarise_responses(row_counts, denominator, cis)}
            for group, row_counts in zip(groups, counts)]
    table = pd.DataFrame(rows, columns=RESPONSE_TABLE_COLUMNS)
    table.attrs.update({"ci_method": method, "alpha": alpha})
    return table


# --------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class RateComparison:
    """Result of :func:`response_comparison`.

    Attributes
    ----------
    endpoint : str
        ``"orr"`` or ``"dcr"``.
    denominator_label : str
        ``"all treated"`` or ``"evaluable"``.
    groups : tuple
        Groups entering the test, in table order.
    events, denominators : tuple of int
        Responders and denominators per group.
    test : str
        Description of the test performed (empty when no test was possible).
    p_value : float
        Two-sided exact p-value (NaN when no test was possible).
    odds_ratio, odds_ratio_lower, odds_ratio_upper : float
        First versus second group (two groups only; else NaN).
    note : str
        Why groups were left out or no test was done; empty otherwise.
    """

    endpoint: str
    denominator_label: str
    groups: tuple
    events: tuple
    denominators: tuple
    test: str
    p_value: float
    odds_ratio: float = math.nan
    odds_ratio_lower: float = math.nan
    odds_ratio_upper: float = math.nan
    note: str = ""


def _endpoint_events(df, response_col, endpoint, denominator):
    """Return (is_event, in_denominator) boolean arrays, one entry per patient."""
    _, codes = _response_codes(df[response_col])
    event_codes = [RESPONSE_CATEGORIES.index(cat) for cat in ENDPOINTS[endpoint]]
    is_event = np.isin(codes, event_codes)
    in_denominator = (np.ones(len(codes), dtype=bool) if denominator == "all"
                      else codes != _NOT_EVALUABLE_CODE)
    return is_event, in_denominator


def response_comparison(df, group_col, endpoint="orr", denominator="all",
                        response_col="best_response", alpha=0.05, count_col=None):
    """Compare ORR or DCR between groups with Fisher's exact test.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per treated patient.
    group_col : str
        Grouping column. Patients with a missing group are left out.
    endpoint : {"orr", "dcr"}, default "orr"
        Rate to compare.
    denominator : {"all", "evaluable"}, default "all"
        See :func:`response_table`.
    response_col : str, default "best_response"
        Best overall response column.
    alpha : float, default 0.05
        Two-sided error rate of the odds-ratio interval.
    count_col : str, optional
        Rows are counts: the column holding the patients of each row (see
        :func:`response_table`).

    Returns
    -------
    RateComparison
        Two groups: Fisher's exact test on the 2 x 2 table plus the
        conditional MLE odds ratio (first group versus second, groups in
        the order of :func:`response_table`). More than two groups: Fisher's
        exact test on the r x 2 table (R ``fisher.test``). When the exact
        enumeration would exceed its budget (large cohorts, where R's
        ``fisher.test`` also runs out of workspace), Pearson's chi-square test
        (R ``chisq.test``) is used instead and `test` and `note` say so.
        Groups with a zero denominator are left out and listed in `note`;
        with fewer than two groups left `p_value` is NaN.

    References
    ----------
    .. [1] Fisher, R. A. (1922). On the interpretation of chi-square from
       contingency tables, and the calculation of P. Journal of the Royal
       Statistical Society, 85(1), 87-94.
    .. [2] R Core Team. ``fisher.test``, package stats.
    .. [3] Pearson, K. (1900). On the criterion that a given system of
       deviations from the probable ... Philosophical Magazine, 50, 157-175;
       R Core Team, ``chisq.test``, package stats.
    """
    endpoint = _check_option(endpoint, ENDPOINTS, "endpoint")
    denominator = _check_option(denominator, DENOMINATORS, "denominator")
    alpha = _check_alpha(alpha)
    _check_columns(df, [group_col, response_col])
    is_event, in_denominator = _endpoint_events(df, response_col, endpoint, denominator)
    weights = _row_weights(df, count_col)
    weights = np.ones(len(df)) if weights is None else weights

    levels, row_level, members_of = _group_index(df[group_col])
    # one pass: patients in the denominator, and events, per level
    level_n = np.rint(_counts_by_level(row_level[in_denominator], members_of, weights[in_denominator])).astype(np.int64)
    with_event = in_denominator & is_event
    level_k = np.rint(_counts_by_level(row_level[with_event], members_of, weights[with_event])).astype(np.int64)
    kept = list(range(len(levels)))
    notes = []
    missing_group = df[group_col].isna().to_numpy()
    if MISSING_LABEL in levels and missing_group.any():
        kept = [index for index in kept if levels[index] != MISSING_LABEL]
        notes.append(f"{int(round(weights[missing_group].sum()))} patient(s) with missing {group_col} left out")
    groups, events, denominators, empty = [], [], [], []
    for index in kept:
        level = levels[index]
        if level_n[index] == 0:
            empty.append(level)
            continue
        groups.append(level)
        events.append(int(level_k[index]))
        denominators.append(int(level_n[index]))
    if empty:
        notes.append(f"group(s) without patients in the denominator left out: {empty}")

    common = dict(endpoint=endpoint, denominator_label=DENOMINATORS[denominator],
                  groups=tuple(groups), events=tuple(events), denominators=tuple(denominators))
    if len(groups) < 2:
        notes.append("fewer than two groups to compare")
        return RateComparison(**common, test="", p_value=math.nan, note="; ".join(notes))

    table = np.column_stack([events, np.subtract(denominators, events)])
    try:
        result = fisher_test(table, alpha=alpha)
    except ExactTestTooLarge:
        # As R users do with chisq.test when fisher.test runs out of workspace.
        statistic, p_value, dof, _ = stats.chi2_contingency(table, correction=False)
        notes.append("exact enumeration infeasible for this table: Pearson chi-square test instead")
        return RateComparison(**common, test=f"Pearson's chi-square test ({len(groups)} x 2, df = {dof})",
                              p_value=float(p_value), note="; ".join(notes))
    test = "Fisher's exact test (2 x 2)" if len(groups) == 2 else f"Fisher's exact test ({len(groups)} x 2)"
    return RateComparison(**common, test=test, p_value=result.p_value,
                          odds_ratio=result.odds_ratio,
                          odds_ratio_lower=result.odds_ratio_lower,
                          odds_ratio_upper=result.odds_ratio_upper,
                          note="; ".join(notes))


SUBGROUP_COLUMNS = ["subgroup", "level", "n", "k", "rate", "lower", "upper",
                    "p_value", "p_adjusted", "note"]


def subgroup_rates(df, subgroup_cols, endpoint="orr", denominator="all",
                   method="clopper-pearson", alpha=0.05, response_col="best_response",
                   p_adjust_method="BH", missing_levels=(), test_missing=False, count_col=None):
    """Response rate per subgroup level for a forest plot.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per treated patient.
    subgroup_cols : str or list of str
        Columns whose levels define the subgroups. Missing values form a
        ``"Missing"`` level.
    endpoint : {"orr", "dcr"}, default "orr"
        Rate to estimate.
    denominator : {"all", "evaluable"}, default "all"
        See :func:`response_table`.
    method : {"clopper-pearson", "wilson", "jeffreys"}, default "clopper-pearson"
        Confidence interval, see :func:`proportion_ci`.
    alpha : float, default 0.05
        Two-sided error rate of the intervals.
    response_col : str, default "best_response"
        Best overall response column.
    p_adjust_method : {"BH", "holm", "bonferroni"}, default "BH"
        Multiplicity adjustment across all rows, see
        :func:`analysis.multiplicity.adjust_pvalues`.
    missing_levels : collection of str, default ()
        Level labels that stand for a missing value (e.g. the app's "not
        reported"), treated like NaN.
    test_missing : bool, default False
        False (R's default ``na.omit``): the level of missing values is
        shown with its rate and CI but not tested (p NaN, with a note), is
        not part of "the rest" of the other levels and is not counted in the
        adjustment. True: it is tested like any level against all others.
    count_col : str, optional
        Rows are counts: the column holding the patients of each row (see
        :func:`response_table`).

    Returns
    -------
    pandas.DataFrame
        One row per (subgroup column, level) with columns ``subgroup, level,
        n, k, rate, lower, upper, p_value, p_adjusted, note``: `n` is the
        denominator, `k` the number of events, `p_value` the two-sided
        Fisher exact p-value of the level versus all other patients and
        `p_adjusted` its adjustment across all rows (missing p-values stay
        missing and are not counted). Levels with a zero denominator, or
        with no patients outside them, get NaN where undefined and a `note`.

    References
    ----------
    .. [1] Benjamini, Y. and Hochberg, Y. (1995). Controlling the false
       discovery rate: a practical and powerful approach to multiple
       testing. Journal of the Royal Statistical Society B, 57(1), 289-300.
    .. [2] Fisher, R. A. (1922). Journal of the Royal Statistical Society,
       85(1), 87-94.
    .. [3] Clopper, C. J. and Pearson, E. S. (1934). Biometrika, 26(4),
       404-413.
    """
    endpoint = _check_option(endpoint, ENDPOINTS, "endpoint")
    denominator = _check_option(denominator, DENOMINATORS, "denominator")
    method = _check_option(method, CI_METHODS, "confidence interval method")
    alpha = _check_alpha(alpha)
    columns = [subgroup_cols] if isinstance(subgroup_cols, str) else list(subgroup_cols)
    _check_columns(df, columns + [response_col])
    is_event, in_denominator = _endpoint_events(df, response_col, endpoint, denominator)
    weights = _row_weights(df, count_col)
    weights = np.ones(len(df)) if weights is None else weights
    with_event = in_denominator & is_event

    total_n = int(round(weights[in_denominator].sum()))
    total_k = int(round(weights[with_event].sum()))
    missing_labels = set(missing_levels)
    rows = []
    for column in columns:
        # one pass per column: patients in the denominator, and events, per level;
        # "the rest" of a level is everyone else (everyone else recorded, unless test_missing)
        levels, row_level, members_of = _group_index(df[column])
        level_n = np.rint(_counts_by_level(row_level[in_denominator], members_of, weights[in_denominator])
                          ).astype(np.int64)
        level_k = np.rint(_counts_by_level(row_level[with_event], members_of, weights[with_event])).astype(np.int64)
        cis = _proportion_cis(level_k[level_n > 0], level_n[level_n > 0], method, alpha)
        has_nan = bool(df[column].isna().any())
        not_reported = np.array([(has_nan and isinstance(level, str) and level == MISSING_LABEL)
                                 or level in missing_labels for level in levels], dtype=bool)
        if test_missing:
            not_reported[:] = False
        # a "Missing" value and missing values share one level listed twice (see _group_index): count it once
        untested = np.unique(members_of[not_reported], return_index=True)[1]
        recorded_n = total_n - int(level_n[not_reported][untested].sum())
        recorded_k = total_k - int(level_k[not_reported][untested].sum())
        for index, level in enumerate(levels):
            n, k = int(level_n[index]), int(level_k[index])
            n_rest, k_rest = recorded_n - n, recorded_k - k
            row = {"subgroup": column, "level": level, "n": n, "k": k,
                   "rate": math.nan, "lower": math.nan, "upper": math.nan,
                   "p_value": math.nan, "note": ""}
            if n == 0:
                row["note"] = "no patients in the denominator"
            elif not_reported[index]:
                row["rate"], row["lower"], row["upper"] = cis[(k, n)]
                row["note"] = "not reported: shown, not tested (not in the adjustment)"
            else:
                row["rate"], row["lower"], row["upper"] = cis[(k, n)]
                if n_rest == 0:
                    row["note"] = "no patients outside this level to compare with"
                else:
                    level_vs_rest = np.array([[k, n - k], [k_rest, n_rest - k_rest]])
                    row["p_value"] = _fisher_2x2(level_vs_rest, alpha, with_odds_ratio=False).p_value
            rows.append(row)

    table = pd.DataFrame(rows, columns=SUBGROUP_COLUMNS)
    table["p_adjusted"] = adjust_pvalues(table["p_value"].to_numpy(dtype=float), p_adjust_method)
    table.attrs.update({"endpoint": endpoint, "denominator_label": DENOMINATORS[denominator],
                        "ci_method": method, "alpha": alpha})
    return table
