"""Firth-penalised Cox regression (as R ``coxphf``).

When a level has no events, or the events separate perfectly on a covariate,
the ordinary Cox partial likelihood is monotone and the maximum-likelihood
hazard ratio is 0 or infinite (:func:`analysis.cox.fit_cox` reports such terms
as not estimable).  Firth's penalty, half the log determinant of the
information matrix, removes the first-order bias of the estimate and keeps it
finite (Heinze & Schemper 2001).  Intervals and p-values come from the
profile penalised likelihood, as in ``coxphf``; Wald intervals are poor here.

Reference values: ``coxphf`` is not installed, so tests/reference/firth_reference.R
maximises the same penalised partial likelihood independently in R, with
``optim`` over ``survival::coxph(..., init = beta, iter.max = 0)`` (its
log-likelihood and the inverse of its variance give l(beta) and I(beta)) and
``uniroot`` for the profile limits; tests/test_firth.py compares at 1e-6.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis.cox import InsufficientDataError, _as_list, _build_design, _check_arguments, count_weights

MAX_ITER = 200
MAX_STEP = 0.5  # coxphf's maxstep: largest change of a coefficient in one Newton step
MAX_HALVING = 40
TOLERANCE = 1e-10
#: Converged at the precision of the sums: steps below this (relative to the coefficients) that no longer
#: raise l* beyond its rounding. With hundreds of thousands of events the score's rounding keeps the steps of
#: a flat (monotone) coefficient near 1e-9, above TOLERANCE: without this the fits ran all MAX_ITER steps.
STAGNANT_STEP = 1e-8
ROUNDING = 1e-15

FIRTH_COLUMNS = ["covariate", "level", "reference", "coef", "se", "hr", "hr_lower", "hr_upper", "p",
                 "n", "events"]


class _Penalised:
    """Penalised partial likelihood of a Cox model with Breslow ties, its score and information.

    A row stands for ``weight`` patients with its covariates and time, ``n_event`` of them with the event
    (one patient: weight 1, n_event 0 or 1; a table of counts: its patients and events).
    """

    def __init__(self, time: np.ndarray, n_event: np.ndarray, x: np.ndarray, weight: np.ndarray | None = None):
        order = np.argsort(time, kind="stable")
        self.time, n_event = time[order], np.asarray(n_event, dtype=float)[order]
        self.weight = np.ones(time.size) if weight is None else np.asarray(weight, dtype=float)[order]
        # centring changes neither beta nor the likelihood
        self.x = x[order] - np.average(x, axis=0, weights=self.weight)
        has_event = n_event > 0
        death_times, inverse = np.unique(self.time[has_event], return_inverse=True)
        self.deaths = np.bincount(inverse, weights=n_event[has_event], minlength=death_times.size)
        self.start = np.searchsorted(self.time, death_times, side="left")  # risk set = rows from start
        self.x_deaths = n_event @ self.x

    def evaluate(self, beta: np.ndarray, derivatives: bool = True):
        """``(l*, U*, I)``: penalised log-likelihood, penalised score and (unpenalised) information."""
        x = self.x
        eta = x @ beta
        shift = eta.max()
        w = self.weight * np.exp(eta - shift)

        def at_risk(values):  # sum over the risk set of each death time
            return np.cumsum(values[::-1], axis=0)[::-1][self.start]

        s0 = at_risk(w)
        s1 = at_risk(w[:, None] * x)
        xx = x[:, :, None] * x[:, None, :]
        s2 = at_risk(w[:, None, None] * xx)
        d = self.deaths.astype(float)
        mean = s1 / s0[:, None]
        second = s2 / s0[:, None, None]
        variance = second - mean[:, :, None] * mean[:, None, :]
        information = np.einsum("t,tjk->jk", d, variance)
        loglik = float(self.x_deaths @ beta - d @ (np.log(s0) + shift))
        sign, logdet = np.linalg.slogdet(information)
        if sign <= 0:
            raise np.linalg.LinAlgError("information matrix not positive definite")
        penalised = loglik + 0.5 * logdet
        if not derivatives:
            return penalised, None, information
        score = self.x_deaths - d @ mean
        s3 = at_risk(w[:, None, None, None] * xx[:, :, :, None] * x[:, None, None, :])
        third = s3 / s0[:, None, None, None]
        # third cumulant of x over the risk set = derivative of its covariance
        m = mean
        cumulant = (third
                    - m[:, :, None, None] * second[:, None, :, :]
                    - m[:, None, :, None] * second[:, :, None, :]
                    - m[:, None, None, :] * second[:, :, :, None]
                    + 2 * m[:, :, None, None] * m[:, None, :, None] * m[:, None, None, :])
        d_information = np.einsum("t,tjkr->jkr", d, cumulant)
        inverse = np.linalg.inv(information)
        score = score + 0.5 * np.einsum("jk,kjr->r", inverse, d_information)
        return penalised, score, information


def _step_matrix(model: _Penalised, beta: np.ndarray, free: np.ndarray, information: np.ndarray) -> np.ndarray:
    """Minus the Hessian of l* over the free coefficients (central differences of the analytic penalised
    score), or ``I`` (coxphf's step matrix) where that is not positive definite. Newton on the exact Hessian
    converges quadratically where coxphf's ``I`` converges only linearly (slowly near monotone likelihood)."""
    index = np.flatnonzero(free)
    hessian = np.empty((index.size, index.size))
    try:
        for column, j in enumerate(index):
            h = 1e-5 * max(1.0, abs(beta[j]))
            up, down = beta.copy(), beta.copy()
            up[j] += h
            down[j] -= h
            hessian[:, column] = -(model.evaluate(up)[1][index] - model.evaluate(down)[1][index]) / (2 * h)
        hessian = (hessian + hessian.T) / 2
        np.linalg.cholesky(hessian)
        return hessian
    except np.linalg.LinAlgError:
        return information[np.ix_(free, free)]


def _maximise(model: _Penalised, beta: np.ndarray, free: np.ndarray):
    """Newton-Raphson with step halving on the coefficients in ``free`` (the others fixed), as coxphf
    but with the step matrix of :func:`_step_matrix`; steps of at most :data:`MAX_STEP` per coefficient.
    Returns ``(beta, l*, iterations, converged)``."""
    beta = beta.astype(float).copy()
    value, score, information = model.evaluate(beta)
    if not free.any():
        return beta, value, 0, True
    for iteration in range(1, MAX_ITER + 1):
        step = np.zeros_like(beta)
        step[free] = np.linalg.solve(_step_matrix(model, beta, free, information), score[free])
        largest = np.abs(step).max()
        if largest > MAX_STEP:
            step *= MAX_STEP / largest
        for _ in range(MAX_HALVING):
            candidate = beta + step
            try:
                new_value, new_score, new_information = model.evaluate(candidate)
            except np.linalg.LinAlgError:
                new_value = -np.inf
            if new_value >= value - 1e-12 * max(1.0, abs(value)):
                break
            step /= 2
        else:
            return beta, value, iteration, False
        gain = new_value - value
        beta, value, score, information = candidate, new_value, new_score, new_information
        largest = np.abs(step).max()
        if largest < TOLERANCE and np.abs(score[free]).max() < 1e-7:
            return beta, value, iteration, True
        if largest < STAGNANT_STEP * max(1.0, np.abs(beta).max()) and gain <= ROUNDING * max(1.0, abs(value)):
            return beta, value, iteration, True
    return beta, value, MAX_ITER, False


def firth_cox(df: pd.DataFrame, duration_col: str, event_col: str, covariates, alpha: float = 0.05) -> pd.DataFrame:
    """Cox regression with Firth's penalty (R ``coxphf``), Breslow ties.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per patient.
    duration_col, event_col : str
        Follow-up time and event indicator (0/1 or boolean).
    covariates : str or list of str
        Numeric, boolean or categorical columns (factors as in
        :func:`analysis.cox.fit_cox`: first sorted level is the reference).
    alpha : float, default 0.05
        Two-sided error rate of the profile intervals.

    Returns
    -------
    pandas.DataFrame
        One row per term (index ``term``, names as :func:`analysis.cox.fit_cox`):
        ``covariate, level, reference, coef`` (penalised estimate), ``se``
        (square root of the diagonal of ``I(beta)^-1``), ``hr``, ``hr_lower``,
        ``hr_upper`` (profile penalised likelihood interval), ``p``
        (penalised likelihood-ratio test of ``beta = 0``, others re-maximised),
        ``n, events``. ``attrs``: ``n, events, loglik`` (penalised, at the
        estimate), ``iterations, converged, warnings, method``.

    Raises
    ------
    InsufficientDataError
        No events, fewer than two rows, nothing that varies, or an information
        matrix that is singular (collinear terms).
    ValueError
        Invalid input, as :func:`analysis.cox.fit_cox`.

    Notes
    -----
    Maximises ``l*(beta) = l(beta) + 1/2 log|I(beta)|`` with ``l`` the
    Breslow partial log-likelihood (coxphf's only choice of ties) and ``I`` its
    observed information.  The penalised score is
    ``U*_r = U_r + 1/2 tr(I^-1 dI/dbeta_r)``; ``dI/dbeta_r`` is the sum over
    death times of the third central moments of the covariates over the risk
    set.  Newton-Raphson with steps of at most 0.5 and step halving, as
    coxphf; the step matrix is minus the Hessian of ``l*`` (differences of
    the analytic score) rather than coxphf's ``I``, which converges to the
    same maximum but slowly when the likelihood is nearly monotone.  The interval limits solve
    ``2 (l*(beta_hat) - max l*(beta | beta_r = b)) = chi2_{1, 1-alpha}`` by
    Brent's method.  Checked against an independent maximisation in R (see the
    module docstring): tests/reference/firth_reference.R.

    References
    ----------
    .. [1] Firth D. Bias reduction of maximum likelihood estimates.
       Biometrika. 1993;80:27-38.
    .. [2] Heinze G, Schemper M. A solution to the problem of monotone
       likelihood in Cox regression. Biometrics. 2001;57:114-119.
    .. [3] Heinze G, Ploner M, Jiricka L. coxphf: Cox regression with Firth's
       penalized likelihood. R package.
    .. [4] Breslow NE. Covariance analysis of censored survival data.
       Biometrics. 1974;30:89-99.
    """
    covariates = _as_list(covariates)
    _check_arguments(df, duration_col, event_col, covariates, "breslow", alpha)
    design = _build_design(df, duration_col, event_col, covariates)
    return _firth_fit(design, design.event.astype(float), np.ones(design.time.size), alpha)


def firth_cox_from_counts(counts: pd.DataFrame, covariates, time_col: str = "time", event_col: str = "n_event",
                          censor_col: str = "n_censor", alpha: float = 0.05) -> pd.DataFrame:
    """:func:`firth_cox` from events and censorings per (covariate pattern, time): the same fit as on the patients.

    Parameters
    ----------
    counts : pandas.DataFrame
        As in :func:`analysis.cox.fit_cox_from_counts`: one row per (covariate values, time) with the patients
        who had the event then (``event_col``) and who were censored then (``censor_col``); rows need not be
        distinct or sorted, rows with a missing time or covariate are dropped (R ``na.omit``).
    covariates, alpha
        As in :func:`firth_cox`.
    time_col, event_col, censor_col : str
        Columns of the time and of the two counts (whole numbers >= 0).

    Returns
    -------
    pandas.DataFrame
        :func:`firth_cox`'s table and ``attrs`` for the patients the rows stand for (tests compare to 1e-8).

    Raises
    ------
    ValueError, InsufficientDataError
        As :func:`firth_cox`, and for counts that are not whole numbers >= 0.

    References
    ----------
    .. [1] Heinze G, Schemper M. A solution to the problem of monotone
       likelihood in Cox regression. Biometrics. 2001;57:114-119.
    .. [2] Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox
       Model. Springer; 2000 (risk-set sums weighted by the patients of each row).
    """
    covariates = _as_list(covariates)
    _check_arguments(counts, time_col, event_col, covariates, "breslow", alpha)
    weights = count_weights(counts, event_col, censor_col)
    n_event, patients = weights[event_col], weights[event_col] + weights[censor_col]
    kept = patients > 0
    table = counts.loc[kept, [time_col, *covariates]].assign(**{"__event": (n_event[kept] > 0).astype(float)})
    design = _build_design(table, time_col, "__event", covariates)
    n_event, patients = n_event[kept][design.complete], patients[kept][design.complete]
    n_dropped = int(weights[event_col].sum() + weights[censor_col].sum() - patients.sum())
    design.warnings = [w for w in design.warnings if "rows dropped because of missing" not in w]
    if n_dropped:
        design.warnings.insert(0, f"{n_dropped:,} of {n_dropped + int(patients.sum()):,} rows dropped because of "
                                  "missing values (like R's na.omit)")
    return _firth_fit(design, n_event.astype(float), patients.astype(float), alpha)


def _firth_fit(design, n_event: np.ndarray, weight: np.ndarray, alpha: float) -> pd.DataFrame:
    """:func:`firth_cox` on the rows of ``design``, each standing for ``weight`` patients, ``n_event`` events."""
    model = _Penalised(design.time, n_event, design.x, weight)
    n, events = int(round(weight.sum())), int(round(n_event.sum()))
    p = design.x.shape[1]
    warnings = list(design.warnings)
    try:
        beta, best, iterations, converged = _maximise(model, np.zeros(p), np.ones(p, dtype=bool))
        _, _, information = model.evaluate(beta, derivatives=False)
        var = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        raise InsufficientDataError("the information matrix is singular (collinear terms): "
                                    "the penalised model cannot be fitted") from None
    if not converged:
        warnings.append(f"penalised likelihood did not converge in {MAX_ITER} iterations")
    se = np.sqrt(np.diag(var))
    critical = stats.chi2.ppf(1 - alpha, 1)
    lower, upper, p_values = np.full(p, np.nan), np.full(p, np.nan), np.full(p, np.nan)
    for index in range(p):
        free = np.ones(p, dtype=bool)
        free[index] = False
        start = {"beta": beta}

        def deviance(b, index=index, free=free, start=start):
            fixed = start["beta"].copy()
            fixed[index] = b
            fitted, value, _, _ = _maximise(model, fixed, free)
            start["beta"] = fitted
            return 2 * (best - value)

        try:
            p_values[index] = stats.chi2.sf(max(deviance(0.0), 0.0), 1)
            for side, out in ((-1, lower), (1, upper)):
                start["beta"] = beta
                width = max(se[index], 0.1)
                inner = beta[index]
                outer = inner + side * width
                for _ in range(60):
                    if deviance(outer) > critical:
                        break
                    inner, outer = outer, outer + side * width
                    width *= 2
                else:
                    continue
                out[index] = optimize.brentq(lambda b: deviance(b) - critical, min(inner, outer),
                                             max(inner, outer), xtol=1e-12, rtol=4 * np.finfo(float).eps,
                                             maxiter=500)
        except (np.linalg.LinAlgError, ValueError, RuntimeError):
            warnings.append(f"profile likelihood of {design.terms[index].name} could not be computed")
    table = pd.DataFrame({
        "covariate": [t.covariate for t in design.terms],
        "level": [t.level for t in design.terms],
        "reference": [t.reference for t in design.terms],
        "coef": beta, "se": se, "hr": np.exp(beta), "hr_lower": np.exp(lower), "hr_upper": np.exp(upper),
        "p": p_values, "n": n, "events": events,
    }, index=pd.Index([t.name for t in design.terms], name="term"))[FIRTH_COLUMNS]
    table.attrs = {"n": n, "events": events, "loglik": best,
                   "iterations": iterations, "converged": converged, "warnings": warnings,
                   "method": "Firth-penalised Cox (Breslow ties), profile penalised-likelihood CI and p"}
    return table
