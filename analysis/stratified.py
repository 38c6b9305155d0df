"""Stratified analyses: the exact conditional test of a common odds ratio (R ``mantelhaen.test``).

Pure statistics (numpy, pandas, scipy). The stratified log-rank test and the
stratified Cox model are the ``strata=`` arguments of
:func:`analysis.survival.logrank_table` and :func:`analysis.cox.fit_cox`; this
module holds the exact test of 2 x 2 x K tables and the small helpers that
prepare strata (missing stratum values are dropped and counted, never raised).

Every number is checked against R 4.x (``stats::mantelhaen.test(exact =
TRUE)``) to 1e-6 by ``tests/test_strata.py`` with reference values written by
``tests/reference/strata_reference.R``. R finds the conditional maximum
likelihood estimate and the confidence limits with ``uniroot`` (Brent's
method, tolerance ``.Machine$double.eps^0.25``); the same algorithm
(``analysis.response._r_uniroot``, R's ``R_zeroin2``) and tolerance are used
here, so the estimates agree with R's to far better than that tolerance.

References
----------
.. [1] Mantel N, Haenszel W. Statistical aspects of the analysis of data from
   retrospective studies of disease. J Natl Cancer Inst. 1959;22:719-748.
.. [2] Mehta CR, Patel NR, Gray R. Computing an exact confidence interval for
   the common odds ratio in several 2 x 2 contingency tables. J Am Stat
   Assoc. 1985;80:969-973.
.. [3] R Core Team. R: A language and environment for statistical computing,
   ``stats::mantelhaen.test`` and ``stats::uniroot``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.multiplicity import adjust_pvalues
from analysis.response import MISSING_LABEL, _endpoint_events, _group_index, _r_uniroot, subgroup_rates

__all__ = ["MantelHaenszelExact", "mantelhaen_exact", "mantelhaen_exact_from_data", "drop_missing_strata",
           "subgroup_rates_stratified"]

_DBL_EPSILON = float(np.finfo(float).eps)


def drop_missing_strata(values: Any) -> tuple[np.ndarray, int]:
    """Which rows have a stratum value, and how many do not.

    Returns ``(keep, n_dropped)``: a boolean mask and the number of rows
    whose stratum is missing (None, NaN, NA). Used by the stratified methods,
    which drop such rows (as R's ``na.omit``) and report the count.
    """
    missing = pd.isna(pd.Series(np.asarray(values, dtype=object).reshape(-1), dtype=object)).to_numpy()
    return ~missing, int(missing.sum())


@dataclass(frozen=True)
class MantelHaenszelExact:
    """Exact conditional test of a common odds ratio in 2 x 2 x K tables.

    Attributes
    ----------
    statistic : float
        S, the sum over strata of the [0, 0] cells.
    p_value : float
        Two-sided p value as R: the sum of the null probabilities of the
        values of S no more likely than the one observed (relative error 1e-7).
    estimate : float
        Conditional maximum-likelihood estimate of the common odds ratio
        (0 or ``inf`` at the ends of the support).
    conf_int : tuple of float
        Exact (Mehta-Patel-Gray) confidence limits of the common odds ratio.
    n_strata : int
        Strata used (tables with at least 2 observations).
    n_strata_dropped : int
        Tables left out because they have fewer than 2 observations (they
        carry no conditional information; R stops with an error).
    conf_level : float
    """

    statistic: float
    p_value: float
    estimate: float
    conf_int: tuple[float, float]
    n_strata: int
    n_strata_dropped: int
    conf_level: float


def _d2x2xk(m: np.ndarray, n: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Null distribution of S (R's C routine ``d2x2xk``): convolution of hypergeometrics."""
    density = np.array([1.0])
    for m_k, n_k, t_k in zip(m, n, t):
        low, high = max(0, t_k - n_k), min(m_k, t_k)
        support = np.arange(low, high + 1)
        # dhyper(x, m, n, k) = hypergeom.pmf(x, M = m + n, n = m, N = k)
        hyper = stats.hypergeom.pmf(support, m_k + n_k, m_k, t_k)
        density = np.convolve(density, hyper)
    return density / density.sum()


def mantelhaen_exact(tables: Any, conf_level: float = 0.95) -> MantelHaenszelExact:
    """Exact conditional test of independence in 2 x 2 x K tables.

    Reproduces R ``mantelhaen.test(x, exact = TRUE)`` (two-sided) for an
    array ``x`` of shape (2, 2, K): the p value, the conditional MLE of the
    common odds ratio and its exact confidence interval.

    Parameters
    ----------
    tables : array-like of int, shape (2, 2, K) or (K, 2, 2)
        Counts; a (K, 2, 2) array (one 2 x 2 table per stratum) is accepted
        when the last axis is not 2 x 2 x K shaped, i.e. ``shape[-1] == 2``
        and ``shape[0] != 2``.
    conf_level : float
        Confidence level of the interval.

    Returns
    -------
    MantelHaenszelExact

    Raises
    ------
    ValueError
        Negative or non-integer counts, wrong shape, no table with at least
        2 observations.

    Notes
    -----
    Conditionally on all margins, S = sum_k x[0, 0, k] has a distribution
    proportional to ``c(s) psi^s`` over its support lo..hi, with c the
    convolution of the K hypergeometric null densities and psi the common
    odds ratio. The estimate solves E_psi(S) = s; the limits solve
    P_psi(S >= s) = alpha/2 and P_psi(S <= s) = alpha/2. Roots are found
    with R's ``uniroot`` algorithm and tolerance, as R does. Tables with
    fewer than 2 observations are left out (R stops: "sample size in each
    stratum must be > 1"); zero cells are allowed.

    References
    ----------
    .. [1] Mantel N, Haenszel W. J Natl Cancer Inst. 1959;22:719-748.
    .. [2] Mehta CR, Patel NR, Gray R. J Am Stat Assoc. 1985;80:969-973.
    .. [3] R Core Team. ``stats::mantelhaen.test``.

    Examples
    --------
    >>> result = mantelhaen_exact([[[2, 5], [3, 1]], [[1, 0], [4, 2]]])
    >>> round(result.p_value, 6) <= 1
    True
    """
    x = np.asarray(tables, dtype=float)
    if x.ndim == 2 and x.shape == (2, 2):
        x = x[:, :, None]
    if x.ndim != 3:
        raise ValueError(f"tables must be 2 x 2 x K, got shape {x.shape}")
    if x.shape[:2] != (2, 2) and x.shape[1:] == (2, 2):
        x = np.moveaxis(x, 0, 2)
    if x.shape[:2] != (2, 2):
        raise ValueError(f"tables must be 2 x 2 x K, got shape {x.shape}")
    if not np.all(np.isfinite(x)) or np.any(x < 0) or not np.array_equal(x, np.round(x)):
        raise ValueError("tables must hold non-negative integer counts")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level}")
    x = x.astype(np.int64)
    usable = x.sum(axis=(0, 1)) >= 2
    n_dropped = int((~usable).sum())
    x = x[:, :, usable]
    if x.shape[2] == 0:
        raise ValueError("no stratum has at least 2 observations")

    m = x[:, 0, :].sum(axis=0)  # column 1 totals
    n = x[:, 1, :].sum(axis=0)  # column 2 totals
    t = x[0, :, :].sum(axis=0)  # row 1 totals
    s = int(x[0, 0, :].sum())
    lo = int(np.maximum(0, t - n).sum())
    hi = int(np.minimum(m, t).sum())
    support = np.arange(lo, hi + 1, dtype=float)
    dc = _d2x2xk(m, n, t)
    with np.errstate(divide="ignore"):
        logdc = np.log(dc)

    def density(ncp: float) -> np.ndarray:
        if ncp == 1:
            return dc
        d = logdc + np.log(ncp) * support
        d = np.exp(d - np.max(d))
        return d / d.sum()

    def mean(ncp: float) -> float:
        if ncp == 0:
            return float(lo)
        if ncp == np.inf:
            return float(hi)
        return float(np.sum(support * density(ncp)))

    def cdf(q: float, ncp: float = 1.0, upper_tail: bool = False) -> float:
        if ncp == 0:
            return float(q <= lo if upper_tail else q >= lo)
        if ncp == np.inf:
            return float(q <= hi if upper_tail else q >= hi)
        d = density(ncp)
        return float(np.sum(d[support >= q] if upper_tail else d[support <= q]))

    rel_err = 1 + 1e-7
    p_value = min(1.0, float(np.sum(dc[dc <= dc[s - lo] * rel_err])))  # R may exceed 1 by rounding

    def mle(value: int) -> float:
        if value == lo:
            return 0.0
        if value == hi:
            return float("inf")
        mu = mean(1.0)
        if mu > value:
            return _r_uniroot(lambda psi: mean(psi) - value, 0.0, 1.0)
        if mu < value:
            return 1 / _r_uniroot(lambda psi: mean(1 / psi) - value, _DBL_EPSILON, 1.0)
        return 1.0

    def ncp_upper(value: int, alpha: float) -> float:
        if value == hi:
            return float("inf")
        p = cdf(value, 1.0)
        if p < alpha:
            return _r_uniroot(lambda psi: cdf(value, psi) - alpha, 0.0, 1.0)
        if p > alpha:
            return 1 / _r_uniroot(lambda psi: cdf(value, 1 / psi) - alpha, _DBL_EPSILON, 1.0)
        return 1.0

    def ncp_lower(value: int, alpha: float) -> float:
        if value == lo:
            return 0.0
        p = cdf(value, 1.0, upper_tail=True)
        if p > alpha:
            return _r_uniroot(lambda psi: cdf(value, psi, upper_tail=True) - alpha, 0.0, 1.0)
        if p < alpha:
            return 1 / _r_uniroot(lambda psi: cdf(value, 1 / psi, upper_tail=True) - alpha, _DBL_EPSILON, 1.0)
        return 1.0

    alpha = (1 - conf_level) / 2
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        estimate = mle(s)
        conf_int = (ncp_lower(s, alpha), ncp_upper(s, alpha))
    return MantelHaenszelExact(
        statistic=float(s), p_value=p_value, estimate=float(estimate),
        conf_int=(float(conf_int[0]), float(conf_int[1])), n_strata=int(x.shape[2]),
        n_strata_dropped=n_dropped, conf_level=float(conf_level),
    )


