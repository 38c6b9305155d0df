"""Cox proportional-hazards regression that reproduces R ``survival::coxph``.

The fit is a Newton-Raphson iteration written for data sorted by time: risk-set
sums are reverse cumulative sums of the risk scores, and the Efron correction
is applied per tied-event block with vectorised arithmetic, so there is no
Python loop over patients.  The iteration, the step-halving rule, the
convergence test (relative change of the log partial likelihood <= 1e-9, at
most 20 iterations, start at 0), the tolerance for singular information
matrices and the merging of nearly equal times (``timefix``) follow
``coxph`` / ``coxph.fit`` / ``coxfit6.c`` of survival 3.5, so coefficients,
standard errors, log-likelihoods and the likelihood-ratio, score and Wald tests
agree with R to about 1e-9 relative.

Term naming
-----------
* numeric column ``x`` -> term ``"x"`` (per-unit hazard ratio);
* boolean column ``flag`` -> term ``"flag"`` (True vs False, entered as 0/1);
* object/string/categorical column ``g`` -> one term ``"g[level]"`` per
  non-reference level, like an R factor with treatment contrasts.  The
  reference is the first level: the first used category of a pandas
  ``Categorical`` (categories without rows are dropped, like ``droplevels``),
  otherwise the first of the sorted distinct values.  To choose another
  reference, pass a ``Categorical`` with that level first.

Not estimable terms
-------------------
When a level has no events, or a covariate separates events perfectly (every
event has the highest, or lowest, value in its risk set), the partial
likelihood is monotone and the maximum-likelihood hazard ratio is 0 or
infinite.  R stops at a large coefficient with a huge standard error and warns
"Loglik converged before variable ...; coefficient may be infinite".  Here
such terms get ``estimable=False``, ``NaN`` estimates and a note; they are
found both structurally (event counts per level, risk-set extremes) and with
R's numerical check.  No Firth-penalised fit is offered (it could not be
validated against a reference implementation in this environment).

References
----------
.. [1] Cox DR. Regression models and life-tables. J R Stat Soc B.
   1972;34(2):187-220.
.. [2] Efron B. The efficiency of Cox's likelihood function for censored data.
   J Am Stat Assoc. 1977;72(359):557-565.
.. [3] Breslow NE. Covariance analysis of censored survival data.
   Biometrics. 1974;30(1):89-99.
.. [4] Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox
   Model. Springer; 2000.
.. [5] Peduzzi P, Concato J, Feinstein AR, Holford TR. Importance of events per
   independent variable in proportional hazards regression analysis. II.
   Accuracy and precision of regression estimates. J Clin Epidemiol.
   1995;48(12):1503-1510.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api.types import (
    is_bool_dtype,
    is_numeric_dtype,
)
from scipy import stats

__all__ = ["fit_cox", "univariate_cox", "InsufficientDataError", "TIES_METHODS"]

TIES_METHODS = ("efron", "breslow")

# coxph.control() defaults
EPS = 1e-9
ITER_MAX = 20
TOLER_CHOL = np.finfo(float).eps ** 0.75
TOLER_INF = np.sqrt(EPS)
TIMEFIX_TOLERANCE = np.sqrt(np.finfo(float).eps)

MIN_EVENTS_PER_TERM = 10  # Peduzzi et al. 1995

# _RiskSets._cross: multiply-adds per block product (p * p * rows). OpenBLAS runs
# products below 2**18 of them (and dot / matrix-vector products below about
# 9,000 elements) single-threaded; threaded products of 15-30 terms x 1,000,000
# rows measured 5-7 times slower on a loaded 2-core machine.
_CROSS_BLOCK_WORK = 2**18 - 1
_CROSS_MIN_BLOCK = 64
_CROSS_MAX_BLOCK = 8192

TERM_COLUMNS = [
    "covariate", "level", "reference",
    "coef", "se", "z", "p", "hr", "hr_lower", "hr_upper",
    "n", "events", "level_n", "level_events", "reference_n", "reference_events",
    "estimable", "note",
]


class InsufficientDataError(ValueError):
    """The data leave nothing to estimate (no events, fewer than 2 rows, ...)."""


# --------------------------------------------------------------------------
# input checks and design matrix
# --------------------------------------------------------------------------

@dataclass
class _Term:
    name: str
    covariate: str
    kind: str  # "numeric", "bool" or "factor"
    level: str | None = None
    reference: str | None = None


@dataclass
class _Design:
    time: np.ndarray
    event: np.ndarray
    x: np.ndarray  # n x p, original units
    terms: list[_Term]
    n_dropped: int
    warnings: list[str] = field(default_factory=list)
    complete: np.ndarray | None = None  # which rows of df were used


def _as_list(covariates) -> list[str]:
    if isinstance(covariates, str):
        return [covariates]
    covariates = list(covariates)
    if not covariates:
        raise ValueError("covariates is empty: give at least one column name")
    if len(set(covariates)) != len(covariates):
        raise ValueError(f"covariates contain duplicates: {covariates}")
    return covariates


def _check_arguments(df, duration_col, event_col, covariates, ties, alpha):
    if ties not in TIES_METHODS:
        raise ValueError(f"ties must be one of {TIES_METHODS}, got {ties!r}")
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    if not isinstance(df, pd.DataFrame):
        raise ValueError("df must be a pandas DataFrame")
    if len(df) == 0:
        raise ValueError("df is empty: no rows to fit")
    used = [duration_col, event_col, *covariates]
    missing = [c for c in used if c not in df.columns]
    if missing:
        raise ValueError(f"columns not found in df: {missing}")
    if duration_col in covariates or event_col in covariates:
        raise ValueError("duration or event column is also listed as a covariate")


def _checked_time_and_event(data, duration_col, event_col):
    time_col = data[duration_col]
    if is_bool_dtype(time_col) or not is_numeric_dtype(time_col):
        raise ValueError(f"duration column {duration_col!r} must be numeric")
    time = time_col.to_numpy(dtype=float)
    if not np.all(np.isfinite(time)):
        raise ValueError(f"duration column {duration_col!r} has infinite values")
    if np.any(time < 0):
        raise ValueError(f"duration column {duration_col!r} has negative times "
                         f"({int(np.sum(time < 0))} rows)")
    event_values = data[event_col]
    if not (is_bool_dtype(event_values) or is_numeric_dtype(event_values)):
        raise ValueError(f"event column {event_col!r} must be 0/1 or boolean")
    event = event_values.to_numpy(dtype=float)
    if not np.all((event == 0) | (event == 1)):
        bad = sorted(set(event[(event != 0) & (event != 1)].tolist()))[:5]
        raise ValueError(f"event column {event_col!r} must contain only 0/1 "
                         f"(or False/True); found {bad}")
    return time, event.astype(bool)


def _factor_levels(values: pd.Series) -> list:
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values.unique())
        return [c for c in values.cat.categories if c in present]
    distinct = list(values.unique())
    try:
        return sorted(distinct)
    except TypeError:  # mixed types in an object column
        return sorted(distinct, key=str)


def _expand_covariates(data: pd.DataFrame, covariates: list[str]):
    columns, terms, warnings = [], [], []
    for col in covariates:
        values = data[col]
        if is_bool_dtype(values):
            x = values.to_numpy(dtype=float)
            if np.ptp(x) == 0:
                warnings.append(f"covariate {col!r} is constant; dropped")
                continue
            columns.append(x)
            terms.append(_Term(col, col, "bool", "True", "False"))
        elif is_numeric_dtype(values):
            x = values.to_numpy(dtype=float)
            if not np.all(np.isfinite(x)):
                raise ValueError(f"covariate {col!r} has infinite values")
            if np.ptp(x) == 0:
                warnings.append(f"covariate {col!r} is constant ({x[0]:g}); dropped")
                continue
            columns.append(x)
            terms.append(_Term(col, col, "numeric"))
        elif isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == object \
                or pd.api.types.is_string_dtype(values):
            levels = _factor_levels(values)
            if isinstance(values.dtype, pd.CategoricalDtype):
                unused = [c for c in values.cat.categories if c not in levels]
                if unused:
                    warnings.append(f"covariate {col!r}: categories without rows "
                                    f"dropped: {unused}")
            if len(levels) < 2:
                warnings.append(f"covariate {col!r} has a single level "
                                f"({levels[0]!r}); dropped")
                continue
            reference = levels[0]
            codes = pd.Index(levels, dtype=object).get_indexer(values.astype(object))
            for code, level in enumerate(levels[1:], start=1):
                columns.append((codes == code).astype(float))
                terms.append(_Term(f"{col}[{level}]", col, "factor", str(level),
                                   str(reference)))
        else:
            raise ValueError(f"covariate {col!r} has unsupported dtype {values.dtype}")
    return columns, terms, warnings


def _build_design(df, duration_col, event_col, covariates) -> _Design:
    used = [duration_col, event_col, *covariates]
    complete = df[used].notna().all(axis=1).to_numpy()
    n_dropped = int(len(df) - complete.sum())
    data = df.loc[complete, used]
    warnings = []
    if n_dropped:
        warnings.append(f"{n_dropped} of {len(df)} rows dropped because of missing "
                        f"values (like R's na.omit)")
    if len(data) == 0:
        raise InsufficientDataError("no rows without missing values")
    time, event = _checked_time_and_event(data, duration_col, event_col)
    if len(data) < 2:
        raise InsufficientDataError(f"only {len(data)} complete row: a Cox model "
                                    "needs at least 2")
    if not event.any():
        raise InsufficientDataError(f"no events among the {len(data)} complete rows: "
                                    "hazard ratios cannot be estimated")
    columns, terms, covariate_warnings = _expand_covariates(data, covariates)
    warnings += covariate_warnings
    if not terms:
        raise InsufficientDataError("no covariate varies in the data: nothing to estimate")
    x = np.column_stack(columns)
    return _Design(time, event, x, terms, n_dropped, warnings, complete)


def _timefix(sorted_time: np.ndarray) -> np.ndarray:
    """Merge times that differ only by rounding error, like R's ``aeqSurv``."""
    distinct = np.r_[True, np.diff(sorted_time) != 0]
    unique = sorted_time[distinct]
    if unique.size < 2:
        return sorted_time
    gaps = np.diff(unique)
    tied = (gaps <= TIMEFIX_TOLERANCE) | (gaps / np.mean(np.abs(unique)) <= TIMEFIX_TOLERANCE)
    if not tied.any():
        return sorted_time
    cuts = unique[np.r_[True, ~tied]]
    return cuts[np.searchsorted(cuts, sorted_time, side="right") - 1]


