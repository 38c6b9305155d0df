"""Test of proportional hazards for a Cox model, reproducing R ``survival::cox.zph``.

survival 3.x computes ``cox.zph`` as a score test [1]_ [3]_: the covariates
``x`` are augmented by ``g(t) x`` (``g`` the transformed event time, centred at
its mean over the events), and the score ``U`` and information ``H`` of the
augmented model are evaluated at ``(beta_hat, 0)``. With ``U = (0, u)`` (the
score of the fitted coefficients is 0 at the maximum), the test of a term with
columns ``j`` is ``u_j' H[k, k]^{-1} u_j`` over ``k = (all original columns,
the g(t)-columns j)`` with ``len(j)`` degrees of freedom; the GLOBAL test uses
all ``g(t)``-columns (``p`` df). Ties are handled as in the fit (Efron or
Breslow); this follows ``cox.zph`` and its C routine ``zph1`` of survival 3.5
line by line in the arithmetic (not in code).

The scaled Schoenfeld residuals [2]_ are ``beta_hat + V^{-1} s`` per event
(``s`` the Schoenfeld residual, ``V = H_11 / d`` the mean information per
event); with ``terms=True`` a factor term's columns are combined by its
coefficients into one residual (``s' beta_j``) centred at 1. Plotted against
the transformed time they estimate the time-varying coefficient ``beta(t)``.

References
----------
.. [1] Grambsch PM, Therneau TM. Proportional hazards tests and diagnostics
   based on weighted residuals. Biometrika. 1994;81(3):515-526.
.. [2] Schoenfeld D. Partial residuals for the proportional hazards
   regression model. Biometrika. 1982;69(1):239-241.
.. [3] Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox
   Model. Springer; 2000. Chapter 6.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.cox import InsufficientDataError, cox_design, fit_cox
from analysis.methods import ZPH_TRANSFORM_LABELS, ZPH_TRANSFORMS

__all__ = ["cox_zph", "ph_doubtful", "ZPH_TRANSFORMS", "ZPH_TRANSFORM_LABELS", "PH_ALPHA"]

#: Significance level below which the page warns that proportional hazards are doubtful.
PH_ALPHA = 0.05


def _transformed_time(time: np.ndarray, event: np.ndarray, transform: str) -> np.ndarray:
    if transform == "identity":
        return time.astype(float)
    if transform == "rank":
        return stats.rankdata(time, method="average")
    if transform == "log":
        with np.errstate(divide="ignore"):
            return np.log(time)
    # km: 1 - S(t-), the Kaplan-Meier estimate (all rows) just before each time
    unique, inverse = np.unique(time, return_inverse=True)
    at_risk = len(time) - np.r_[0, np.cumsum(np.bincount(inverse))[:-1]]
    deaths = np.bincount(inverse, weights=event.astype(float), minlength=unique.size)
    surv = np.cumprod(1 - deaths / at_risk)
    before = np.r_[1.0, surv[:-1]]
    return 1 - before[inverse]


def _score_pieces(time, event, x, eta, gt, efron):
    """Score of the g(t)-columns, the 2p x 2p information and the Schoenfeld residuals.

    Rows are sorted by time (stable); each death contributes the risk-set mean
    and variance of its step (Efron: the k-th of d tied deaths sees the tied
    deaths' risk with weight k/d, as ``zph1``).
    """
    n, p = x.shape
    order = np.argsort(time, kind="stable")
    t, d, xs, g = time[order], event[order], x[order] - x.mean(axis=0), gt[order]
    risk = np.exp(eta[order] - eta.max())  # a common factor cancels in every ratio
    starts = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])  # rows of equal time are contiguous
    block = np.cumsum(np.r_[True, t[1:] != t[:-1]]) - 1
    n_blocks = starts.size
    outer = xs[:, :, None] * xs[:, None, :]
    # sums over rows with time >= t_b (reverse cumulative over blocks)
    s0 = np.add.reduceat(risk, starts)
    s1 = np.add.reduceat(risk[:, None] * xs, starts, axis=0)
    s2 = np.add.reduceat(risk[:, None, None] * outer, starts, axis=0)
    # the deaths' sums per block
    dr = np.where(d, risk, 0.0)
    d0 = np.add.reduceat(dr, starts)
    d1 = np.add.reduceat(dr[:, None] * xs, starts, axis=0)
    d2 = np.add.reduceat(dr[:, None, None] * outer, starts, axis=0)
    nd = np.add.reduceat(d.astype(float), starts)
    rev = lambda a: np.cumsum(a[::-1], axis=0)[::-1]  # noqa: E731
    s0, s1, s2 = rev(s0), rev(s1), rev(s2)

    deaths = np.flatnonzero(d)
    b = block[deaths]
    if efron:  # k-th death (1..d) of its block: tied deaths' risk weighted k/d
        first = np.r_[0, np.flatnonzero(np.diff(b)) + 1]
        k = np.arange(deaths.size) - np.repeat(first, np.diff(np.r_[first, deaths.size])) + 1
        frac = k / nd[b]
    else:
        frac = np.ones(deaths.size)
    denom = s0[b] - d0[b] * (1 - frac)
    a = s1[b] - d1[b] * (1 - frac)[:, None]
    c = s2[b] - d2[b] * (1 - frac)[:, None, None]
    mean = a / denom[:, None]
    var = c / denom[:, None, None] - mean[:, :, None] * mean[:, None, :]
    gd = g[deaths]
    u = (gd[:, None] * (xs[deaths] - mean)).sum(axis=0)
    i11 = var.sum(axis=0)
    i12 = (gd[:, None, None] * var).sum(axis=0)
    i22 = (gd[:, None, None] ** 2 * var).sum(axis=0)
    imat = np.block([[i11, i12], [i12.T, i22]])
    # Schoenfeld residuals: x minus the mean over the block's steps (Efron: mean of the means)
    block_mean = np.zeros((n_blocks, p))
    np.add.at(block_mean, b, mean)
    block_mean /= np.where(nd > 0, nd, 1)[:, None]
    schoen = xs[deaths] - block_mean[b]
    return u, imat, schoen, order[deaths]


def cox_zph(df: pd.DataFrame, duration_col: str, event_col: str, covariates,
            ties: str = "efron", transform: str = "km", terms: bool = True) -> dict:
    """Test proportional hazards of a Cox model, as R ``cox.zph(fit, transform, terms)``.

    Parameters
    ----------
    df, duration_col, event_col, covariates, ties
        The model, as in :func:`analysis.cox.fit_cox` (fitted here).
    transform : {"km", "rank", "identity", "log"}, default "km"
        Time scale ``g(t)`` of the test and of the residual plot (R default
        ``"km"``: 1 minus the Kaplan-Meier estimate just before each time).
    terms : bool, default True
        One test per covariate (a factor's columns together, df = number of
        columns), as R's default; ``False`` tests each column.

    Returns
    -------
    dict
        ``table``: DataFrame indexed by term plus ``"GLOBAL"`` with columns
        ``chisq, df, p``; ``residuals``: DataFrame with one row per event in
        time order and one column per term (scaled Schoenfeld residuals, R's
        ``zph$y``); ``x`` (transformed event times, R's ``zph$x``) and
        ``time`` (event times) as arrays in the same order; ``terms`` (list), ``transform``, ``ties``, ``events``, ``coef`` (the
        fitted coefficients by design column), ``warnings``.

    Raises
    ------
    ValueError
        Invalid input or transform (as :func:`analysis.cox.fit_cox`).
    InsufficientDataError
        Nothing to fit, or a coefficient not estimable (infinite): the test
        would be meaningless.

    References
    ----------
    .. [1] Grambsch PM, Therneau TM. Proportional hazards tests and diagnostics
       based on weighted residuals. Biometrika. 1994;81:515-526.
    .. [2] Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox
       Model. Springer; 2000.
    """
    if transform not in ZPH_TRANSFORMS:
        raise ValueError(f"transform must be one of {ZPH_TRANSFORMS}, got {transform!r}")
    fit = fit_cox(df, duration_col, event_col, covariates, ties=ties)
    design = cox_design(df, duration_col, event_col, covariates)
    collinear = fit["note"].str.contains("collinear").to_numpy()
    infinite = ~fit["estimable"].to_numpy() & ~collinear
    if infinite.any():
        raise InsufficientDataError(
            "the proportional-hazards test needs finite coefficients; not estimable: "
            + ", ".join(fit.index[infinite]))
    keep = ~collinear
    x = design["x"][:, keep]
    beta = fit["coef"].to_numpy()[keep]
    names = [n for n, k in zip(design["terms"], keep) if k]
    owners = [c for c, k in zip(design["term_covariates"], keep) if k]
    time, event = design["time"], design["event"]
    n_events = int(event.sum())
    p = x.shape[1]
    if terms:
        groups = {}
        for index, owner in enumerate(owners):
            groups.setdefault(owner, []).append(index)
        term_names = list(groups)
        assign = list(groups.values())
    else:
        term_names, assign = names, [[i] for i in range(p)]

    ttimes = _transformed_time(time, event, transform)
    if not np.all(np.isfinite(ttimes[event])):
        raise InsufficientDataError("log transform needs event times > 0")
    gt = ttimes - ttimes[event].mean()
    eta = (x - x.mean(axis=0)) @ beta
    u, imat, schoen, death_rows = _score_pieces(time, event, x, eta, gt, ties == "efron")

    full_u = np.r_[np.zeros(p), u]
    chisq, dfs = [], []
    try:
        for columns in assign:
            kk = np.r_[np.arange(p), np.asarray(columns) + p]
            uk = np.r_[np.zeros(p), u[columns]]
            chisq.append(float(uk @ np.linalg.solve(imat[np.ix_(kk, kk)], uk)))
            dfs.append(len(columns))
        chisq.append(float(full_u @ np.linalg.solve(imat, full_u)))
        dfs.append(p)
    except np.linalg.LinAlgError:
        raise InsufficientDataError("the test's information matrix is singular (too few events at "
                                    "distinct times to see a change of the hazard ratio over time)") from None
    if not np.all(np.isfinite(chisq)):
        raise InsufficientDataError("the test cannot be computed (too few events at distinct times)")
    table = pd.DataFrame({"chisq": chisq, "df": dfs,
                          "p": stats.chi2.sf(chisq, dfs)},
                         index=pd.Index(term_names + ["GLOBAL"], name="term"))

    vmean = imat[:p, :p] / n_events
    sresid = schoen
    if terms and any(len(c) > 1 for c in assign):
        combine = np.zeros((p, len(assign)))
        for i, columns in enumerate(assign):
            combine[columns, i] = 1.0 if len(columns) == 1 else beta[columns]
        sresid = schoen @ combine
        vmean = combine.T @ vmean @ combine
    try:
        scaled = np.linalg.solve(vmean, sresid.T).T
    except np.linalg.LinAlgError:
        raise InsufficientDataError("the mean information per event is singular: scaled residuals "
                                    "cannot be computed") from None
    for i, columns in enumerate(assign):
        scaled[:, i] += beta[columns[0]] if len(columns) == 1 else 1.0
    residuals = pd.DataFrame(scaled, columns=term_names)
    return {"table": table, "residuals": residuals, "x": ttimes[death_rows], "time": time[death_rows],
            "terms": term_names,
            "transform": transform, "ties": ties, "events": n_events,
            "coef": pd.Series(beta, index=names),
            "warnings": list(fit.attrs["warnings"])}


def ph_doubtful(table: pd.DataFrame, alpha: float = PH_ALPHA) -> list[str]:
    """Terms (not GLOBAL) whose test of proportional hazards has ``p < alpha``."""
    terms = table.drop(index="GLOBAL", errors="ignore")
    return [str(t) for t in terms.index[terms["p"].to_numpy() < alpha]]
