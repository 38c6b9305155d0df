"""Median follow-up by the reverse Kaplan-Meier method (censoring treated as the event)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.survival import KaplanMeierResult, kaplan_meier

__all__ = ["FollowUp", "median_follow_up"]


@dataclass(frozen=True, eq=False)
class FollowUp:
    """Median follow-up and its confidence interval.

    Attributes
    ----------
    median, lower, upper : float
        Median of the reverse Kaplan-Meier curve and its CI (R ``print.survfit`` rule); ``nan`` where not
        reached (for example when no patient is censored).
    n, n_censored : int
        Patients, and patients censored (the "events" of the reverse curve).
    fit : KaplanMeierResult
        The reverse Kaplan-Meier curve.
    """

    median: float
    lower: float
    upper: float
    n: int
    n_censored: int
    fit: KaplanMeierResult


def median_follow_up(durations: Any, events: Any, conf_type: str = "log", alpha: float = 0.05,
                     timefix: bool = True) -> FollowUp:
    """Median potential follow-up by reverse Kaplan-Meier: R ``survfit(Surv(time, 1 - status) ~ 1)``.

    Parameters
    ----------
    durations, events : array-like
        Follow-up times and event indicators (1 event, 0 censored) of the endpoint.
    conf_type, alpha, timefix
        As in :func:`analysis.survival.kaplan_meier` (R default ``"log"``, 95%).

    Returns
    -------
    FollowUp

    Raises
    ------
    ValueError
        Invalid data (see :func:`analysis.survival.kaplan_meier`).

    Notes
    -----
    The event indicator is flipped, so a patient's follow-up "ends" when they are censored and an event
    censors the follow-up time (the patient would have been followed longer). The median of that curve estimates
    the median potential follow-up; with no censored patient it is not reached.

    References
    ----------
    .. [1] Schemper M, Smith TL. "A note on quantifying follow-up in studies of failure time." Control Clin
       Trials 17 (1996): 343-346.
    .. [2] Therneau T. survival: Survival Analysis, R package version 3.5-3, ``survfit``, ``print.survfit``.
       https://CRAN.R-project.org/package=survival
    """
    flipped = 1 - np.asarray(events, dtype=float)
    fit = kaplan_meier(durations, flipped, conf_type=conf_type, alpha=alpha, timefix=timefix)
    return FollowUp(median=fit.median, lower=fit.median_ci[0], upper=fit.median_ci[1], n=fit.n,
                    n_censored=fit.n_events, fit=fit)
