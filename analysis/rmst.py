"""Restricted mean survival time (RMST) up to a horizon tau, per group and between two groups.

Per group, the numbers are those of R survival ``print(survfit(Surv(t, e) ~ g), rmean = tau)`` (columns
``rmean`` and ``se(rmean)`` of ``summary(fit, rmean = tau)$table``, computed in ``survival:::survmean``); between
two groups, the difference and ratio follow the unadjusted analysis of survRM2 ``rmst2``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from analysis.survival import KaplanMeierResult, kaplan_meier_by_group

__all__ = ["RMSTResult", "RMSTContrast", "rmst_of_fit", "rmst_tau_limit", "rmst_by_group", "rmst_of_fits",
           "rmst_contrast"]


@dataclass(frozen=True, eq=False)
class RMSTContrast:
    """``comparator`` versus ``reference`` (survRM2 ``rmst2``: arm 1 versus arm 0).

    Attributes
    ----------
    reference, comparator : object
        Group labels; the difference is comparator minus reference, the ratio comparator over reference.
    difference, difference_se, difference_lower, difference_upper, difference_p : float
        RMST difference, its standard error sqrt(se1^2 + se0^2), normal CI and two-sided p from z.
    ratio, log_ratio_se, ratio_lower, ratio_upper, ratio_p : float
        RMST ratio, the delta-method standard error of its logarithm, CI and p on the log scale.
        ``nan`` where not defined (an RMST of 0, or a standard error of 0 for the p-values).
    """

    reference: Any
    comparator: Any
    difference: float
    difference_se: float
    difference_lower: float
    difference_upper: float
    difference_p: float
    ratio: float
    log_ratio_se: float
    ratio_lower: float
    ratio_upper: float
    ratio_p: float


@dataclass(frozen=True, eq=False)
class RMSTResult:
    """RMST per group up to ``tau``.

    Attributes
    ----------
    tau : float
        The horizon used.
    tau_limit : float
        The smallest of the groups' largest follow-up times: the default ``tau`` and the largest allowed.
    tau_is_default : bool
        True when ``tau`` was not given (so ``tau == tau_limit``).
    alpha : float
        1 - confidence level.
    table : pandas.DataFrame
        One row per group (group order as :func:`analysis.survival.kaplan_meier_by_group`): group, n, events,
        rmst, se, lower, upper (``rmst -+ z se``).
    fits : dict
        Group label -> :class:`analysis.survival.KaplanMeierResult`.
    """

    tau: float
    tau_limit: float
    tau_is_default: bool
    alpha: float
    table: pd.DataFrame
    fits: dict

    @property
    def groups(self) -> list:
        return list(self.table["group"])


def rmst_of_fit(fit: KaplanMeierResult, tau: float) -> tuple[float, float]:
    """RMST of one Kaplan-Meier curve up to ``tau`` and its standard error, as R ``survival:::survmean``.

    Parameters
    ----------
    fit : KaplanMeierResult
        One curve (:func:`analysis.survival.kaplan_meier`).
    tau : float
        Horizon; beyond the last time the last value of S is carried forward (as R does; the callers of
        :func:`rmst_by_group` never go beyond the last follow-up).

    Returns
    -------
    rmst, se : float
        ``sum_i (t_i - t_{i-1}) S(t_{i-1})`` over the times up to tau (t_0 = 0), and the square root of
        ``sum_{t_i <= tau} A_i^2 d_i / (n_i (n_i - d_i))`` with A_i the area under S from t_i to tau (terms with
        n_i = d_i are 0, as in R).

    References
    ----------
    .. [1] Klein JP, Moeschberger ML. Survival Analysis: Techniques for Censored and Truncated Data, 2nd ed.
       Springer (2003), section 4.5 (mean survival time and its variance).
    .. [2] Therneau T. survival: Survival Analysis, R package version 3.5-3, ``print.survfit`` with ``rmean``
       (function ``survmean``). https://CRAN.R-project.org/package=survival
    """
    tau = float(tau)
    time = np.asarray(fit.time, dtype=float)
    n_risk = np.asarray(fit.n_risk, dtype=float)
    n_event = np.asarray(fit.n_event, dtype=float)
    survival = np.asarray(fit.survival, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard_var = np.where(n_risk - n_event == 0, 0.0, n_event / (n_risk * (n_risk - n_event)))
    keep = time <= tau
    if not keep.any():
        return tau, 0.0
    steps = np.append(time[keep], tau)
    surv = np.append(survival[keep], survival[keep][-1])
    terms = np.append(hazard_var[keep], 0.0)
    rectangles = np.diff(np.concatenate(([0.0], steps))) * np.concatenate(([1.0], surv[:-1]))
    # area from each kept time to tau, paired with that time's Greenwood term (R: cumsum(rev(rect[-1])) * rev(hh)[-1])
    tail_areas = np.cumsum(rectangles[1:][::-1])
    variance = float(np.sum(tail_areas ** 2 * terms[::-1][1:]))
    return float(np.sum(rectangles)), math.sqrt(variance)


def rmst_tau_limit(durations: Any, groups: Any = None) -> float:
    """The smallest of the groups' largest follow-up times (survRM2's default tau); the largest follow-up
    time without groups."""
    times = np.asarray(durations, dtype=float)
    if times.size == 0:
        raise ValueError("no patients: the RMST needs at least one follow-up time.")
    if groups is None:
        return float(np.max(times))
    return float(pd.Series(times).groupby(np.asarray(groups, dtype=object)).max().min())


def rmst_by_group(
    durations: Any,
    events: Any,
    groups: Any = None,
    tau: float | None = None,
    alpha: float = 0.05,
    timefix: bool = True,
) -> RMSTResult:
    """Restricted mean survival time up to ``tau`` per group, with standard error and confidence interval.

    Parameters
    ----------
    durations, events : array-like
        Follow-up times (non-negative) and event indicators (1 event, 0 censored).
    groups : array-like, optional
        Group label per patient; None for one curve of all patients.
    tau : float, optional
        Horizon in the units of ``durations``. None: the smallest of the groups' largest follow-up times
        (survRM2 ``rmst2`` default). A larger ``tau`` is refused: some curve would be extrapolated.
    alpha : float
        1 - confidence level.
    timefix : bool
        Merge near-tied times first, as R.

    Returns
    -------
    RMSTResult

    Raises
    ------
    ValueError
        Invalid data (see :func:`analysis.survival.kaplan_meier`), ``tau`` not positive and finite, or ``tau``
        beyond the smallest of the groups' largest follow-up times.

    Notes
    -----
    RMST(tau) = integral_0^tau S(t) dt of the Kaplan-Meier curve; its variance is the Greenwood-type sum of
    ``survival:::survmean`` (see :func:`rmst_of_fit`), the same as survRM2's ``rmst1``. The CI is
    ``rmst -+ z_{1 - alpha/2} se`` (normal, untransformed), as survRM2.

    References
    ----------
    .. [1] Royston P, Parmar MKB. "Restricted mean survival time: an alternative to the hazard ratio for the
       design and analysis of randomized trials with a time-to-event outcome." BMC Med Res Methodol 13 (2013):
       152.
    .. [2] Uno H, Claggett B, Tian L, et al. "Moving beyond the hazard ratio in quantifying the between-group
       difference in survival analysis." J Clin Oncol 32 (2014): 2380-2385.
    .. [3] Therneau T. survival: Survival Analysis, R package version 3.5-3, ``print.survfit(rmean = )``.
       https://CRAN.R-project.org/package=survival
    """
    labels = ["all"] * int(np.size(durations)) if groups is None else groups
    return rmst_of_fits(kaplan_meier_by_group(durations, events, labels, alpha=alpha, timefix=timefix).fits,
                        tau=tau, alpha=alpha)


def rmst_of_fits(fits: Mapping[Any, KaplanMeierResult], tau: float | None = None, alpha: float = 0.05) -> RMSTResult:
    """:func:`rmst_by_group` from Kaplan-Meier fits already made, one per group: those of a page that drew the
    curves, or of a count table (:func:`analysis.survival.kaplan_meier_by_group_from_counts`).

    Parameters
    ----------
    fits : mapping of group label to KaplanMeierResult
        The curves, in the order of the result's table.
    tau, alpha
        As in :func:`rmst_by_group` (the fits' own CI level plays no part: the RMST uses S(t), the numbers at
        risk and the events).

    Returns
    -------
    RMSTResult

    References
    ----------
    .. [1] Royston P, Parmar MKB. BMC Med Res Methodol 13 (2013): 152.
    .. [2] Therneau T. survival: Survival Analysis, R package version 3.5-3, ``print.survfit(rmean = )``.
       https://CRAN.R-project.org/package=survival
    """
    z = _z(alpha)
    limit = min(float(fit.time.max()) for fit in fits.values())
    if tau is None:
        tau_value = limit
    else:
        tau_value = float(tau)
        if not math.isfinite(tau_value) or tau_value <= 0:
            raise ValueError(f"tau must be a positive number of time units, got {tau!r}.")
        if tau_value > limit * (1 + 1e-12):
            raise ValueError(
                f"tau = {tau_value:g} is beyond the shortest group's last follow-up ({limit:g}): the RMST of that "
                f"group would extrapolate its curve. Choose tau up to {limit:g}.")
    if tau_value <= 0:
        raise ValueError("the last follow-up time of some group is 0: there is no time over which to restrict "
                         "the mean.")
    rows = []
    for label, fit in fits.items():
        value, se = rmst_of_fit(fit, tau_value)
        rows.append({"group": label, "n": fit.n, "events": fit.n_events, "rmst": value, "se": se,
                     "lower": value - z * se, "upper": value + z * se})
    return RMSTResult(tau=tau_value, tau_limit=limit, tau_is_default=tau is None, alpha=alpha,
                      table=pd.DataFrame(rows), fits=dict(fits))


def rmst_contrast(result: RMSTResult, reference: Any = None, comparator: Any = None) -> RMSTContrast:
    """Difference and ratio of RMST between two groups of ``result`` (survRM2 ``rmst2``, unadjusted).

    Parameters
    ----------
    result : RMSTResult
        From :func:`rmst_by_group`.
    reference, comparator : group labels, optional
        Default: the first and the second group.

    Returns
    -------
    RMSTContrast
        Difference d = R1 - R0 with se sqrt(se1^2 + se0^2), CI d -+ z se and p = 2 (1 - Phi(|d| / se)); ratio
        R1 / R0 with log-scale se sqrt(se1^2 / R1^2 + se0^2 / R0^2), CI exp(log(R1/R0) -+ z se) and
        p = 2 (1 - Phi(|log(R1/R0)| / se)).

    Raises
    ------
    ValueError
        Fewer than two groups, or a label that is not a group of ``result``.

    References
    ----------
    .. [1] Uno H, Claggett B, Tian L, et al. J Clin Oncol 32 (2014): 2380-2385.
    .. [2] Uno H, Tian L, Horiguchi M, Cronin A, Battioui C, Bell J. survRM2: Comparing Restricted Mean
       Survival Time, R package version 1.0-4, function ``rmst2``. https://CRAN.R-project.org/package=survRM2
    """
    groups = result.groups
    if len(groups) < 2:
        raise ValueError("an RMST contrast needs two groups.")
    reference = groups[0] if reference is None else reference
    comparator = (groups[1] if groups[1] != reference else groups[0]) if comparator is None else comparator
    rows = result.table.set_index("group")
    for label in (reference, comparator):
        if label not in rows.index:
            raise ValueError(f"{label!r} is not one of the groups {groups}.")
    r0, s0 = float(rows.loc[reference, "rmst"]), float(rows.loc[reference, "se"])
    r1, s1 = float(rows.loc[comparator, "rmst"]), float(rows.loc[comparator, "se"])
    z = _z(result.alpha)
    difference, difference_se = r1 - r0, math.sqrt(s1 ** 2 + s0 ** 2)
    if r0 > 0 and r1 > 0:
        log_ratio, log_se = math.log(r1 / r0), math.sqrt(s1 ** 2 / r1 ** 2 + s0 ** 2 / r0 ** 2)
        ratio, ratio_lower, ratio_upper = r1 / r0, math.exp(log_ratio - z * log_se), math.exp(log_ratio + z * log_se)
        ratio_p = _two_sided_p(log_ratio, log_se)
    else:
        ratio = log_se = ratio_lower = ratio_upper = ratio_p = math.nan
    return RMSTContrast(reference=reference, comparator=comparator, difference=difference,
                        difference_se=difference_se, difference_lower=difference - z * difference_se,
                        difference_upper=difference + z * difference_se,
                        difference_p=_two_sided_p(difference, difference_se), ratio=ratio, log_ratio_se=log_se,
                        ratio_lower=ratio_lower, ratio_upper=ratio_upper, ratio_p=ratio_p)


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return float(stats.norm.ppf(1 - alpha / 2))


def _two_sided_p(estimate: float, se: float) -> float:
    if not se > 0:
        return math.nan
    return float(2 * stats.norm.sf(abs(estimate) / se))
