"""Kaplan-Meier estimation and the log-rank test, matching R ``survival`` 3.x.

Pure statistics (numpy, pandas, scipy): no dashboard code here. Every number
is checked against R ``survival`` 3.5-3 to a relative tolerance of 1e-6 by
``tests/test_survival.py`` using reference values written by
``tests/reference/survival_reference.R``.

Conventions mirrored from R (all documented where they are used):

* Times closer than ``sqrt(.Machine$double.eps)`` are merged first, as
  ``survfit(timefix = TRUE)`` / ``survdiff(timefix = TRUE)`` do through
  ``aeqSurv``.
* Censorings tied with events at the same time are still at risk at that time.
* ``std_err`` in tables is the Greenwood standard error of S(t), as printed by
  ``summary.survfit``; ``std_err_log`` is ``survfit()$std.err``, the standard
  error of log S(t) (R names it the standard error of the cumulative hazard).
* ``median`` / ``median_ci`` follow ``print.survfit`` (``summary(fit)$table``);
  :meth:`KaplanMeierResult.quantile` follows ``quantile.survfit``. The two rules
  differ only when the curve ends exactly at the probability asked for, or for
  non-monotone confidence curves.
* Times asked for after the last follow-up carry the last value forward, as
  ``summary(fit, times = , extend = TRUE)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.methods import CONF_TYPES

__all__ = [
    "KaplanMeierResult",
    "GroupedKaplanMeier",
    "LogrankResult",
    "LogrankPair",
    "kaplan_meier",
    "kaplan_meier_by_group",
    "logrank_test",
    "logrank_table",
    "SURVIVAL_COUNT_COLUMNS",
    "survival_counts",
    "kaplan_meier_from_counts",
    "kaplan_meier_by_group_from_counts",
    "logrank_table_from_counts",
]

# R: sqrt(.Machine$double.eps), used by aeqSurv, quantile.survfit and print.survfit
R_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


# --------------------------------------------------------------------------- #
# Input handling
# --------------------------------------------------------------------------- #
def _as_1d(values: Any, name: str, dtype: Any = None) -> np.ndarray:
    array = np.asarray(values, dtype=dtype)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _complete_cases(durations: Any, events: Any, groups: Any = None) -> tuple[np.ndarray, np.ndarray, Any, int]:
    """Drop rows with a missing time, event or group, as R's default ``na.action = na.omit``.

    Lengths must agree (ValueError otherwise). Returns the complete rows of
    durations, events and groups (None when not given) and the number of
    rows dropped.
    """
    raw_durations = _as_1d(durations, "durations")
    raw_events = _as_1d(events, "events")
    if raw_durations.size == 0:
        raise ValueError("durations is empty: at least one patient is needed")
    if raw_durations.size != raw_events.size:
        raise ValueError(
            f"durations and events differ in length ({raw_durations.size} vs {raw_events.size})"
        )
    missing = np.asarray(pd.isna(raw_durations), dtype=bool) | np.asarray(pd.isna(raw_events), dtype=bool)
    raw_groups = None
    if groups is not None:
        raw_groups = _as_1d(groups, "groups", dtype=object)
        if raw_groups.size != raw_durations.size:
            raise ValueError(f"groups has length {raw_groups.size}, expected {raw_durations.size}")
        missing |= np.asarray(pd.isna(pd.Series(raw_groups, dtype=object)), dtype=bool)
    n_dropped = int(missing.sum())
    if n_dropped:
        if n_dropped == raw_durations.size:
            raise ValueError(
                f"no patient left: all {n_dropped} rows have a missing time, event or group"
            )
        keep = ~missing
        raw_durations, raw_events = raw_durations[keep], raw_events[keep]
        raw_groups = raw_groups[keep] if raw_groups is not None else None
    return raw_durations, raw_events, raw_groups, n_dropped


def _validate_durations_events(durations: Any, events: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return durations as float and events as int (0/1), or raise ValueError."""
    raw_durations = _as_1d(durations, "durations")
    raw_events = _as_1d(events, "events")
    if raw_durations.size == 0:
        raise ValueError("durations is empty: at least one patient is needed")
    if raw_durations.size != raw_events.size:
        raise ValueError(
            f"durations and events differ in length ({raw_durations.size} vs {raw_events.size})"
        )
    if pd.isna(raw_durations).any():
        raise ValueError("durations contain NaN or missing values")
    try:
        duration_values = raw_durations.astype(float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"durations must be numeric: {error}") from None
    if not np.all(np.isfinite(duration_values)):
        raise ValueError("durations contain infinite values")
    if np.any(duration_values < 0):
        raise ValueError("durations must be non-negative")

    if pd.isna(raw_events).any():
        raise ValueError("events contain missing values")
    if raw_events.dtype == bool:
        event_values = raw_events.astype(int)
    else:
        try:
            event_float = raw_events.astype(float)
        except (TypeError, ValueError):
            raise ValueError("events must be boolean or 0/1") from None
        if not np.all((event_float == 0) | (event_float == 1)):
            raise ValueError("events must be boolean or 0/1 (1 = event, 0 = censored)")
        event_values = event_float.astype(int)
    return duration_values, event_values


def _validate_groups(groups: Any, n: int) -> np.ndarray:
    group_values = _as_1d(groups, "groups", dtype=object)  # keeps NaN / None visible
    if group_values.size != n:
        raise ValueError(f"groups has length {group_values.size}, expected {n}")
    if pd.isna(pd.Series(group_values, dtype=object)).any():
        raise ValueError("groups contain missing values")
    return group_values


def _encode_groups(group_values: np.ndarray) -> tuple[np.ndarray, list]:
    """Integer codes and labels; labels sorted when sortable (R factor levels)."""
    series = pd.Series(group_values, dtype=object)
    try:
        codes, labels = pd.factorize(series, sort=True)
    except TypeError:  # mixed, unorderable labels: order of appearance
        codes, labels = pd.factorize(series, sort=False)
    return codes.astype(np.intp), list(labels)


def _merge_near_ties(durations: np.ndarray, tolerance: float = R_TOLERANCE) -> np.ndarray:
    """Merge times closer than ``tolerance``, as R ``aeqSurv`` does.

    References
    ----------
    .. [1] Therneau T. "Roundoff error and tied times", vignette of the R
       package survival (``vignette("tiedtimes", package = "survival")``).
    """
    unique_times = np.unique(durations)
    if unique_times.size < 2:
        return durations
    gaps = np.diff(unique_times)
    tied = (gaps <= tolerance) | (gaps / np.mean(np.abs(unique_times)) <= tolerance)
    if not tied.any():
        return durations
    cuts = unique_times[np.concatenate(([True], ~tied))]
    return cuts[np.searchsorted(cuts, durations, side="right") - 1]