# --------------------------------------------------------------------------
# log partial likelihood and its derivatives on sorted data
# --------------------------------------------------------------------------

class _RiskSets:
    """Index arrays reused by every Newton-Raphson iteration (data sorted by time).

    Covariates are stored transposed (terms x rows, each row contiguous). The
    information matrix sums small matrix products over blocks of rows
    (:meth:`_cross`), sized so that BLAS runs them on the calling thread:
    multithreaded BLAS gains nothing for so few terms and stalls on a busy
    machine.
    """

    def __init__(self, time, event, x_scaled, ties):
        self.xt = np.ascontiguousarray(x_scaled.T)
        self.p, self.n = self.xt.shape
        self.upper_i, self.upper_j = np.triu_indices(self.p)
        self.deaths = np.flatnonzero(event)
        death_time = time[self.deaths]
        # risk set of a death = rows from the first row with the same time onwards
        self.risk_start = np.searchsorted(time, death_time, side="left")
        self.x_deaths_sum = self.xt[:, self.deaths].sum(axis=1)
        block_first = np.flatnonzero(np.r_[True, np.diff(death_time) != 0])
        block_size = np.diff(np.r_[block_first, death_time.size])
        size_of_death = np.repeat(block_size, block_size)
        self.efron = ties == "efron" and bool(np.any(block_size > 1))
        if self.efron:
            # only deaths in tied blocks need the Efron correction
            rank_in_block = np.arange(death_time.size) - np.repeat(block_first, block_size)
            self.tied_pos = np.flatnonzero(size_of_death > 1)
            self.tied_rows = self.deaths[self.tied_pos]
            tied_first = np.flatnonzero(np.r_[True, np.diff(death_time[self.tied_pos]) != 0])
            tied_size = np.diff(np.r_[tied_first, self.tied_pos.size])
            self.tied_first = tied_first
            self.tied_block = np.repeat(np.arange(tied_first.size), tied_size)
            self.tied_fraction = (rank_in_block / size_of_death)[self.tied_pos]

    def derivatives(self, beta):
        """Log partial likelihood, score and information at ``beta``."""
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            return self._derivatives(beta)

    def _derivatives(self, beta):
        xt = self.xt
        eta = xt[0] * beta[0]
        for j in range(1, self.p):
            eta += xt[j] * beta[j]
        # no shift of eta, as in coxfit6: an overflow gives a non-finite
        # loglik, which triggers step-halving exactly as in R
        risk = np.exp(eta)
        risk_x = xt * risk
        # risk-set sums: cumulative sums from the end, read at each death
        s0 = np.cumsum(risk[::-1])[::-1][self.risk_start]
        s1 = np.cumsum(risk_x[:, ::-1], axis=1)[:, ::-1][:, self.risk_start]
        if self.efron:
            # the l-th of d tied deaths leaves l/d of the deaths' risk out
            d0 = np.add.reduceat(risk[self.tied_rows], self.tied_first)
            d1 = np.add.reduceat(risk_x[:, self.tied_rows], self.tied_first, axis=1)
            f = self.tied_fraction
            s0[self.tied_pos] -= f * d0[self.tied_block]
            s1[:, self.tied_pos] -= f * d1[:, self.tied_block]
        inverse_s0 = 1.0 / s0
        mean_x = s1 * inverse_s0
        loglik = float(np.sum(eta[self.deaths]) - np.sum(np.log(s0)))
        # sums over deaths of S1/s0 and S2/s0 are x'w and x' diag(w) x, with
        # w_j = risk_j * (sum of 1/s0 over the deaths whose risk set holds j,
        # less the Efron share of j's own tied block)
        weight = risk * np.cumsum(np.bincount(self.risk_start, weights=inverse_s0,
                                              minlength=self.n))
        if self.efron:
            share = np.bincount(self.tied_block, weights=f * inverse_s0[self.tied_pos])
            weight[self.tied_rows] -= risk[self.tied_rows] * share[self.tied_block]
        weighted_x = xt * weight
        score = self.x_deaths_sum - weighted_x.sum(axis=1)  # = sum of mean_x over deaths
        information = self._cross(weighted_x, xt) - self._cross(mean_x, mean_x)
        return loglik, score, information

    def _cross(self, a, b):
        """a b' for wide a, b (terms x rows) known to give a symmetric result.

        Summed over blocks of rows, each a small matrix product (about
        ``_CROSS_BLOCK_WORK`` multiply-adds, which OpenBLAS runs on the calling
        thread: no stall on a busy machine), instead of p(p+1)/2 full-length
        products; the upper triangle is mirrored so the result is exactly
        symmetric.
        """
        p, n = a.shape
        block = min(_CROSS_MAX_BLOCK, max(_CROSS_MIN_BLOCK, _CROSS_BLOCK_WORK // (p * p)))
        product = np.zeros((p, p))
        for start in range(0, n, block):
            product += a[:, start:start + block] @ b[:, start:start + block].T
        product[self.upper_j, self.upper_i] = product[self.upper_i, self.upper_j]
        return product


# --------------------------------------------------------------------------
# linear algebra with coxph's tolerance for singular matrices
# --------------------------------------------------------------------------

def _nonsingular(matrix: np.ndarray, toler: float = TOLER_CHOL) -> np.ndarray:
    """Columns kept by survival's ``cholesky2`` (pivot >= toler * max diagonal)."""
    a = np.array(matrix, dtype=float)
    size = a.shape[0]
    diag_max = max(float(np.max(np.diag(a), initial=0.0)), 0.0)
    eps = toler if diag_max == 0 else diag_max * toler
    keep = np.zeros(size, dtype=bool)
    for i in range(size):  # loop over terms only (p is small)
        pivot = a[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            continue
        keep[i] = True
        below = a[i + 1:, i] / pivot
        a[i + 1:, i + 1:] -= np.outer(below, a[i, i + 1:])
    return keep


def _generalized_inverse(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = _nonsingular(matrix)
    inverse = np.zeros_like(matrix, dtype=float)
    if keep.any():
        sub = matrix[np.ix_(keep, keep)]
        inverse[np.ix_(keep, keep)] = np.linalg.inv(sub)
    return inverse, keep


def _generalized_solve(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    keep = _nonsingular(matrix)
    solution = np.zeros_like(vector, dtype=float)
    if keep.any():
        solution[keep] = np.linalg.solve(matrix[np.ix_(keep, keep)], vector[keep])
    return solution


# --------------------------------------------------------------------------
# Newton-Raphson as in coxfit6.c
# --------------------------------------------------------------------------

@dataclass
class _Fit:
    beta: np.ndarray
    var: np.ndarray
    score_at_beta: np.ndarray
    loglik_null: float
    loglik: float
    score_test: float
    iterations: int
    converged: bool
    rank_keep: np.ndarray


def _newton_raphson(risk_sets: _RiskSets) -> _Fit:
    p = risk_sets.p
    beta = np.zeros(p)
    loglik_null, score, information = risk_sets.derivatives(beta)
    step = _generalized_solve(information, score)
    score_test = float(score @ step)
    best_loglik = loglik_null
    new_beta = beta + step
    halving = 0
    for iteration in range(1, ITER_MAX + 1):
        new_loglik, score, information = risk_sets.derivatives(new_beta)
        finite = (np.isfinite(new_loglik) and np.all(np.isfinite(score))
                  and np.all(np.isfinite(information)))
        with np.errstate(divide="ignore", invalid="ignore"):
            small_change = abs(1 - best_loglik / new_loglik) <= EPS
        if finite and small_change:
            var, keep = _generalized_inverse(information)
            return _Fit(new_beta, var, score, loglik_null, new_loglik, score_test,
                        iteration, True, keep)
        if not finite or new_loglik < best_loglik:
            halving += 1  # step back towards the last good beta
            new_beta = (new_beta + halving * beta) / (halving + 1.0)
        else:
            halving = 0
            best_loglik = new_loglik
            step = _generalized_solve(information, score)
            beta = new_beta
            new_beta = beta + step
    # out of iterations: report the last good beta, as coxph does
    loglik, score, information = risk_sets.derivatives(beta)
    var, keep = _generalized_inverse(information)
    return _Fit(beta, var, score, loglik_null, loglik, score_test, ITER_MAX + 1, False, keep)


# --------------------------------------------------------------------------
# monotone likelihood (infinite hazard ratios)
# --------------------------------------------------------------------------

def _monotone_notes(design: _Design, indicator: np.ndarray) -> dict[str, str]:
    """Notes for terms whose hazard ratio is structurally 0 or infinite."""
    notes: dict[str, str] = {}
    time, event, x = design.time, design.event, design.x  # sorted by time
    deaths = np.flatnonzero(event)
    risk_start = np.searchsorted(time, time[deaths], side="left")
    # a level without events: hazard ratio 0 (or infinite for the reference)
    by_covariate: dict[str, list[int]] = {}
    for index, term in enumerate(design.terms):
        by_covariate.setdefault(term.covariate, []).append(index)
    for covariate, indices in by_covariate.items():
        term = design.terms[indices[0]]
        if term.kind not in ("factor", "bool"):
            continue
        prefix = f"{covariate} = " if term.kind == "bool" else ""
        in_any_level = x[:, indices].sum(axis=1) > 0
        if not np.any(event & ~in_any_level):
            for index in indices:
                notes[design.terms[index].name] = (
                    f"not estimable: no events in reference level {prefix}{term.reference} "
                    f"(infinite hazard ratio)")
        for index in indices:
            level_term = design.terms[index]
            if level_term.name not in notes and not np.any(event & (x[:, index] == 1)):
                notes[level_term.name] = (f"not estimable: no events in "
                                          f"{prefix}{level_term.level} (infinite hazard ratio)")
    # every death has the extreme value of its risk set: monotone likelihood
    at_max, at_min = _at_risk_set_extremes(x, deaths, risk_start)
    for index, term in enumerate(design.terms):
        if term.name in notes or not (at_max[index] or at_min[index]):
            continue
        if term.kind == "numeric" and indicator[index] \
                and not np.any(event & (x[:, index] == (0.0 if at_max[index] else 1.0))):
            level = f"{term.name} = {0 if at_max[index] else 1}"
            notes[term.name] = f"not estimable: no events in {level} (infinite hazard ratio)"
            continue
        side = "highest" if at_max[index] else "lowest"
        notes[term.name] = (f"not estimable: every event has the {side} {term.name} "
                            f"in its risk set (perfect separation, infinite hazard ratio)")
    return notes


def _at_risk_set_extremes(x, deaths, risk_start, n_screen=64):
    """Terms whose every death has the highest (lowest) value of its risk set.

    ``(at_max, at_min)``, boolean per column of `x` (rows sorted by time),
    counting only columns that vary within some risk set. The first
    `n_screen` deaths are checked first, on their few rows plus one pass
    over the rest; only columns that pass go through the full check over
    all deaths, which usually none does.
    """
    p = x.shape[1]
    at_max, at_min = np.zeros(p, dtype=bool), np.zeros(p, dtype=bool)
    first = min(n_screen, deaths.size)
    start, stop = risk_start[0], risk_start[first - 1]
    tail = x[stop:]
    # risk-set extremes of the first deaths: running extremes over the rows before
    # the last of their risk starts, then the extremes of all rows after it
    head_max = np.maximum.accumulate(np.vstack([x[start:stop], tail.max(axis=0)])[::-1], axis=0)[::-1]
    head_min = np.minimum.accumulate(np.vstack([x[start:stop], tail.min(axis=0)])[::-1], axis=0)[::-1]
    x_first = x[deaths[:first]]
    offset = risk_start[:first] - start
    candidates = np.all(x_first == head_max[offset], axis=0) | np.all(x_first == head_min[offset], axis=0)
    if not candidates.any():
        return at_max, at_min
    columns = np.flatnonzero(candidates)
    xc = x[:, columns]
    risk_max = np.maximum.accumulate(xc[::-1], axis=0)[::-1][risk_start]
    risk_min = np.minimum.accumulate(xc[::-1], axis=0)[::-1][risk_start]
    x_deaths = xc[deaths]
    informative = np.any(risk_max > risk_min, axis=0)
    at_max[columns] = np.all(x_deaths == risk_max, axis=0) & informative
    at_min[columns] = np.all(x_deaths == risk_min, axis=0) & informative
    return at_max, at_min


def _level_counts(design: _Design, indicator: np.ndarray) -> dict[str, np.ndarray]:
    """Rows and events in the level and in the reference of each 0/1 term."""
    x, event = design.x, design.event
    level_n = x.sum(axis=0)
    level_events = x[event].sum(axis=0)
    reference_n, reference_events = np.empty_like(level_n), np.empty_like(level_n)
    factor_reference: dict[str, np.ndarray] = {}  # rows in the reference, once per factor
    for index, term in enumerate(design.terms):
        if term.kind == "factor":
            if term.covariate not in factor_reference:
                same = [i for i, t in enumerate(design.terms) if t.covariate == term.covariate]
                factor_reference[term.covariate] = x[:, same].sum(axis=1) == 0
            in_reference = factor_reference[term.covariate]
        else:
            in_reference = x[:, index] == 0
        reference_n[index] = in_reference.sum()
        reference_events[index] = (in_reference & event).sum()
    only_indicator = np.where(indicator, 1.0, np.nan)
    return {"level_n": level_n * only_indicator, "level_events": level_events * only_indicator,
            "reference_n": reference_n * only_indicator,
            "reference_events": reference_events * only_indicator}


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------

def _chi2_p(statistic: float, df: int) -> float:
    if not np.isfinite(statistic) or df <= 0:
        return float("nan")
    return float(stats.chi2.sf(statistic, df))


def _stable_time_order(df: pd.DataFrame, duration_col: str) -> np.ndarray | None:
    """Stable sort order of all rows by time (missing last), or None if not numeric."""
    times = df[duration_col]
    if is_bool_dtype(times) or not is_numeric_dtype(times):
        return None
    return np.argsort(times.to_numpy(dtype=float, na_value=np.nan), kind="stable")


def _subset_order(time_order: np.ndarray, complete: np.ndarray) -> np.ndarray:
    """Stable time order of the complete rows, from the order of all rows.

    Equals ``np.argsort(time[complete], kind="stable")``: restricting a stable
    order to a subset keeps ties in row order, without sorting again.
    """
    position = np.cumsum(complete) - 1  # index of each complete row within the subset
    ordered = time_order[complete[time_order]]
    return position[ordered]


def fit_cox(df: pd.DataFrame, duration_col: str, event_col: str, covariates,
            ties: str = "efron", alpha: float = 0.05) -> pd.DataFrame:
    """Fit a Cox proportional-hazards model, matching R ``survival::coxph``.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per patient.
    duration_col : str
        Follow-up time (numeric, >= 0).
    event_col : str
        1/True = event, 0/False = censored.
    covariates : str or list of str
        Numeric and boolean columns enter as they are (bool as 0/1); object,
        string and categorical columns are expanded like an R factor with the
        first level as reference (terms ``"col[level]"``, see module doc).
    ties : {"efron", "breslow"}, default "efron"
        Handling of tied event times (Efron is coxph's default).
    alpha : float, default 0.05
        Confidence intervals are ``exp(coef +/- z_{1-alpha/2} * se)`` (Wald).

    Returns
    -------
    pandas.DataFrame
        Indexed by term, with columns ``covariate, level, reference, coef, se,
        z, p`` (Wald), ``hr, hr_lower, hr_upper``, ``n, events`` (model),
        ``level_n, level_events, reference_n, reference_events`` (rows/events
        in the level and in the reference, for 0/1 terms), ``estimable`` and
        ``note``.  Not estimable terms have ``NaN`` estimates.  ``attrs``
        holds ``n, events, n_dropped_missing, loglik`` (null, fitted),
        ``lr_statistic, lr_df, lr_p, score_statistic, score_df, score_p,
        wald_statistic, wald_df, wald_p, ties, alpha, iterations, converged,
        covariates`` (used), ``warnings`` (list of str).  The Wald test is
        ``NaN`` when a term is not estimable; the likelihood-ratio and score
        tests are reported as R does.

    Raises
    ------
    ValueError
        Empty ``df``, unknown columns, negative or infinite times, events other
        than 0/1, unsupported ``ties``.
    InsufficientDataError
        (a ``ValueError``) no events, fewer than 2 complete rows, or no
        covariate that varies.

    Notes
    -----
    Rows with a missing value in any used column are dropped (R's
    ``na.omit``); constant covariates are dropped with a warning.  Warnings
    are added when there are fewer than 10 events per term (Peduzzi et al.
    1995), when the iteration does not converge and when a term is not
    estimable.

    References
    ----------
    .. [1] Cox DR. Regression models and life-tables. J R Stat Soc B. 1972;34:187-220.
    .. [2] Efron B. The efficiency of Cox's likelihood function for censored
       data. J Am Stat Assoc. 1977;72:557-565.
    .. [3] Breslow NE. Covariance analysis of censored survival data.
       Biometrics. 1974;30:89-99.
    .. [4] Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox
       Model. Springer; 2000.
    .. [5] Peduzzi P, et al. Importance of events per independent variable in
       proportional hazards regression analysis II. J Clin Epidemiol.
       1995;48:1503-1510.
    """
    covariates = _as_list(covariates)
    _check_arguments(df, duration_col, event_col, covariates, ties, alpha)
    return _fit_cox(df, duration_col, event_col, covariates, ties, alpha)


def _fit_cox(df, duration_col, event_col, covariates, ties, alpha, time_order=None):
    """:func:`fit_cox` after the argument checks; `time_order` as :func:`_stable_time_order`."""
    design = _build_design(df, duration_col, event_col, covariates)
    if time_order is None:
        order = np.argsort(design.time, kind="stable")
    else:  # the rows sorted once for several models (univariate_cox)
        order = _subset_order(time_order, design.complete)
    design.time = _timefix(design.time[order])
    design.event = design.event[order]
    design.x = design.x[order]
    warnings = design.warnings
    n, p = design.x.shape
    events = int(design.event.sum())

    # centre and scale like coxfit6 (columns with values in {-1, 0, 1} untouched)
    x = design.x
    plain = np.all((x == 0) | (x == 1) | (x == -1), axis=0)
    means = np.where(plain, 0.0, x.mean(axis=0))
    spread = np.abs(x - means).mean(axis=0)
    scale = np.ones(p)
    scaled = ~plain & (spread > 0)
    scale[scaled] = 1.0 / spread[scaled]
    x_scaled = (x - means) * scale  # Newton-Raphson is invariant to this

    fit = _newton_raphson(_RiskSets(design.time, design.event, x_scaled, ties))
    beta = fit.beta * scale
    var = fit.var * np.outer(scale, scale)
    score = fit.score_at_beta / scale

    # R's checks (coxph.fit) for coefficients that may be infinite
    newton_step = np.abs(score @ var)
    if fit.converged:
        numeric_infinite = ~np.isfinite(score) | ((newton_step > EPS)
                                                  & (newton_step > TOLER_INF * np.abs(beta)))
    else:
        warnings.append(f"did not converge in {ITER_MAX} iterations")
        numeric_infinite = np.zeros(p, dtype=bool)
        if np.max((x - means) @ beta) > 500 or not np.all(np.isfinite(newton_step)):
            numeric_infinite = ~np.isfinite(newton_step) | (newton_step > TOLER_INF * np.abs(beta))
    indicator = np.all((x == 0) | (x == 1), axis=0)
    structural = _monotone_notes(design, indicator)

    estimable = np.ones(p, dtype=bool)
    notes = [""] * p
    for index, term in enumerate(design.terms):
        if not fit.rank_keep[index]:
            notes[index] = "not estimable: collinear with other terms (NA in R)"
        elif term.name in structural:
            notes[index] = structural[term.name]
        elif numeric_infinite[index]:
            notes[index] = "not estimable: coefficient may be infinite (monotone likelihood)"
        estimable[index] = not notes[index]

    z_crit = stats.norm.ppf(1 - alpha / 2)
    se = np.sqrt(np.diag(var))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = beta / se
        hr_bounds = np.exp([beta, beta - z_crit * se, beta + z_crit * se])
    nan_if_not = np.where(estimable, 1.0, np.nan)
    table = pd.DataFrame({
        "covariate": [t.covariate for t in design.terms],
        "level": [t.level for t in design.terms],
        "reference": [t.reference for t in design.terms],
        "coef": beta * nan_if_not, "se": se * nan_if_not, "z": z * nan_if_not,
        "p": stats.chi2.sf(z * z, 1) * nan_if_not,
        "hr": hr_bounds[0] * nan_if_not,
        "hr_lower": hr_bounds[1] * nan_if_not,
        "hr_upper": hr_bounds[2] * nan_if_not,
        "n": n, "events": events,
        **_level_counts(design, indicator),
        "estimable": estimable, "note": notes,
    }, index=pd.Index([t.name for t in design.terms], name="term"))[TERM_COLUMNS]

    not_estimable = table.index[~table["estimable"]].tolist()
    if not_estimable:
        warnings.append(f"not estimable (hazard ratio 0 or infinite, or collinear): "
                        f"{', '.join(not_estimable)}; consider merging sparse levels")
    events_per_term = events / p
    if events_per_term < MIN_EVENTS_PER_TERM:
        warnings.append(f"only {events_per_term:.1f} events per covariate term ({events} "
                        f"events, {p} term{'s' if p > 1 else ''}); fewer than {MIN_EVENTS_PER_TERM} per term "
                        f"makes estimates unreliable (Peduzzi et al. 1995)")

    df_model = int(fit.rank_keep.sum())
    lr_statistic = 2 * (fit.loglik - fit.loglik_null)
    kept = fit.rank_keep
    infinite = (~table["estimable"].to_numpy()) & kept
    if infinite.any():
        wald_statistic = float("nan")  # meaningless with an infinite coefficient
        warnings.append("Wald test not reported because a coefficient is infinite; "
                        "use the likelihood-ratio or score test")
    else:
        wald_statistic = float(beta[kept] @ _generalized_solve(var[np.ix_(kept, kept)],
                                                               beta[kept]))

    table.attrs = {
        "n": n, "events": events, "n_dropped_missing": design.n_dropped,
        "loglik": (fit.loglik_null, fit.loglik),
        "lr_statistic": lr_statistic, "lr_df": df_model, "lr_p": _chi2_p(lr_statistic, df_model),
        "score_statistic": fit.score_test, "score_df": df_model,
        "score_p": _chi2_p(fit.score_test, df_model),
        "wald_statistic": wald_statistic, "wald_df": df_model,
        "wald_p": _chi2_p(wald_statistic, df_model),
        "ties": ties, "alpha": alpha, "iterations": fit.iterations,
        "converged": fit.converged,
        "covariates": sorted({t.covariate for t in design.terms}, key=covariates.index),
        "warnings": warnings,
    }
    return table


def univariate_cox(df: pd.DataFrame, duration_col: str, event_col: str, covariates,
                   ties: str = "efron", alpha: float = 0.05) -> pd.DataFrame:
    """Screen covariates one at a time with separate Cox models.

    Each covariate is fitted alone on the rows where it (and time and event)
    is present, as in a table of univariate hazard ratios.

    Parameters
    ----------
    df, duration_col, event_col, ties, alpha
        As in :func:`fit_cox`.
    covariates : str or list of str
        Columns to screen, each in its own model.

    Returns
    -------
    pandas.DataFrame
        One row per term: ``covariate, term, level, reference, n, events,
        level_n, level_events, reference_n, reference_events, coef, se, hr,
        hr_lower, hr_upper, p`` (Wald), ``lr_p`` (likelihood-ratio p of the
        covariate as a whole), ``estimable, note, warnings``.  A covariate that
        cannot be fitted (no events, constant, ...) gives one row with
        ``estimable=False`` and the reason in ``note``.

    Raises
    ------
    ValueError
        As :func:`fit_cox` for invalid input (columns, times, events, ties).

    References
    ----------
    .. [1] Cox DR. Regression models and life-tables. J R Stat Soc B. 1972;34:187-220.
    .. [2] Efron B. J Am Stat Assoc. 1977;72:557-565.
    .. [3] Breslow NE. Biometrics. 1974;30:89-99.
    .. [4] Therneau TM, Grambsch PM. Modeling Survival Data. Springer; 2000.
    .. [5] Peduzzi P, et al. J Clin Epidemiol. 1995;48:1503-1510.
    """
    covariates = _as_list(covariates)
    _check_arguments(df, duration_col, event_col, covariates, ties, alpha)
    columns = ["covariate", "term", "level", "reference", "n", "events", "level_n",
               "level_events", "reference_n", "reference_events", "coef", "se", "hr",
               "hr_lower", "hr_upper", "p", "lr_p", "estimable", "note", "warnings"]
    rows = []
    time_order = _stable_time_order(df, duration_col)  # one sort for all the models
    for covariate in covariates:
        try:
            table = _fit_cox(df, duration_col, event_col, [covariate], ties, alpha, time_order)
        except InsufficientDataError as error:
            complete = df[[duration_col, event_col, covariate]].dropna()
            rows.append({"covariate": covariate, "term": covariate, "n": len(complete),
                         "events": int(pd.to_numeric(complete[event_col]).sum()),
                         "estimable": False, "note": f"not estimable: {error}",
                         "warnings": ""})
            continue
        for term, row in table.iterrows():
            rows.append({**row.to_dict(), "covariate": covariate, "term": term,
                         "lr_p": table.attrs["lr_p"],
                         "warnings": "; ".join(table.attrs["warnings"])})
    result = pd.DataFrame(rows, columns=columns)
    result["estimable"] = result["estimable"].astype(bool)
    return result
