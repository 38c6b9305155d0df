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

from analysis.cox import (InsufficientDataError, _as_list, count_weights, cox_design, fit_cox,
                          fit_cox_from_counts)
from analysis.methods import ZPH_TRANSFORM_LABELS, ZPH_TRANSFORMS

__all__ = ["cox_zph", "cox_zph_from_counts", "ph_doubtful", "ZPH_TRANSFORMS", "ZPH_TRANSFORM_LABELS", "PH_ALPHA"]

#: Significance level below which the page warns that proportional hazards are doubtful.
PH_ALPHA = 0.05


def _transformed_time(time: np.ndarray, n_event: np.ndarray, weight: np.ndarray, transform: str) -> np.ndarray:
    """``g(t)`` of each row; a row stands for ``weight`` patients, ``n_event`` of them with the event."""
    if transform == "identity":
        return time.astype(float)
    if transform == "log":
        with np.errstate(divide="ignore"):
            return np.log(time)
    unique, inverse = np.unique(time, return_inverse=True)
    patients = np.bincount(inverse, weights=weight.astype(float), minlength=unique.size)
    before = np.r_[0.0, np.cumsum(patients)[:-1]]  # patients with an earlier time
    if transform == "rank":  # the average rank of tied times, as R rank()
        return (before + (patients + 1) / 2)[inverse]
    # km: 1 - S(t-), the Kaplan-Meier estimate (all rows) just before each time
    deaths = np.bincount(inverse, weights=n_event.astype(float), minlength=unique.size)
    surv = np.cumprod(1 - deaths / (before[-1] + patients[-1] - before))
    return 1 - np.r_[1.0, surv[:-1]][inverse]