def mantelhaen_exact_from_data(exposed: Any, outcome: Any, strata: Any,
                               conf_level: float = 0.95) -> tuple[MantelHaenszelExact, int]:
    """:func:`mantelhaen_exact` from one row per patient.

    Parameters
    ----------
    exposed, outcome : array-like of bool
        Row of the 2 x 2 table (True first, as R's ``table(factor(x, c(TRUE, FALSE)), ...)``)
        and column (True first).
    strata : array-like
        Stratum per patient; rows with a missing stratum (or missing
        exposure / outcome) are dropped.

    Returns
    -------
    (MantelHaenszelExact, int)
        The test and the number of rows dropped for missing values.

    References
    ----------
    .. [1] Mehta CR, Patel NR, Gray R. J Am Stat Assoc. 1985;80:969-973.
    .. [2] R Core Team. ``stats::mantelhaen.test``.
    """
    frame = pd.DataFrame({"exposed": pd.Series(exposed, dtype=object).to_numpy(),
                          "outcome": pd.Series(outcome, dtype=object).to_numpy(),
                          "stratum": pd.Series(strata, dtype=object).to_numpy()})
    complete = frame.notna().all(axis=1)
    n_dropped = int((~complete).sum())
    frame = frame[complete]
    labels = sorted(frame["stratum"].unique(), key=str)
    tables = np.zeros((2, 2, len(labels)), dtype=np.int64)
    for k, label in enumerate(labels):
        part = frame[frame["stratum"] == label]
        e = part["exposed"].astype(bool).to_numpy()
        o = part["outcome"].astype(bool).to_numpy()
        tables[:, :, k] = [[np.sum(e & o), np.sum(e & ~o)], [np.sum(~e & o), np.sum(~e & ~o)]]
    return mantelhaen_exact(tables, conf_level=conf_level), n_dropped