def _z_value(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return float(stats.norm.ppf(1 - alpha / 2))


# --------------------------------------------------------------------------- #
# Confidence intervals and quantile rules (R survfit_confint, print, quantile)
# --------------------------------------------------------------------------- #
def _confidence_limits(
    survival: np.ndarray, std_err_log: np.ndarray, conf_type: str, z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise limits as R ``survival:::survfit_confint`` (logse = TRUE)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half_width = std_err_log * survival * z
            return np.maximum(survival - half_width, 0.0), np.minimum(survival + half_width, 1.0)
        if conf_type == "log":
            positive = np.where(survival == 0, np.nan, survival)
            lower = np.exp(np.log(positive) - z * std_err_log)
            upper = np.minimum(np.exp(np.log(positive) + z * std_err_log), 1.0)
            return lower, upper
        if conf_type == "log-log":
            inside = np.where((survival == 0) | (survival == 1), np.nan, survival)
            shift = z * std_err_log / np.log(inside)
            log_minus_log = np.log(-np.log(inside))
            return np.exp(-np.exp(log_minus_log - shift)), np.exp(-np.exp(log_minus_log + shift))
        if conf_type == "logit":  # R computes log(p/(1-p)) of the unmasked p: S = 1 gives NaN limits
            inside = np.where(survival == 0, np.nan, survival)
            half_width = z * std_err_log * (1 + inside / (1 - inside))
            logit = np.log(survival / (1 - survival))
            return 1 - 1 / (1 + np.exp(logit - half_width)), 1 - 1 / (1 + np.exp(logit + half_width))
        if conf_type == "arcsin":
            inside = np.where(survival == 0, np.nan, survival)
            half_width = 0.5 * z * std_err_log * np.sqrt(inside / (1 - inside))
            angle = np.arcsin(np.sqrt(inside))
            return (np.sin(np.maximum(0.0, angle - half_width)) ** 2,
                    np.sin(np.minimum(np.pi / 2, angle + half_width)) ** 2)
    raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")


def _median_print_rule(times: np.ndarray, curve: np.ndarray, tolerance: float = R_TOLERANCE) -> float:
    """First time the curve is <= 0.5, as ``minmin`` in R ``survival:::survmean``.

    If the curve equals 0.5 (within ``tolerance``) there and drops lower later,
    the midpoint between that time and the time of the next drop is returned.
    """
    keep = ~np.isnan(curve) & (curve < 0.5 + tolerance)
    if not keep.any():
        return float("nan")
    kept_times, kept_curve = times[keep], curve[keep]
    if abs(kept_curve[0] - 0.5) < tolerance:
        lower_after = np.flatnonzero(kept_curve < kept_curve[0])
        if lower_after.size:
            return float((kept_times[0] + kept_times[lower_after[0]]) / 2)
    return float(kept_times[0])


def _quantile_rule(
    times: np.ndarray, curve: np.ndarray, probs: np.ndarray, tolerance: float = R_TOLERANCE
) -> np.ndarray:
    """Quantiles of a survival curve as ``findq`` in R ``survival:::quantile.survfit``.

    Replicates the R code step by step: prepend (0, S=1), drop repeated
    values, constant interpolation with ``approx(f = 1)`` at p +/- tolerance,
    and the special case of a curve ending exactly at 1 - p.
    """
    x = np.concatenate(([0.0], times))
    y = np.concatenate(([0.0], 1.0 - curve))
    if np.nanmax(y) < probs.min():
        return np.full(probs.shape, np.nan)
    last_time = x[-1]
    first_seen = ~pd.Series(y).duplicated().to_numpy()
    x, y = x[first_seen], y[first_seen]
    positions = np.arange(y.size)

    def step_index(offset: float) -> np.ndarray:
        # approx(y + offset, 1:n, p, method = "constant", f = 1): NA-free, sorted knots
        valid = ~np.isnan(y)
        knots = y[valid] + offset
        order = np.argsort(knots, kind="stable")
        knots, knot_positions = knots[order], positions[valid][order]
        slot = np.searchsorted(knots, probs, side="left")
        outside = (probs < knots[0]) | (probs > knots[-1])
        result = np.where(outside, -1, knot_positions[np.minimum(slot, knots.size - 1)])
        return result

    first_index = step_index(tolerance)
    second_index = step_index(-tolerance)

    def time_at(index: np.ndarray) -> np.ndarray:
        return np.where(index >= 0, x[np.maximum(index, 0)], np.nan)

    quantiles = (time_at(first_index) + time_at(second_index)) / 2
    quantiles = np.where(probs == 0, x[0], quantiles)
    if not np.isnan(y[-1]):
        ends_here = np.abs(probs - y[-1]) < tolerance
        quantiles = np.where(ends_here, (time_at(first_index) + last_time) / 2, quantiles)
    return quantiles


# --------------------------------------------------------------------------- #
# Kaplan-Meier
# --------------------------------------------------------------------------- #
@dataclass(frozen=True, eq=False)
class KaplanMeierResult:
    """Kaplan-Meier fit, one entry per distinct observed time (R ``survfit``).

    Attributes
    ----------
    time, n_risk, n_event, n_censor : numpy.ndarray
        Distinct times (events or censorings), number at risk just before
        each time, events and censorings at each time.
    survival : numpy.ndarray
        Kaplan-Meier estimate S(t).
    std_err_log : numpy.ndarray
        Greenwood standard error of log S(t) (R ``survfit()$std.err``);
        ``inf`` where S(t) = 0.
    lower, upper : numpy.ndarray
        Pointwise confidence limits; ``nan`` where R gives ``NA``.
    n, n_events : int
        Number of patients and of events.
    conf_type : str
        ``"log"``, ``"log-log"``, ``"plain"``, ``"logit"`` or ``"arcsin"``.
    alpha : float
        1 - confidence level.
    median : float
        Median survival, ``nan`` if not reached (R ``print.survfit`` rule).
    median_ci : tuple of float
        (lower, upper) confidence limits of the median, ``nan`` if not reached.
    n_dropped : int
        Rows left out for a missing time or event (R ``na.omit``; R reports
        them as ``length(fit$na.action)``).
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    survival: np.ndarray
    std_err_log: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n: int
    n_events: int
    conf_type: str
    alpha: float
    median: float = field(init=False)
    median_ci: tuple[float, float] = field(init=False)
    n_dropped: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "median", _median_print_rule(self.time, self.survival))
        object.__setattr__(
            self,
            "median_ci",
            (_median_print_rule(self.time, self.lower), _median_print_rule(self.time, self.upper)),
        )

    def __repr__(self) -> str:
        return (
            f"KaplanMeierResult(n={self.n}, n_events={self.n_events}, median={self.median:g}, "
            f"median_ci=({self.median_ci[0]:g}, {self.median_ci[1]:g}), conf_type={self.conf_type!r}, "
            f"alpha={self.alpha:g})"
        )

    @property
    def std_err(self) -> np.ndarray:
        """Greenwood standard error of S(t), as printed by R ``summary.survfit``."""
        with np.errstate(invalid="ignore"):
            return self.std_err_log * self.survival

    @property
    def table(self) -> pd.DataFrame:
        """One row per distinct time, like R ``summary(fit, censored = TRUE)``.

        Columns: time, n_risk, n_event, n_censor, survival, std_err (SE of S),
        lower, upper, std_err_log (SE of log S, R ``fit$std.err``).
        """
        return pd.DataFrame(
            {
                "time": self.time,
                "n_risk": self.n_risk,
                "n_event": self.n_event,
                "n_censor": self.n_censor,
                "survival": self.survival,
                "std_err": self.std_err,
                "lower": self.lower,
                "upper": self.upper,
                "std_err_log": self.std_err_log,
            }
        )

    def _with_time_zero(self) -> dict[str, np.ndarray]:
        """Curve with a (0, S=1) row prepended unless time 0 is observed (R ``survfit0``)."""
        columns = {
            "time": self.time,
            "n_risk": self.n_risk,
            "n_event": self.n_event,
            "n_censor": self.n_censor,
            "survival": self.survival,
            "std_err_log": self.std_err_log,
            "lower": self.lower,
            "upper": self.upper,
        }
        if self.time[0] == 0:
            return columns
        start_values = {
            "time": 0.0,
            "n_risk": self.n_risk[0],
            "n_event": 0,
            "n_censor": 0,
            "survival": 1.0,
            "std_err_log": 0.0,
            "lower": 1.0,
            "upper": 1.0,
        }
        return {name: np.concatenate(([start_values[name]], values)) for name, values in columns.items()}

    def number_at_risk(self, times: Any) -> np.ndarray:
        """Number at risk at each time, in the order given.

        Patients whose time equals ``t`` count as at risk at ``t``; 0 after the
        last follow-up. Same as R ``summary(fit, times = t, extend = TRUE)$n.risk``.

        Parameters
        ----------
        times : float or array-like of float
            Times (NaN not allowed; +inf gives 0).

        Returns
        -------
        numpy.ndarray of int
        """
        query = _as_1d(times, "times").astype(float)
        if np.any(np.isnan(query)):
            raise ValueError("times contain NaN")
        curve = self._with_time_zero()
        n_before = np.searchsorted(curve["time"], query, side="left")
        return np.append(curve["n_risk"], 0)[n_before].astype(int)

    def risk_table(self, times: Any) -> pd.DataFrame:
        """KMunicate risk table: at risk, cumulative events and cumulative censored at each time.

        ``n_risk`` is R ``summary(fit, times = t, extend = TRUE)$n.risk``;
        ``events`` and ``censored`` are the cumulative sums of that summary's
        ``n.event`` and ``n.censor`` up to t (everything observed at times
        <= t). Times are kept in the order given (NaN not allowed).

        Parameters
        ----------
        times : float or array-like of float

        Returns
        -------
        pandas.DataFrame
            Columns time, n_risk, events, censored (int).

        References
        ----------
        .. [1] Morris TP, Jarvis CI, Cragg W, Phillips PPJ, Choodari-Oskooei B,
           Sydes MR. "Proposals on Kaplan-Meier plots in medical research and
           a survey of stakeholder views: KMunicate." BMJ Open 9 (2019):
           e030215.
        .. [2] Therneau T. survival: Survival Analysis, R package, function
           ``summary.survfit``. https://CRAN.R-project.org/package=survival
        """
        query = _as_1d(times, "times").astype(float)
        if np.any(np.isnan(query)):
            raise ValueError("times contain NaN")
        n_at_or_before = np.searchsorted(self.time, query, side="right")
        cumulative_events = np.concatenate(([0], np.cumsum(self.n_event)))[n_at_or_before]
        cumulative_censored = np.concatenate(([0], np.cumsum(self.n_censor)))[n_at_or_before]
        return pd.DataFrame({"time": query, "n_risk": self.number_at_risk(query),
                             "events": cumulative_events.astype(int), "censored": cumulative_censored.astype(int)})

    def survival_at_times(self, times: Any) -> pd.DataFrame:
        """Survival at given times, as R ``summary(fit, times = times, extend = TRUE)``.

        Follows R exactly: times are sorted and non-finite times dropped; S(t)
        is the value at the last observed time <= t (1 before the first time,
        the last value after the last follow-up); ``n_risk`` is the number at
        risk at t (0 after the last follow-up); ``n_event`` and ``n_censor``
        count what happened since the previous requested time (since 0 for the
        first one).

        Parameters
        ----------
        times : array-like of float

        Returns
        -------
        pandas.DataFrame
            Columns time, n_risk, n_event, n_censor, survival, std_err, lower, upper.

        References
        ----------
        .. [1] Therneau T. survival: Survival Analysis, R package, function
           ``summary.survfit``. https://CRAN.R-project.org/package=survival
        """
        query = np.sort(_as_1d(times, "times").astype(float))
        query = query[np.isfinite(query)]
        curve = self._with_time_zero()
        n_at_or_before = np.searchsorted(curve["time"], query, side="right")
        row = np.maximum(n_at_or_before, 1) - 1
        cumulative_events = np.concatenate(([0], np.cumsum(curve["n_event"])))[n_at_or_before]
        cumulative_censored = np.concatenate(([0], np.cumsum(curve["n_censor"])))[n_at_or_before]
        survival = curve["survival"][row]
        with np.errstate(invalid="ignore"):
            std_err = curve["std_err_log"][row] * survival
        return pd.DataFrame(
            {
                "time": query,
                "n_risk": self.number_at_risk(query),
                "n_event": np.diff(cumulative_events, prepend=0).astype(int),
                "n_censor": np.diff(cumulative_censored, prepend=0).astype(int),
                "survival": survival,
                "std_err": std_err,
                "lower": curve["lower"][row],
                "upper": curve["upper"][row],
            }
        )

    def survival_at(self, t: float) -> tuple[float, float, float]:
        """(S(t), lower, upper) at one time; see :meth:`survival_at_times`."""
        if np.ndim(t) != 0:
            raise ValueError("survival_at takes one time; use survival_at_times for several")
        if not np.isfinite(t):
            raise ValueError(f"t must be finite, got {t}")
        row = self.survival_at_times([t]).iloc[0]
        return float(row["survival"]), float(row["lower"]), float(row["upper"])

    def quantile(self, probs: Any = (0.25, 0.5, 0.75)) -> pd.DataFrame:
        """Survival-time quantiles with confidence limits, as R ``quantile.survfit``.

        The p-quantile is the first time with S(t) <= 1 - p; where S(t) equals
        1 - p (within ``sqrt(.Machine$double.eps)``) over an interval, the
        midpoint of that interval; where the curve ends exactly at 1 - p, the
        midpoint between that time and the last follow-up (``print.survfit``,
        hence :attr:`median`, returns the time itself in that case). The lower
        limit comes from the lower confidence curve, the upper limit from the
        upper curve (Brookmeyer & Crowley).

        Parameters
        ----------
        probs : float or array-like of float in [0, 1]

        Returns
        -------
        pandas.DataFrame
            Columns prob, quantile, lower, upper (``nan`` when not reached).

        References
        ----------
        .. [1] Brookmeyer R, Crowley J. "A confidence interval for the median
           survival time." Biometrics 38 (1982): 29-41.
        .. [2] Therneau T. survival: Survival Analysis, R package, function
           ``quantile.survfit``. https://CRAN.R-project.org/package=survival
        """
        prob_values = _as_1d(probs, "probs").astype(float)
        if np.any(np.isnan(prob_values)) or np.any((prob_values < 0) | (prob_values > 1)):
            raise ValueError("probs must be in [0, 1]")
        return pd.DataFrame(
            {
                "prob": prob_values,
                "quantile": _quantile_rule(self.time, self.survival, prob_values),
                "lower": _quantile_rule(self.time, self.lower, prob_values),
                "upper": _quantile_rule(self.time, self.upper, prob_values),
            }
        )


def _kaplan_meier_fit(
    durations: np.ndarray, events: np.ndarray, conf_type: str, alpha: float
) -> KaplanMeierResult:
    """Kaplan-Meier on validated, tie-merged data: tally per distinct time, then :func:`_kaplan_meier_tallies`."""
    times, time_index = np.unique(durations, return_inverse=True)
    n_at_time = np.bincount(time_index, minlength=times.size)
    n_event = np.bincount(time_index, weights=events, minlength=times.size).astype(int)
    return _kaplan_meier_tallies(times, n_event, n_at_time - n_event, conf_type, alpha)


def _kaplan_meier_tallies(
    times: np.ndarray, n_event: np.ndarray, n_censor: np.ndarray, conf_type: str, alpha: float
) -> KaplanMeierResult:
    """Kaplan-Meier from events and censorings per distinct, sorted time (the one implementation)."""
    n_at_time = n_event + n_censor
    n_total = int(n_at_time.sum())
    n_risk = n_total - np.concatenate(([0], np.cumsum(n_at_time)[:-1]))
    survivors = n_risk - n_event
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(survivors / n_risk)
        greenwood_terms = np.where(n_event > 0, n_event / (n_risk * survivors), 0.0)
    std_err_log = np.sqrt(np.cumsum(greenwood_terms))
    lower, upper = _confidence_limits(survival, std_err_log, conf_type, _z_value(alpha))
    return KaplanMeierResult(
        time=times,
        n_risk=n_risk,
        n_event=n_event,
        n_censor=n_censor,
        survival=survival,
        std_err_log=std_err_log,
        lower=lower,
        upper=upper,
        n=n_total,
        n_events=int(n_event.sum()),
        conf_type=conf_type,
        alpha=float(alpha),
    )


def _check_conf_type(conf_type: str) -> None:
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")


def kaplan_meier(
    durations: Any,
    events: Any,
    conf_type: str = "log",
    alpha: float = 0.05,
    timefix: bool = True,
) -> KaplanMeierResult:
    """Kaplan-Meier survival curve with Greenwood confidence intervals.

    Reproduces R ``survfit(Surv(durations, events) ~ 1, conf.type = conf_type,
    conf.int = 1 - alpha)`` from package survival 3.x.

    Parameters
    ----------
    durations : array-like of float
        Follow-up times, non-negative and finite.
    events : array-like of bool or {0, 1}
        1 / True = event, 0 / False = censored.
    conf_type : {"log", "log-log", "plain", "logit", "arcsin"}
        Transformation for the pointwise intervals: ``S exp(+-z se)``,
        ``S^exp(+-z se / log S)``, ``S (1 +- z se)`` clipped to [0, 1], on the
        logit scale with ``se / (1 - S)``, or on ``asin(sqrt(S))`` with
        ``se sqrt(S / (1 - S)) / 2``; ``se`` is the standard error of log S.
        Limits are ``nan`` where R gives ``NA`` or ``NaN`` (S = 0; for
        "log-log", "logit" and "arcsin" also S = 1).
    alpha : float
        1 - confidence level (0.05 gives 95% intervals).
    timefix : bool
        Merge times closer than ``sqrt(.Machine$double.eps)`` first, as R
        (``timefix = TRUE``) does.

    Returns
    -------
    KaplanMeierResult

    Raises
    ------
    ValueError
        Empty input (or no row left once missing values are dropped),
        negative or infinite durations, events outside {0, 1}, length
        mismatch, unknown ``conf_type``.

    Notes
    -----
    Rows with a missing (NaN / None / NA) duration or event are dropped, as
    R's default ``na.action = na.omit``; their number is ``n_dropped``.
    S(t) = prod_{t_i <= t} (1 - d_i / n_i). Censorings tied with events are
    counted at risk at that time. Greenwood: var(log S(t)) =
    sum_{t_i <= t} d_i / (n_i (n_i - d_i)). The median and its confidence
    interval follow ``print.survfit``: the first time the curve (or its lower /
    upper confidence curve) is <= 0.5; if the curve equals 0.5 over an
    interval, the midpoint of that interval.

    References
    ----------
    .. [1] Kaplan EL, Meier P. "Nonparametric estimation from incomplete
       observations." J Am Stat Assoc 53 (1958): 457-481.
    .. [2] Greenwood M. "The natural duration of cancer." Reports on Public
       Health and Medical Subjects 33, HMSO, London (1926).
    .. [3] Brookmeyer R, Crowley J. "A confidence interval for the median
       survival time." Biometrics 38 (1982): 29-41.
    .. [4] Therneau T. survival: Survival Analysis, R package version 3.5-3,
       functions ``survfit.formula``, ``print.survfit``, ``quantile.survfit``.
       https://CRAN.R-project.org/package=survival

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 2, 3], [1, 1, 0, 1])
    >>> km.median  # S = 0.5 on [2, 3): midpoint, as R
    2.5
    >>> km.survival_at(2.5)[0]
    0.5
    """
    _check_conf_type(conf_type)
    _z_value(alpha)
    durations, events, _, n_dropped = _complete_cases(durations, events)
    duration_values, event_values = _validate_durations_events(durations, events)
    if timefix:
        duration_values = _merge_near_ties(duration_values)
    fit = _kaplan_meier_fit(duration_values, event_values, conf_type, alpha)
    if n_dropped:
        object.__setattr__(fit, "n_dropped", n_dropped)
    return fit


@dataclass(frozen=True, eq=False)
class GroupedKaplanMeier:
    """Kaplan-Meier fits per group.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per group: group, n, events, median, median_lower,
        median_upper, then ``survival_<t>``, ``lower_<t>``, ``upper_<t>`` for
        each landmark t (formatted with ``:g``).
    landmarks : pandas.DataFrame
        Long format: group plus the columns of
        :meth:`KaplanMeierResult.survival_at_times` for the landmark times.
    fits : dict
        Group label -> :class:`KaplanMeierResult`, in group order.
    n_dropped : int
        Rows left out for a missing time, event or group (R ``na.omit``).
    """

    summary: pd.DataFrame
    landmarks: pd.DataFrame
    fits: dict
    n_dropped: int = 0


def kaplan_meier_by_group(
    durations: Any,
    events: Any,
    groups: Any,
    conf_type: str = "log",
    alpha: float = 0.05,
    landmarks: Sequence[float] = (),
    timefix: bool = True,
) -> GroupedKaplanMeier:
    """Kaplan-Meier curve for each group, as R ``survfit(Surv(t, e) ~ group)``.

    Parameters
    ----------
    durations, events, conf_type, alpha, timefix
        As in :func:`kaplan_meier`. Near-tied times are merged over the whole
        data set before splitting, as R does.
    groups : array-like
        Group label per patient (str, int, bool...). Rows with a missing
        time, event or group are dropped (R ``na.omit``) and counted in
        ``n_dropped``. Groups are sorted when the labels are sortable (R factor levels),
        otherwise kept in order of appearance.
    landmarks : sequence of float
        Times at which S(t) and its limits are reported (R
        ``summary(fit, times = , extend = TRUE)``).

    Returns
    -------
    GroupedKaplanMeier

    References
    ----------
    .. [1] Kaplan EL, Meier P. J Am Stat Assoc 53 (1958): 457-481.
    .. [2] Greenwood M. Reports on Public Health and Medical Subjects 33 (1926).
    .. [3] Brookmeyer R, Crowley J. Biometrics 38 (1982): 29-41.
    .. [4] Therneau T. survival: Survival Analysis, R package, ``survfit``.
       https://CRAN.R-project.org/package=survival
    """
    _check_conf_type(conf_type)
    _z_value(alpha)
    durations, events, groups, n_dropped = _complete_cases(durations, events, groups)
    duration_values, event_values = _validate_durations_events(durations, events)
    codes, labels = _encode_groups(_validate_groups(groups, duration_values.size))
    if timefix:
        duration_values = _merge_near_ties(duration_values)
    landmark_times = [float(t) for t in np.atleast_1d(np.asarray(landmarks, dtype=float))]

    order = np.argsort(codes, kind="stable")
    boundaries = np.searchsorted(codes[order], np.arange(len(labels) + 1))
    fits: dict = {}
    for code, label in enumerate(labels):  # loop over groups, not patients
        members = order[boundaries[code] : boundaries[code + 1]]
        fits[label] = _kaplan_meier_fit(duration_values[members], event_values[members], conf_type, alpha)
    return _grouped_result(fits, landmark_times, n_dropped)


def _grouped_result(fits: dict, landmark_times: list[float], n_dropped: int) -> GroupedKaplanMeier:
    """Summary and landmark tables of per-group fits (patient and count paths alike)."""
    summary_rows, landmark_frames = [], []
    for label, fit in fits.items():
        row = {
            "group": label,
            "n": fit.n,
            "events": fit.n_events,
            "median": fit.median,
            "median_lower": fit.median_ci[0],
            "median_upper": fit.median_ci[1],
        }
        for t in landmark_times:
            s, lo, hi = fit.survival_at(t)
            row.update({f"survival_{t:g}": s, f"lower_{t:g}": lo, f"upper_{t:g}": hi})
        summary_rows.append(row)
        if landmark_times:
            frame = fit.survival_at_times(landmark_times)
            frame.insert(0, "group", label)
            landmark_frames.append(frame)
    landmark_table = (
        pd.concat(landmark_frames, ignore_index=True)
        if landmark_frames
        else pd.DataFrame(columns=["group", "time", "n_risk", "n_event", "n_censor", "survival", "std_err", "lower", "upper"])
    )
    return GroupedKaplanMeier(summary=pd.DataFrame(summary_rows), landmarks=landmark_table, fits=fits,
                              n_dropped=n_dropped)


# --------------------------------------------------------------------------- #
# Log-rank test
# --------------------------------------------------------------------------- #
@dataclass(frozen=True, eq=False)
class LogrankResult:
    """Log-rank test, as R ``survdiff(rho = 0)``.

    Attributes
    ----------
    statistic : float
        Chi-square statistic.
    p_value : float
        Upper tail of chi-square(df); ``nan`` when df < 0 (no events).
    df : int
        Number of groups with expected > 0, minus 1 (as R).
    table : pandas.DataFrame
        group, n, observed, expected, oe2_over_e ((O-E)^2/E),
        oe2_over_v ((O-E)^2/V) - the columns of ``print.survdiff``.
    variance : numpy.ndarray
        Variance matrix of O - E (R ``survdiff()$var``), group order as table.
    generalised_inverse : bool
        True if the variance matrix was singular (R stops with an error) and a
        Moore-Penrose inverse was used; df is then its rank.
    n_dropped : int
        Rows left out for a missing time, event or group (R ``na.omit``).
    """

    statistic: float
    p_value: float
    df: int
    table: pd.DataFrame
    variance: np.ndarray
    generalised_inverse: bool = False
    n_strata: int = 0
    n_dropped_strata: int = 0
    n_dropped: int = 0


class LogrankPair(tuple):
    """``(statistic, p_value)`` of :func:`logrank_test`, with ``n_dropped`` (rows left out as R ``na.omit``)."""

    n_dropped: int = 0

    def __new__(cls, statistic: float, p_value: float, n_dropped: int = 0) -> "LogrankPair":
        pair = super().__new__(cls, (statistic, p_value))
        pair.n_dropped = n_dropped
        return pair


def _logrank_components(
    duration_values: np.ndarray, event_values: np.ndarray, codes: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed, expected and variance of O - E for one stratum (R ``survdiff``, rho = 0)."""
    return _logrank_tally_components(duration_values, np.ones(duration_values.size), event_values, codes, n_groups)