def _weighted_gram(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``sum_r weight_r x_r x_r'`` (p x p)."""
    return (x * weight[:, None]).T @ x


def _score_pieces(time, n_event, weight, x, eta, gt, efron):
    """Score of the g(t)-columns, the 2p x 2p information and the Schoenfeld residuals.

    Each row stands for ``weight`` patients with one covariate vector and time, ``n_event`` of them with the
    event (a patient: 1 and 0 or 1). Each death contributes the risk-set mean and variance of its step (Efron:
    the k-th of the d tied deaths of a time sees the tied deaths' risk with weight k/d, as ``zph1``). With
    ``f_k = 1 - k/d`` (0 for Breslow) and ``den_k = S0 - f_k D0``, the sums over the d steps of a time are the
    block's sums ``S1, S2`` (at risk) and ``D1, D2`` (its deaths) times the scalars ``sum 1/den_k``,
    ``sum f_k/den_k``, ``sum 1/den_k^2``, ... So the information is a few weighted Gram matrices over the rows
    (``S2`` of a time is a sum over the rows at risk, each row weighted by the scalars of the times it is at
    risk for): memory O(n p), never p x p per row or per time.

    Returns
    -------
    (u, imat, schoenfeld, death_rows)
        ``schoenfeld``: the residual of each row with an event (in time order), ``death_rows``: those rows
        (indices into the input); a row stands for its ``n_event`` deaths.
    """
    order = np.argsort(time, kind="stable")
    t, dn, w = time[order], n_event[order].astype(float), weight[order].astype(float)
    xs = x[order] - np.average(x, axis=0, weights=weight)
    relative = np.exp(eta[order] - eta.max())  # a common factor cancels in every ratio
    risk, death_risk = w * relative, dn * relative
    new_block = np.r_[True, t[1:] != t[:-1]]  # rows of equal time are contiguous
    starts, block = np.flatnonzero(new_block), np.cumsum(new_block) - 1
    rev = lambda a: np.cumsum(a[::-1], axis=0)[::-1]  # noqa: E731 - sums over the blocks at or after each
    s0 = rev(np.add.reduceat(risk, starts))
    s1 = rev(np.add.reduceat(risk[:, None] * xs, starts, axis=0))
    d0 = np.add.reduceat(death_risk, starts)
    d1 = np.add.reduceat(death_risk[:, None] * xs, starts, axis=0)
    x_deaths = np.add.reduceat(dn[:, None] * xs, starts, axis=0)
    nd = np.rint(np.add.reduceat(dn, starts)).astype(np.int64)
    # g is a function of time: one value per block, used at deaths only (log(0) of a censored time 0 is -inf)
    g = np.where(nd > 0, gt[order][starts], 0.0)

    # the scalars of each block's d steps: sums over k of 1/den, f/den, 1/den^2, f/den^2, f^2/den^2
    steps = np.repeat(np.arange(nd.size), nd)
    first = np.cumsum(nd) - nd
    k = np.arange(steps.size) - first[steps] + 1
    f = 1 - k / nd[steps] if efron else np.zeros(steps.size)
    inverse = 1 / (s0[steps] - d0[steps] * f)
    per_block = lambda v: np.bincount(steps, weights=v, minlength=nd.size)  # noqa: E731
    a0, a1 = per_block(inverse), per_block(f * inverse)
    b0, b1, b2 = per_block(inverse ** 2), per_block(f * inverse ** 2), per_block(f * f * inverse ** 2)

    mean_sum = s1 * a0[:, None] - d1 * a1[:, None]  # sum over the steps of the risk-set means
    u = (g[:, None] * (x_deaths - mean_sum)).sum(axis=0)

    def information(c: np.ndarray) -> np.ndarray:
        """sum over the blocks of c_b times the sum of its steps' variances."""
        at_risk = np.cumsum(c * a0)[block]  # a row is at risk in every block up to its own
        square = _weighted_gram(xs, risk * at_risk) - _weighted_gram(xs, death_risk * (c * a1)[block])
        cross = (s1 * (c * b1)[:, None]).T @ d1
        return (square - _weighted_gram(s1, c * b0) + cross + cross.T - _weighted_gram(d1, c * b2))

    i11, i12, i22 = information(np.ones_like(g)), information(g), information(g * g)
    imat = np.block([[i11, i12], [i12.T, i22]])
    deaths = np.flatnonzero(dn > 0)
    block_mean = mean_sum / np.where(nd > 0, nd, 1)[:, None]  # Efron: the mean of the steps' means
    schoenfeld = xs[deaths] - block_mean[block[deaths]]
    return u, imat, schoenfeld, order[deaths]


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
    event = design["event"].astype(float)
    return _zph(fit, design, event, np.ones_like(event), ties, transform, terms)


def cox_zph_from_counts(counts: pd.DataFrame, covariates, time_col: str = "time", event_col: str = "n_event",
                        censor_col: str = "n_censor", ties: str = "efron", transform: str = "km",
                        terms: bool = True, fitted: pd.DataFrame | None = None) -> dict:
    """:func:`cox_zph` from events and censorings per (covariate pattern, time): the same test as on the patients.

    Parameters
    ----------
    counts : pandas.DataFrame
        As in :func:`analysis.cox.fit_cox_from_counts`: one row per (covariate values, time) with the patients
        who had the event then (``event_col``) and who were censored then (``censor_col``). Rows need not be
        distinct or sorted; rows with a missing time or covariate are dropped (R ``na.omit``).
    covariates, ties, transform, terms
        As in :func:`cox_zph`.
    time_col, event_col, censor_col : str
        Columns of the time and of the two counts.
    fitted : pandas.DataFrame, optional
        :func:`analysis.cox.fit_cox_from_counts` of the same counts, covariates and ties without strata,
        when the caller has it (it is fitted here otherwise).

    Returns
    -------
    dict
        As :func:`cox_zph`: the table equals the patients' (tests compare to 1e-9); ``residuals``, ``x`` and
        ``time`` have one entry per event, the events of a row repeated (tied events' order within a time
        may differ from the patients').

    Raises
    ------
    ValueError, InsufficientDataError
        As :func:`cox_zph` and :func:`analysis.cox.fit_cox_from_counts`.

    References
    ----------
    .. [1] Grambsch PM, Therneau TM. Proportional hazards tests and diagnostics
       based on weighted residuals. Biometrika. 1994;81:515-526.
    .. [2] Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox
       Model. Springer; 2000 (a row of counts weights the risk-set sums by its patients).
    """
    if transform not in ZPH_TRANSFORMS:
        raise ValueError(f"transform must be one of {ZPH_TRANSFORMS}, got {transform!r}")
    fit = fit_cox_from_counts(counts, covariates, time_col, event_col, censor_col, ties=ties) if fitted is None \
        else fitted
    weights = count_weights(counts, event_col, censor_col)
    kept = (weights[event_col] + weights[censor_col]) > 0
    table = counts.loc[kept, [time_col, *_as_list(covariates)]].assign(
        **{"__event": (weights[event_col][kept] > 0).astype(float)})
    design = cox_design(table, time_col, "__event", covariates)
    complete = design["complete"]
    n_event = weights[event_col][kept][complete]
    return _zph(fit, design, n_event.astype(float), (n_event + weights[censor_col][kept][complete]).astype(float),
                ties, transform, terms)


def _zph(fit: pd.DataFrame, design: dict, n_event: np.ndarray, weight: np.ndarray, ties: str, transform: str,
         terms: bool) -> dict:
    """:func:`cox_zph` of a fitted model on the rows of its ``design``, each standing for ``weight`` patients of
    whom ``n_event`` had the event."""
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
    time = design["time"]
    n_events = int(round(n_event.sum()))
    p = x.shape[1]
    if terms:
        groups = {}
        for index, owner in enumerate(owners):
            groups.setdefault(owner, []).append(index)
        term_names = list(groups)
        assign = list(groups.values())
    else:
        term_names, assign = names, [[i] for i in range(p)]

    ttimes = _transformed_time(time, n_event, weight, transform)
    has_event = n_event > 0
    if not np.all(np.isfinite(ttimes[has_event])):
        raise InsufficientDataError("log transform needs event times > 0")
    gt = ttimes - np.average(ttimes[has_event], weights=n_event[has_event])
    eta = (x - np.average(x, axis=0, weights=weight)) @ beta
    u, imat, schoen, death_rows = _score_pieces(time, n_event, weight, x, eta, gt, ties == "efron")

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
    repeats = np.rint(n_event[death_rows]).astype(np.int64)  # a row's residual once per event
    residuals = pd.DataFrame(np.repeat(scaled, repeats, axis=0), columns=term_names)
    return {"table": table, "residuals": residuals, "x": np.repeat(ttimes[death_rows], repeats),
            "time": np.repeat(time[death_rows], repeats),
            "terms": term_names,
            "transform": transform, "ties": ties, "events": n_events,
            "coef": pd.Series(beta, index=names),
            "warnings": list(fit.attrs["warnings"])}


def ph_doubtful(table: pd.DataFrame, alpha: float = PH_ALPHA) -> list[str]:
    """Terms (not GLOBAL) whose test of proportional hazards has ``p < alpha``."""
    terms = table.drop(index="GLOBAL", errors="ignore")
    return [str(t) for t in terms.index[terms["p"].to_numpy() < alpha]]
