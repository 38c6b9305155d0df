"""Multiple-testing adjustment of p-values (matches R ``p.adjust``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.methods import P_ADJUST_METHODS

__all__ = ["P_ADJUST_METHODS", "adjust_pvalues"]



def adjust_pvalues(p, method="BH"):
    """Adjust p-values for multiple comparisons, as R ``p.adjust``.

    Parameters
    ----------
    p : array_like or pandas.Series
        Raw p-values in [0, 1]. Missing values (NaN/None) are allowed: they
        stay missing in place and do not count towards the number of tests,
        exactly as in R.
    method : {"BH", "fdr", "holm", "bonferroni", "none"}, default "BH"
        ``"BH"`` (alias ``"fdr"``) is the Benjamini-Hochberg step-up false
        discovery rate adjustment, ``"holm"`` Holm's step-down family-wise
        adjustment and ``"bonferroni"`` the Bonferroni correction.
        Case-insensitive.

    Returns
    -------
    numpy.ndarray or pandas.Series
        Adjusted p-values, same length and order as `p`; a Series with the
        same index when `p` is a Series.

    Raises
    ------
    ValueError
        If `method` is unknown or a p-value lies outside [0, 1].

    Notes
    -----
    With ``m`` non-missing p-values sorted as p(1) <= ... <= p(m):

    * Bonferroni: ``min(1, m p(i))``.
    * Holm: ``min(1, max_{j<=i} (m - j + 1) p(j))``.
    * BH: ``min(1, min_{j>=i} m p(j) / j)``.

    Tied p-values receive identical adjusted values.

    References
    ----------
    .. [1] Benjamini, Y. and Hochberg, Y. (1995). Controlling the false
       discovery rate: a practical and powerful approach to multiple
       testing. Journal of the Royal Statistical Society B, 57(1), 289-300.
    .. [2] Holm, S. (1979). A simple sequentially rejective multiple test
       procedure. Scandinavian Journal of Statistics, 6(2), 65-70.
    .. [3] R Core Team. ``p.adjust``, package stats.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.04, 0.2, 0.5], "BH")
    array([0.05      , 0.06666667, 0.06666667, 0.25      , 0.5       ])
    """
    key = str(method).lower()
    if key not in P_ADJUST_METHODS:
        raise ValueError(
            f"unknown p-value adjustment method {method!r}; "
            f"expected one of {sorted(set(P_ADJUST_METHODS.values()))}"
        )
    canonical = P_ADJUST_METHODS[key]

    index = p.index if isinstance(p, pd.Series) else None
    values = pd.to_numeric(pd.Series(np.asarray(p, dtype=object).ravel()), errors="raise")
    values = values.to_numpy(dtype=float)
    present = ~np.isnan(values)
    if np.any((values[present] < 0) | (values[present] > 1)):
        bad = values[present][(values[present] < 0) | (values[present] > 1)][0]
        raise ValueError(f"p-values must lie in [0, 1]; got {bad!r}")

    adjusted = np.full(values.shape, np.nan)
    if present.any():
        adjusted[present] = _adjust_complete(values[present], canonical)

    if index is not None:
        return pd.Series(adjusted, index=index, name=getattr(p, "name", None))
    return adjusted


def _adjust_complete(p, method):
    """Adjust a vector without missing values."""
    m = p.size
    if method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.minimum(1.0, m * p)

    if method == "holm":
        order = np.argsort(p, kind="stable")
        rank = np.arange(1, m + 1)
        stepped = np.minimum(1.0, np.maximum.accumulate((m - rank + 1) * p[order]))
    else:  # BH: walk from the largest p-value down
        order = np.argsort(-p, kind="stable")
        rank = np.arange(m, 0, -1)
        stepped = np.minimum(1.0, np.minimum.accumulate(m / rank * p[order]))

    adjusted = np.empty(m)
    adjusted[order] = stepped
    return adjusted