def subgroup_rates_stratified(df: pd.DataFrame, subgroup_cols, strata_col: str, endpoint: str = "orr",
                              denominator: str = "all", method: str = "clopper-pearson", alpha: float = 0.05,
                              response_col: str = "best_response", p_adjust_method: str = "BH",
                              missing_levels=(), count_col: str | None = None) -> pd.DataFrame:
    """:func:`analysis.response.subgroup_rates` with each level-vs-rest test stratified by ``strata_col``.

    Rates and their intervals are those of ``subgroup_rates`` (all patients
    of the level). The test of a level against all other patients is the
    exact conditional test of a common odds ratio across the strata (R
    ``mantelhaen.test(table(level, response, stratum), exact = TRUE)``),
    with the conditional MLE of the common odds ratio (level vs rest) and
    its exact CI. A level present in one stratum only is compared within
    that stratum (the others carry no information). A subgroup column that
    is the stratum itself (no stratum holds both a level and the rest) keeps
    its Fisher p, with a note. Rows with a missing stratum are dropped and
    counted in ``attrs["n_dropped_strata"]``. ``missing_levels`` are shown but not tested, and are not
    part of "the rest" of the other levels (as ``subgroup_rates``). With ``count_col`` each row stands for
    that many patients (a table of counts, e.g. a database ``GROUP BY``): the same result as on the patients.

    Returns
    -------
    pandas.DataFrame
        The columns of ``subgroup_rates`` plus ``odds_ratio, or_lower,
        or_upper, stratified`` (bool per row); ``attrs`` as ``subgroup_rates``
        plus ``strata_col, n_strata, n_dropped_strata``.

    References
    ----------
    .. [1] Mantel N, Haenszel W. J Natl Cancer Inst. 1959;22:719-748.
    .. [2] Mehta CR, Patel NR, Gray R. J Am Stat Assoc. 1985;80:969-973.
    .. [3] Fisher RA. J R Stat Soc. 1922;85:87-94.
    """
    keep, n_dropped = drop_missing_strata(df[strata_col])
    weights = (np.ones(len(df), dtype=np.int64) if count_col is None
               else pd.to_numeric(df[count_col]).to_numpy(dtype=np.int64))
    n_dropped = int(weights[~keep].sum())
    df, weights = df[keep], weights[keep]
    rates = subgroup_rates(df, subgroup_cols, endpoint=endpoint, denominator=denominator, method=method,
                           alpha=alpha, response_col=response_col, p_adjust_method=p_adjust_method,
                           missing_levels=missing_levels, count_col=count_col)
    untested_labels = set(missing_levels)
    is_event, in_denominator = _endpoint_events(df, response_col, rates.attrs["endpoint"], denominator)
    stratum_codes, stratum_labels = pd.factorize(pd.Series(df[strata_col].to_numpy(dtype=object)), sort=False)
    n_strata = len(stratum_labels)
    columns = [subgroup_cols] if isinstance(subgroup_cols, str) else list(subgroup_cols)
    extra = {"odds_ratio": [], "or_lower": [], "or_upper": [], "stratified": []}
    notes = rates["note"].tolist()
    p_values = rates["p_value"].to_numpy(dtype=float).copy()
    position = 0
    for column in columns:
        levels, row_level, members_of = _group_index(df[column])
        has_nan = bool(df[column].isna().any())
        untested = np.array([level in untested_labels or (has_nan and level == MISSING_LABEL) for level in levels],
                            dtype=bool)
        recorded = ~np.isin(row_level, members_of[untested]) if untested.any() else np.ones(len(df), dtype=bool)
        for index, _level in enumerate(levels):
            row = position
            position += 1
            result = None
            if not np.isnan(p_values[row]):
                compared = in_denominator & recorded  # the level and the recorded rest
                in_level = (row_level == members_of[index])[compared]
                stratum = stratum_codes[compared]
                event = is_event[compared]
                tables = np.zeros((2, 2, n_strata), dtype=np.int64)
                np.add.at(tables, (np.where(in_level, 0, 1), np.where(event, 0, 1), stratum), weights[compared])
                informative = (tables[0].sum(axis=0) > 0) & (tables[1].sum(axis=0) > 0)
                if informative.any():
                    result = mantelhaen_exact(tables[:, :, informative], conf_level=1 - alpha)
                else:
                    notes[row] = "; ".join(filter(None, [notes[row], "no study holds both this level and other "
                                                                     "patients: Fisher test, not stratified"]))
            if result is None:
                extra["odds_ratio"].append(np.nan)
                extra["or_lower"].append(np.nan)
                extra["or_upper"].append(np.nan)
                extra["stratified"].append(False)
            else:
                p_values[row] = result.p_value
                extra["odds_ratio"].append(result.estimate)
                extra["or_lower"].append(result.conf_int[0])
                extra["or_upper"].append(result.conf_int[1])
                extra["stratified"].append(True)
    rates = rates.assign(p_value=p_values, note=notes, **extra)
    rates["p_adjusted"] = adjust_pvalues(p_values, p_adjust_method)
    rates.attrs.update(strata_col=strata_col, n_strata=n_strata, n_dropped_strata=n_dropped)
    return rates