def _logrank_tally_components(
    time_values: np.ndarray, n_leaving: np.ndarray, n_deaths: np.ndarray, codes: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """As :func:`_logrank_components`, from rows of (time, patients leaving, deaths, group code).

    One row per patient (leaving 1) or per counted (time, group) cell: the sums are the same.
    """
    times, time_index = np.unique(time_values, return_inverse=True)
    cell = time_index * n_groups + codes
    size = times.size * n_groups
    leaving = np.bincount(cell, weights=n_leaving, minlength=size).reshape(times.size, n_groups)
    deaths = np.bincount(cell, weights=n_deaths, minlength=size).reshape(times.size, n_groups)
    return _logrank_sums(np.cumsum(leaving[::-1], axis=0)[::-1].astype(float), deaths)


def _logrank_sums(at_risk: np.ndarray, deaths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed, expected and variance of O - E from the numbers at risk and deaths per time (rows, ascending)
    and group (columns)."""
    event_rows = deaths.sum(axis=1) > 0
    at_risk, deaths = at_risk[event_rows], deaths[event_rows]
    total_at_risk = at_risk.sum(axis=1)
    total_deaths = deaths.sum(axis=1)
    observed = deaths.sum(axis=0)
    expected = (at_risk * (total_deaths / total_at_risk)[:, None]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(
            total_at_risk > 1,
            total_deaths * (total_at_risk - total_deaths) / (total_at_risk * (total_at_risk - 1)),
            0.0,
        )
    variance = np.diag((weight[:, None] * at_risk).sum(axis=0)) - (
        at_risk * (weight / total_at_risk)[:, None]
    ).T @ at_risk
    return observed, expected, variance


def logrank_table(
    durations: Any, events: Any, groups: Any, timefix: bool = True, strata: Any = None
) -> LogrankResult:
    """Log-rank test for k groups with observed / expected table.

    Reproduces R ``survdiff(Surv(durations, events) ~ groups)`` (rho = 0):
    at each distinct event time the d deaths are shared among groups in
    proportion to their numbers at risk; the statistic is
    (O - E)' V^-1 (O - E) over all groups but the first with expected > 0,
    chi-square with (number of such groups - 1) df. The result does not
    depend on row order or on how the groups are labelled.

    Parameters
    ----------
    durations, events, timefix
        As in :func:`kaplan_meier`.
    groups : array-like
        Group label per patient (any hashable type); at least two groups.
    strata : array-like, optional
        Stratum per patient: the stratified test of R ``survdiff(Surv(t, e)
        ~ group + strata(s))``. Observed, expected and the variance matrix are
        computed within each stratum and summed; the statistic, df and
        generalised-inverse rule are then as unstratified. Rows with a
        missing stratum are dropped and counted in ``n_dropped_strata``.
        Rows with a missing time, event or group are dropped, as R's default
        ``na.action = na.omit``, and counted in ``n_dropped``.

    Returns
    -------
    LogrankResult

    Raises
    ------
    ValueError
        Invalid input (see :func:`kaplan_meier`) or fewer than two groups
        (R: "There is only 1 group").

    Notes
    -----
    Edge cases follow R: a group with no events is kept (expected > 0); groups
    with expected = 0 are left out of the statistic and the df; with only one
    group left the statistic is 0 and p = 1; with no event at all the
    statistic is 0, df = -1 and p is ``nan``. If the variance matrix is
    exactly singular, where R stops with an error, a Moore-Penrose
    generalised inverse is used and df is its rank (p = ``nan`` if 0).

    References
    ----------
    .. [1] Mantel N. "Evaluation of survival data and two new rank order
       statistics arising in its consideration." Cancer Chemother Rep 50
       (1966): 163-170.
    .. [2] Peto R, Peto J. "Asymptotically efficient rank invariant test
       procedures." J R Stat Soc A 135 (1972): 185-207.
    .. [3] Therneau T. survival: Survival Analysis, R package, ``survdiff``.
       https://CRAN.R-project.org/package=survival
    """
    n_dropped_strata = 0
    if strata is not None:
        strata_values = _as_1d(strata, "strata", dtype=object)
        if strata_values.size != np.asarray(durations).reshape(-1).size:
            raise ValueError("strata and durations differ in length")
        keep = ~pd.isna(pd.Series(strata_values, dtype=object)).to_numpy()
        n_dropped_strata = int((~keep).sum())
        durations = _as_1d(durations, "durations")[keep]
        events = _as_1d(events, "events")[keep]
        groups = _as_1d(groups, "groups", dtype=object)
        if groups.size != keep.size:
            raise ValueError(f"groups has length {groups.size}, expected {keep.size}")
        groups = groups[keep]
        strata_values = strata_values[keep]
        # the rows _complete_cases drops below (missing time, event or group) leave their stratum too
        incomplete = (np.asarray(pd.isna(durations), dtype=bool) | np.asarray(pd.isna(events), dtype=bool)
                      | np.asarray(pd.isna(pd.Series(groups, dtype=object)), dtype=bool))
        strata_values = strata_values[~incomplete]
    durations, events, groups, n_dropped = _complete_cases(durations, events, groups)
    duration_values, event_values = _validate_durations_events(durations, events)
    codes, labels = _encode_groups(_validate_groups(groups, duration_values.size))
    n_groups = len(labels)
    if n_groups < 2:
        raise ValueError("log-rank test needs at least two groups; only one was given")
    if timefix:
        duration_values = _merge_near_ties(duration_values)
    if strata is None:  # one stratum: the same sums
        return _stratified_logrank(duration_values, event_values, codes, labels,
                                   np.zeros(duration_values.size, dtype=np.int64), 0, n_dropped, stratified=False)
    return _stratified_logrank(duration_values, event_values, codes, labels, strata_values, n_dropped_strata,
                               n_dropped)


def _logrank_chisq(observed: np.ndarray, expected: np.ndarray, variance: np.ndarray) -> tuple[float, float, int, bool]:
    """Statistic, p, df and whether a generalised inverse was used (R ``survdiff`` rules)."""
    used = expected > 0
    df = int(used.sum()) - 1
    generalised = False
    if used.sum() < 2:
        statistic = 0.0
    else:
        difference = (observed - expected)[used][1:]
        reduced_variance = variance[np.ix_(used, used)][1:, 1:]
        try:
            statistic = float(difference @ np.linalg.solve(reduced_variance, difference))
        except np.linalg.LinAlgError:
            generalised = True
            statistic = float(difference @ np.linalg.pinv(reduced_variance) @ difference)
            df = int(np.linalg.matrix_rank(reduced_variance))
    if df < 0 or (generalised and df == 0):
        p_value = float("nan")
    elif df == 0:
        p_value = 1.0
    else:
        p_value = float(stats.chi2.sf(statistic, df))
    return statistic, p_value, df, generalised


def _stratified_logrank(
    duration_values: np.ndarray, event_values: np.ndarray, codes: np.ndarray, labels: list,
    strata_values: np.ndarray, n_dropped_strata: int, n_dropped: int = 0, stratified: bool = True,
    n_leaving: np.ndarray | None = None,
) -> LogrankResult:
    """Log-rank test summed over the strata of ``strata_values`` (validated, tie-merged data); one stratum
    when not ``stratified`` (``n_strata`` is then 0, as for a test without strata).

    Rows are patients (``n_leaving`` None; ``event_values`` 0/1) or counted cells (``n_leaving`` patients
    leaving the risk set at that time, ``event_values`` of them with an event).
    """
    n_groups = len(labels)
    if n_leaving is None:
        n_leaving = np.ones(duration_values.size)
    stratum_codes, stratum_labels = _encode_groups(strata_values)
    observed = np.zeros(n_groups)
    expected = np.zeros(n_groups)
    variance = np.zeros((n_groups, n_groups))
    for code in range(len(stratum_labels)):  # loop over strata, not patients
        members = stratum_codes == code
        o, e, v = _logrank_tally_components(duration_values[members], n_leaving[members], event_values[members],
                                            codes[members], n_groups)
        observed += o
        expected += e
        variance += v
    statistic, p_value, df, generalised = _logrank_chisq(observed, expected, variance)
    with np.errstate(divide="ignore", invalid="ignore"):
        table = pd.DataFrame(
            {
                "group": labels,
                "n": np.rint(np.bincount(codes, weights=n_leaving, minlength=n_groups)).astype(np.int64),
                "observed": observed,
                "expected": expected,
                "oe2_over_e": (observed - expected) ** 2 / expected,
                "oe2_over_v": (observed - expected) ** 2 / np.diag(variance),
            }
        )
    return LogrankResult(
        statistic=statistic, p_value=p_value, df=df, table=table, variance=variance,
        generalised_inverse=generalised, n_strata=len(stratum_labels) if stratified else 0,
        n_dropped_strata=n_dropped_strata, n_dropped=n_dropped,
    )


def logrank_test(durations: Any, events: Any, groups: Any, strata: Any = None) -> "LogrankPair":
    """Log-rank test for k groups: ``(chi-square statistic, p-value)``.

    Same as R ``survdiff(Surv(durations, events) ~ groups)$chisq`` and its
    p-value (k - 1 df). Rows with a missing value are dropped as R ``na.omit``; the tuple's ``n_dropped``
    counts them. See :func:`logrank_table` for observed / expected counts, df and edge cases; ``strata``
    gives the stratified test (R ``survdiff(... ~ groups + strata(strata))``).

    References
    ----------
    .. [1] Mantel N. Cancer Chemother Rep 50 (1966): 163-170.
    .. [2] Peto R, Peto J. J R Stat Soc A 135 (1972): 185-207.
    .. [3] Therneau T. survival: Survival Analysis, R package, ``survdiff``.
       https://CRAN.R-project.org/package=survival
    """
    result = logrank_table(durations, events, groups, strata=strata)
    return LogrankPair(result.statistic, result.p_value, result.n_dropped)



# --------------------------------------------------------------------------- #
# Count-based entry points (a database counts, analysis stays exact)
# --------------------------------------------------------------------------- #
#: Columns of a survival count table: one row per (group, stratum, time) with patients leaving the risk set.
SURVIVAL_COUNT_COLUMNS = ("group", "stratum", "time", "n_event", "n_censor")


def survival_counts(durations: Any, events: Any, groups: Any = None, strata: Any = None) -> pd.DataFrame:
    """Events and censorings per distinct (group, stratum, time): the table a database ``GROUP BY`` gives.

    Rows with a missing time or event are counted on a row with a missing
    time (the count functions drop them as R ``na.omit`` and report them);
    missing groups and strata stay missing.

    Parameters
    ----------
    durations, events : array-like
        As in :func:`kaplan_meier` (not validated here; the count functions validate the counts).
    groups, strata : array-like, optional
        Group and stratum per patient; None gives a single value (``"All"`` / 0).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SURVIVAL_COUNT_COLUMNS`.

    Examples
    --------
    >>> survival_counts([1, 2, 2], [1, 0, 1])[["time", "n_event", "n_censor"]].to_numpy().tolist()
    [[1.0, 1.0, 0.0], [2.0, 1.0, 1.0]]
    """
    time = pd.to_numeric(pd.Series(_as_1d(durations, "durations")), errors="raise").astype(float)
    event = pd.to_numeric(pd.Series(_as_1d(events, "events")).astype(object), errors="raise").astype(float)
    n = time.size
    frame = pd.DataFrame({
        "group": pd.Series(_as_1d(groups, "groups", dtype=object) if groups is not None else ["All"] * n,
                           dtype=object),
        "stratum": pd.Series(_as_1d(strata, "strata", dtype=object) if strata is not None else [0] * n,
                             dtype=object),
        "time": time.where(event.notna()).to_numpy(),
        "n_event": event.fillna(0).to_numpy(),
    })
    frame["n_censor"] = 1.0 - frame["n_event"]
    counted = frame.groupby(["group", "stratum", "time"], dropna=False, sort=False)[["n_event", "n_censor"]].sum()
    return counted.reset_index()[list(SURVIVAL_COUNT_COLUMNS)]


def _checked_counts(counts: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """Validated count rows with at least one patient, and the patients of rows left out for a missing
    time, group or stratum (R ``na.omit``)."""
    if not isinstance(counts, pd.DataFrame):
        raise ValueError("counts must be a DataFrame with columns " + ", ".join(columns))
    missing_columns = [c for c in columns if c not in counts.columns]
    if missing_columns:
        raise ValueError(f"counts lack the column(s) {missing_columns}")
    frame = counts[list(columns)]
    tallies = frame[["n_event", "n_censor"]].to_numpy(dtype=float)
    if np.isnan(tallies).any() or (tallies < 0).any() or np.any(tallies != np.rint(tallies)):
        raise ValueError("n_event and n_censor must be non-negative whole numbers")
    time = pd.to_numeric(frame["time"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(time[pd.notna(frame["time"]).to_numpy()]).any():
        raise ValueError("count times must be numeric")
    incomplete = np.isnan(time)
    for key in (c for c in columns if c in ("group", "stratum")):
        incomplete |= pd.isna(frame[key]).to_numpy()
    patients = tallies.sum(axis=1)
    n_dropped = int(patients[incomplete].sum())
    keep = ~incomplete & (patients > 0)
    if not keep.any():
        raise ValueError("no patient left: the counts hold no complete row" if n_dropped == 0 else
                         f"no patient left: all {n_dropped} patients have a missing time, event or group")
    kept = frame[keep].copy()
    kept["time"] = time[keep]
    if not np.all(np.isfinite(kept["time"])):
        raise ValueError("durations contain infinite values")
    if (kept["time"] < 0).any():
        raise ValueError("durations must be non-negative")
    kept["n_event"] = tallies[keep, 0].astype(np.int64)
    kept["n_censor"] = tallies[keep, 1].astype(np.int64)
    return kept, n_dropped


def _tallies(times: np.ndarray, n_event: np.ndarray, n_censor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts summed per distinct time, times sorted."""
    distinct, index = np.unique(times, return_inverse=True)
    events = np.bincount(index, weights=n_event, minlength=distinct.size)
    censored = np.bincount(index, weights=n_censor, minlength=distinct.size)
    return distinct, np.rint(events).astype(np.int64), np.rint(censored).astype(np.int64)


def kaplan_meier_from_counts(
    time: Any, n_event: Any, n_censor: Any, conf_type: str = "log", alpha: float = 0.05, timefix: bool = True,
) -> KaplanMeierResult:
    """Kaplan-Meier curve from events and censorings per time, the same fit as :func:`kaplan_meier`.

    Parameters
    ----------
    time : array-like of float
        Times; may repeat (rows are summed per time). A missing time holds
        patients with a missing time or event (left out as R ``na.omit``,
        counted in ``n_dropped``).
    n_event, n_censor : array-like of int
        Events and censorings at each time.
    conf_type, alpha, timefix
        As in :func:`kaplan_meier`; near-tied times are merged over the
        distinct times, which is what R's ``aeqSurv`` looks at.

    Returns
    -------
    KaplanMeierResult
        Equal to ``kaplan_meier`` on the patients the counts describe.

    References
    ----------
    .. [1] Kaplan EL, Meier P. J Am Stat Assoc 53 (1958): 457-481.
    .. [2] Therneau T. survival: Survival Analysis, R package, ``survfit``.
       https://CRAN.R-project.org/package=survival

    Examples
    --------
    >>> kaplan_meier_from_counts([1, 2, 3], [1, 1, 1], [0, 1, 0]).median
    2.5
    """
    _check_conf_type(conf_type)
    _z_value(alpha)
    counts, n_dropped = _checked_counts(
        pd.DataFrame({"time": _as_1d(time, "time"), "n_event": _as_1d(n_event, "n_event"),
                      "n_censor": _as_1d(n_censor, "n_censor")}), ("time", "n_event", "n_censor"))
    times = counts["time"].to_numpy(dtype=float)
    if timefix:
        times = _merge_near_ties(times)
    fit = _kaplan_meier_tallies(*_tallies(times, counts["n_event"].to_numpy(), counts["n_censor"].to_numpy()),
                                conf_type, alpha)
    if n_dropped:
        object.__setattr__(fit, "n_dropped", n_dropped)
    return fit


def kaplan_meier_by_group_from_counts(
    counts: pd.DataFrame, conf_type: str = "log", alpha: float = 0.05, landmarks: Sequence[float] = (),
    timefix: bool = True,
) -> GroupedKaplanMeier:
    """Kaplan-Meier curve per group from a count table, the same result as :func:`kaplan_meier_by_group`.

    Parameters
    ----------
    counts : pandas.DataFrame
        Columns ``group, time, n_event, n_censor`` (e.g. :func:`survival_counts`
        or a database ``GROUP BY``); other columns are summed over. Rows with
        a missing time or group are left out and their patients counted in
        ``n_dropped`` (R ``na.omit``).
    conf_type, alpha, landmarks, timefix
        As in :func:`kaplan_meier_by_group` (near ties merged over all groups).

    Returns
    -------
    GroupedKaplanMeier
        Equal to ``kaplan_meier_by_group`` on the patients the counts describe.

    References
    ----------
    .. [1] Kaplan EL, Meier P. J Am Stat Assoc 53 (1958): 457-481.
    .. [2] Therneau T. survival: Survival Analysis, R package, ``survfit``.
       https://CRAN.R-project.org/package=survival
    """
    _check_conf_type(conf_type)
    _z_value(alpha)
    rows, n_dropped = _checked_counts(counts, ("group", "time", "n_event", "n_censor"))
    codes, labels = _encode_groups(rows["group"].to_numpy(dtype=object))
    times = rows["time"].to_numpy(dtype=float)
    if timefix:
        times = _merge_near_ties(times)
    landmark_times = [float(t) for t in np.atleast_1d(np.asarray(landmarks, dtype=float))]
    n_event, n_censor = rows["n_event"].to_numpy(), rows["n_censor"].to_numpy()
    fits = {}
    for code, label in enumerate(labels):  # loop over groups, not times
        members = codes == code
        fits[label] = _kaplan_meier_tallies(*_tallies(times[members], n_event[members], n_censor[members]),
                                            conf_type, alpha)
    return _grouped_result(fits, landmark_times, n_dropped)


def logrank_table_from_counts(counts: pd.DataFrame, timefix: bool = True, stratified: bool | None = None) -> LogrankResult:
    """Log-rank test from a count table, the same result as :func:`logrank_table`.

    Parameters
    ----------
    counts : pandas.DataFrame
        Columns ``group, time, n_event, n_censor`` and, for the stratified
        test, ``stratum``. Rows with a missing time or group are left out
        (``n_dropped``); with ``stratum``, rows with a missing stratum are
        left out first (``n_dropped_strata``), as :func:`logrank_table`.
    timefix : bool
        As in :func:`logrank_table`.
    stratified : bool, optional
        Default: stratified when ``counts`` has a ``stratum`` column.

    Returns
    -------
    LogrankResult

    References
    ----------
    .. [1] Mantel N. Cancer Chemother Rep 50 (1966): 163-170.
    .. [2] Therneau T. survival: Survival Analysis, R package, ``survdiff``.
       https://CRAN.R-project.org/package=survival
    """
    stratified = "stratum" in counts.columns if stratified is None else stratified
    n_dropped_strata = 0
    frame = counts
    if stratified:
        missing_stratum = pd.isna(frame["stratum"]).to_numpy()
        n_dropped_strata = int(frame.loc[missing_stratum, ["n_event", "n_censor"]].to_numpy(dtype=float).sum())
        frame = frame[~missing_stratum]
    columns = ("group",) + (("stratum",) if stratified else ()) + ("time", "n_event", "n_censor")
    rows, n_dropped = _checked_counts(frame, columns)
    codes, labels = _encode_groups(rows["group"].to_numpy(dtype=object))
    if len(labels) < 2:
        raise ValueError("log-rank test needs at least two groups; only one was given")
    times = rows["time"].to_numpy(dtype=float)
    if timefix:
        times = _merge_near_ties(times)
    n_event = rows["n_event"].to_numpy(dtype=float)
    leaving = n_event + rows["n_censor"].to_numpy(dtype=float)
    strata_values = rows["stratum"].to_numpy(dtype=object) if stratified else np.zeros(len(rows), dtype=np.int64)
    return _stratified_logrank(times, n_event, codes, labels, strata_values, n_dropped_strata, n_dropped,
                               stratified=stratified, n_leaving=leaving)
