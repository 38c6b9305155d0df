"""Cox proportional-hazards regression that reproduces R ``survival::coxph``.

The fit is a Newton-Raphson iteration written for data sorted by time: risk-set
sums are reverse cumulative sums of the risk scores, and the Efron correction
is applied per tied-event block with vectorised arithmetic, so there is no
Python loop over patients.  When the design has few distinct rows (factors,
booleans, small integers: few covariate "patterns"), the risk-set means and
variances [4]_ are regrouped by pattern, from counts (made once) of each
pattern's rows at risk and deaths at each death time, so that an iteration
has no exponential, cumulative sum or gather over the rows
(:class:`_PatternRiskSets`, chosen by a timing model, :func:`_patterns_pay`).
The iteration, the step-halving rule, the
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
from scipy import sparse, stats

from analysis.methods import TIES_METHODS

__all__ = ["fit_cox", "fit_cox_from_counts", "univariate_cox", "univariate_cox_from_counts", "InsufficientDataError",
           "TIES_METHODS"]


# coxph.control() defaults
EPS = 1e-9
ITER_MAX = 20
TOLER_CHOL = np.finfo(float).eps ** 0.75
TOLER_INF = np.sqrt(EPS)
TIMEFIX_TOLERANCE = np.sqrt(np.finfo(float).eps)

MIN_EVENTS_PER_TERM = 10  # Peduzzi et al. 1995

# _symmetric_product: multiply-adds per block product (p * p * rows). OpenBLAS runs
# products below 2**18 of them (and dot / matrix-vector products below about
# 9,000 elements) single-threaded; threaded products of 15-30 terms x 1,000,000
# rows measured 5-7 times slower on a loaded 2-core machine.
_CROSS_BLOCK_WORK = 2**18 - 1
_CROSS_MIN_BLOCK = 64
_CROSS_MAX_BLOCK = 8192
_MATVEC_BLOCK_WORK = 8192  # elements per matrix-vector block (_blocked_matvec)

#: risk sets used by _fit_cox: "auto" (:func:`_patterns_pay`), "rows" (_RiskSets)
#: or "patterns" (_PatternRiskSets, any number of patterns); tests force each
_RISK_SETS = "auto"
#: at most this many covariate patterns (distinct design rows) for _PatternRiskSets
_MAX_PATTERNS = 64
#: at most this many cells (8 bytes each: 128 MiB) in the dense counts (patterns x death times) of
#: _PatternRiskSets, whatever the number of patterns (:func:`_pattern_cells`)
_MAX_PATTERN_CELLS = 2**24
#: _PatternRiskSets sums outer products of the patterns' shares (False) or of their projections on the
#: covariates (True); None: the cheaper (tests force each)
_PROJECT_SHARES = None

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
    # level index (0 = reference) of each row, per factor covariate kept
    factor_codes: dict[str, np.ndarray] = field(default_factory=dict)


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
        codes = values.cat.codes.to_numpy()
        present = np.bincount(codes[codes >= 0], minlength=len(values.cat.categories)) > 0
        return [c for c, used in zip(values.cat.categories, present) if used]
    distinct = list(values.unique())
    try:
        return sorted(distinct)
    except TypeError:  # mixed types in an object column
        return sorted(distinct, key=str)


def _level_codes(values: pd.Series, levels: list) -> np.ndarray:
    """Index in `levels` of each value (all values are levels)."""
    if isinstance(values.dtype, pd.CategoricalDtype):  # from the category codes
        position = np.full(len(values.cat.categories), -1, dtype=np.intp)
        position[values.cat.categories.get_indexer(levels)] = np.arange(len(levels))
        return position[values.cat.codes.to_numpy()]
    return pd.Index(levels, dtype=object).get_indexer(values.astype(object))


def _expand_covariates(data, covariates: list[str]):
    """Terms of the covariates (`data`: column name -> Series of the complete rows).

    Returns ``(columns, terms, warnings, factor_codes)``: per covariate kept,
    its values (numbers, 0/1) or, for a factor, its level codes (0 = reference).
    """
    columns, terms, warnings, factor_codes = [], [], [], {}
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
            codes = _level_codes(values, levels)
            factor_codes[col] = codes
            columns.append(codes)
            for level in levels[1:]:
                terms.append(_Term(f"{col}[{level}]", col, "factor", str(level),
                                   str(reference)))
        else:
            raise ValueError(f"covariate {col!r} has unsupported dtype {values.dtype}")
    return columns, terms, warnings, factor_codes


def _build_design(df, duration_col, event_col, covariates) -> _Design:
    used = [duration_col, event_col, *covariates]
    complete = np.ones(len(df), dtype=bool)
    for column in used:
        complete &= df[column].notna().to_numpy()
    n = int(np.count_nonzero(complete))
    n_dropped = len(df) - n
    # the complete rows of the used columns (no copy when all are complete)
    data = {column: df[column][complete] if n_dropped else df[column] for column in used}
    warnings = []
    if n_dropped:
        warnings.append(f"{n_dropped:,} of {len(df):,} rows dropped because of missing "
                        f"values (like R's na.omit)")
    if n == 0:
        raise InsufficientDataError("no rows without missing values")
    time, event = _checked_time_and_event(data, duration_col, event_col)
    if n < 2:
        raise InsufficientDataError(f"only {n} complete row: a Cox model "
                                    "needs at least 2")
    if not event.any():
        raise InsufficientDataError(f"no events among the {n} complete rows: "
                                    "hazard ratios cannot be estimated")
    columns, terms, covariate_warnings, factor_codes = _expand_covariates(data, covariates)
    warnings += covariate_warnings
    if not terms:
        raise InsufficientDataError("no covariate varies in the data: nothing to estimate")
    # design matrix: the columns as they are, factors as 0/1 columns per non-reference level
    x = np.zeros((n, len(terms)))
    index = 0
    for values in columns:
        if values.dtype.kind == "f":
            x[:, index] = values
            index += 1
        else:  # level codes: a 1 in the column of the level, none for the reference
            width = int(values.max())  # every level has rows
            rows = np.flatnonzero(values)
            x.reshape(-1)[rows * len(terms) + index + values[rows] - 1] = 1.0
            index += width
    return _Design(time, event, x, terms, n_dropped, warnings, complete, factor_codes)


def cox_design(df: pd.DataFrame, duration_col: str, event_col: str, covariates) -> dict:
    """The rows and design matrix :func:`fit_cox` fits, for diagnostics of a fitted model.

    Parameters
    ----------
    df, duration_col, event_col, covariates
        As in :func:`fit_cox`.

    Returns
    -------
    dict
        ``time`` (complete rows in their order in `df`, nearly equal times
        merged as R's ``aeqSurv``/``timefix``), ``event`` (bool), ``x`` (n x p
        design matrix in original units, factor levels as 0/1 columns),
        ``terms`` (the p term names, as the index of :func:`fit_cox`),
        ``term_covariates`` (the covariate of each column) and ``complete``
        (which rows of `df` were used).

    References
    ----------
    .. [1] Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox
       Model. Springer; 2000.
    """
    covariates = _as_list(covariates)
    _check_arguments(df, duration_col, event_col, covariates, "efron", 0.05)
    design = _build_design(df, duration_col, event_col, covariates)
    order = _stable_argsort(design.time)
    time = np.empty_like(design.time)
    time[order] = _timefix(design.time[order])
    return {"time": time, "event": design.event, "x": design.x,
            "terms": [t.name for t in design.terms],
            "term_covariates": [t.covariate for t in design.terms],
            "complete": design.complete}


# --------------------------------------------------------------------------
# rows in time order
# --------------------------------------------------------------------------

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


def _stable_argsort(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")`` for floats, faster when few values tie.

    numpy's default sort is vectorised and several times faster than its
    stable (merge) sort; its order differs from the stable one only within
    runs of equal values and among the NaNs (sorted last), which are put back
    in row order here. With many ties the stable sort is used instead.
    """
    values = np.asarray(values, dtype=float)
    order = np.argsort(values)
    ordered = values[order]
    finite = values.size - int(np.count_nonzero(np.isnan(ordered)))
    if values.size - finite > 1:
        order[finite:] = np.sort(order[finite:])
    if finite < 2:
        return order
    equal = ordered[1:finite] == ordered[:finite - 1]
    if not equal.any():
        return order
    in_run = np.zeros(finite, dtype=bool)
    in_run[1:] = equal
    in_run[:-1] |= equal
    tied = np.flatnonzero(in_run)
    if tied.size > values.size // 8:
        return np.argsort(values, kind="stable")
    # a run starts where a value differs from the one before
    run = np.cumsum(~np.r_[False, equal][tied])
    rows = order[tied]
    order[tied] = rows[np.lexsort((rows, run))]
    return order


class _Timeline:
    """Rows in time order and their death blocks: what depends on time and event only.

    Shared by the models that :func:`univariate_cox` fits on the same rows.

    Attributes
    ----------
    order : numpy.ndarray
        Rows of the design in (stable) time order.
    time, event : numpy.ndarray
        Sorted; nearly equal times merged by :func:`_timefix`.
    deaths : numpy.ndarray
        Sorted rows with an event.
    risk_start : numpy.ndarray
        Per death, the first row of its risk set (the first row with its time).
    block_size, block_start : numpy.ndarray
        Per distinct death time ("block"): deaths, first row of the risk set.
    block_of_death, rank_in_block : numpy.ndarray
        Per death: its block, and its place among the block's deaths (0, 1, ...).
    """

    def __init__(self, order, time, event, stratum=None):
        self.order, self.time, self.event = order, time, event
        new_time = np.empty(time.size, dtype=bool)
        new_time[0] = True
        np.not_equal(time[1:], time[:-1], out=new_time[1:])
        self.deaths = np.flatnonzero(event)
        # stratified (rows sorted by stratum, then time): a risk set ends with its stratum
        self.risk_stop = None
        if stratum is not None:
            new_stratum = np.r_[True, stratum[1:] != stratum[:-1]]
            new_time |= new_stratum
            stratum_end = np.r_[np.flatnonzero(new_stratum)[1:], time.size]
            self.risk_stop = stratum_end[(np.cumsum(new_stratum) - 1)[self.deaths]]
        death_group = (np.cumsum(new_time) - 1)[self.deaths]  # which distinct time
        self.risk_start = np.flatnonzero(new_time)[death_group]
        new_block = np.empty(self.deaths.size, dtype=bool)
        new_block[:1] = True
        np.not_equal(death_group[1:], death_group[:-1], out=new_block[1:])
        block_first = np.flatnonzero(new_block)
        self.block_size = np.diff(np.r_[block_first, self.deaths.size])
        self.block_start = self.risk_start[block_first]
        self.block_of_death = np.repeat(np.arange(block_first.size), self.block_size)
        self.rank_in_block = np.arange(self.deaths.size) - np.repeat(block_first, self.block_size)
        self._segment = None
        # as :class:`_CountedTimeline`: the rows with a death, their deaths, their block
        self.death_rows, self.death_weight, self.death_row_block = self.deaths, None, self.block_of_death

    def segment(self) -> np.ndarray:
        """Per row, the number of death blocks whose risk set holds it.

        Row ``i`` is at risk at blocks ``0 .. segment[i] - 1``.
        """
        if self._segment is None:
            starts = np.zeros(self.time.size, dtype=np.intp)
            starts[self.block_start] = 1
            self._segment = np.cumsum(starts)
        return self._segment


# --------------------------------------------------------------------------
# log partial likelihood and its derivatives on sorted data
# --------------------------------------------------------------------------

def _blocked_cross(a, b, weight=None):
    """a b' (or a diag(weight) b') for wide a, b (k x columns).

    Summed over blocks of columns, each a small matrix product (about
    ``_CROSS_BLOCK_WORK`` multiply-adds, which OpenBLAS runs on the calling
    thread: no stall on a busy machine), instead of k^2 full-length products.
    """
    k, n = a.shape
    block = min(_CROSS_MAX_BLOCK, max(_CROSS_MIN_BLOCK, _CROSS_BLOCK_WORK // (k * k)))
    product = np.zeros((k, b.shape[0]))
    for start in range(0, n, block):
        left = a[:, start:start + block]
        if weight is not None:
            left = left * weight[start:start + block]
        product += left @ b[:, start:start + block].T
    return product


def _symmetric_product(a, b, upper=None, weight=None):
    """:func:`_blocked_cross` known to give a symmetric result, made exactly symmetric.

    The upper triangle is mirrored. `upper`: ``np.triu_indices(k)``.
    """
    product = _blocked_cross(a, b, weight)
    upper_i, upper_j = np.triu_indices(a.shape[0]) if upper is None else upper
    product[upper_j, upper_i] = product[upper_i, upper_j]
    return product


def _share_gram(counts, risk, inverse, weight=None):
    """Sum over columns u of ``weight_u q_u q_u'``, ``q_u = counts[:, u] * risk * inverse[u]``.

    By blocks as :func:`_blocked_cross`; the shares q are formed first (as
    means are in :class:`_RiskSets`), so that huge risk scores do not
    overflow when squared.
    """
    k, n = counts.shape
    block = min(_CROSS_MAX_BLOCK, max(_CROSS_MIN_BLOCK, _CROSS_BLOCK_WORK // (k * k)))
    gram = np.zeros((k, k))
    risk = risk[:, None]
    for start in range(0, n, block):
        share = counts[:, start:start + block] * risk
        share *= inverse[start:start + block]
        left = share if weight is None else share * weight[start:start + block]
        gram += left @ share.T
    upper_i, upper_j = np.triu_indices(k)
    gram[upper_j, upper_i] = gram[upper_i, upper_j]
    return gram


def _blocked_product(a, b):
    """a @ b for small a (k x m) and wide b (m x columns), by blocks of columns.

    Blocks as in :func:`_symmetric_product` (matrix-vector products: about
    ``_MATVEC_BLOCK_WORK`` elements), so that BLAS stays on the calling thread.
    """
    k, m = a.shape
    if k == 1:
        block = max(_CROSS_MIN_BLOCK, _MATVEC_BLOCK_WORK // m)
    else:
        block = min(_CROSS_MAX_BLOCK, max(_CROSS_MIN_BLOCK, _CROSS_BLOCK_WORK // (k * m)))
    if b.shape[1] <= block:
        return a @ b
    product = np.empty((k, b.shape[1]))
    for start in range(0, b.shape[1], block):
        np.matmul(a, b[:, start:start + block], out=product[:, start:start + block])
    return product


def _blocked_matvec(a, v):
    """a @ v for wide a (k x columns), summed over blocks of columns.

    Each block a matrix-vector product of about ``_MATVEC_BLOCK_WORK``
    elements, which BLAS runs on the calling thread.
    """
    k, n = a.shape
    block = max(_CROSS_MIN_BLOCK, _MATVEC_BLOCK_WORK // k)
    if n <= block:
        return a @ v
    total = np.zeros(k)
    for start in range(0, n, block):
        total += a[:, start:start + block] @ v[start:start + block]
    return total


class _RiskSets:
    """Index arrays reused by every Newton-Raphson iteration (data sorted by time).

    Covariates are stored transposed (terms x rows, each row contiguous). The
    information matrix sums small matrix products over blocks of rows
    (:meth:`_cross`), sized so that BLAS runs them on the calling thread:
    multithreaded BLAS gains nothing for so few terms and stalls on a busy
    machine. Used when the design has many distinct rows; otherwise
    :class:`_PatternRiskSets` gives the same derivatives faster.

    With ``row_weight`` (a table of counts, :func:`fit_cox_from_counts`) each
    row stands for that many patients, of whom ``event`` (a count) died:
    the risk-set sums weight the row by its patients and ``deaths`` lists
    the row once per death, so the derivatives are those of the patients.
    """

    def __init__(self, time, event, x_scaled, ties, risk_start=None, risk_stop=None, row_weight=None):
        self.xt = np.ascontiguousarray(x_scaled.T)
        self.p, self.n = self.xt.shape
        self.upper_i, self.upper_j = np.triu_indices(self.p)
        self.row_weight = row_weight
        self.deaths = (np.flatnonzero(event) if row_weight is None
                       else np.repeat(np.arange(self.n), np.asarray(event, dtype=np.intp)))
        death_time = time[self.deaths]
        # risk set of a death = rows from the first row with the same time onwards
        if risk_start is None:
            risk_start = np.searchsorted(time, death_time, side="left")
        self.risk_start = risk_start
        # stratified: ... up to the end of its stratum (row risk_stop excluded); tied
        # deaths are those with the same risk start
        self.risk_stop = risk_stop
        if risk_stop is not None:
            death_time = risk_start.astype(float)
        self.x_deaths_sum = (self.xt[:, self.deaths].sum(axis=1) if row_weight is None
                             else self.xt @ np.asarray(event, dtype=float))
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
        at_risk = risk if self.row_weight is None else risk * self.row_weight  # a row's patients at risk
        risk_x = xt * at_risk
        # risk-set sums: cumulative sums from the end, read at each death
        if self.risk_stop is None:
            s0 = np.cumsum(at_risk[::-1])[::-1][self.risk_start]
            s1 = np.cumsum(risk_x[:, ::-1], axis=1)[:, ::-1][:, self.risk_start]
        else:  # less the sums after the end of the stratum
            tail0 = np.r_[np.cumsum(at_risk[::-1])[::-1], 0.0]
            tail1 = np.c_[np.cumsum(risk_x[:, ::-1], axis=1)[:, ::-1], np.zeros(self.p)]
            s0 = tail0[self.risk_start] - tail0[self.risk_stop]
            s1 = tail1[:, self.risk_start] - tail1[:, self.risk_stop]
        if self.efron:
            # the l-th of d tied deaths leaves l/d of the deaths' risk out (each death one patient)
            d0 = np.add.reduceat(risk[self.tied_rows], self.tied_first)
            tied_x = (risk_x[:, self.tied_rows] if self.row_weight is None  # risk_x is weighted otherwise
                      else xt[:, self.tied_rows] * risk[self.tied_rows])
            d1 = np.add.reduceat(tied_x, self.tied_first, axis=1)
            f = self.tied_fraction
            s0[self.tied_pos] -= f * d0[self.tied_block]
            s1[:, self.tied_pos] -= f * d1[:, self.tied_block]
        inverse_s0 = 1.0 / s0
        mean_x = s1 * inverse_s0
        loglik = float(np.sum(eta[self.deaths]) - np.sum(np.log(s0)))
        # sums over deaths of S1/s0 and S2/s0 are x'w and x' diag(w) x, with
        # w_j = risk_j * (sum of 1/s0 over the deaths whose risk set holds j,
        # less the Efron share of j's own tied block)
        if self.risk_stop is None:
            weight = at_risk * np.cumsum(np.bincount(self.risk_start, weights=inverse_s0,
                                                     minlength=self.n))
        else:
            weight = at_risk * np.cumsum(np.bincount(self.risk_start, weights=inverse_s0, minlength=self.n + 1)
                                         - np.bincount(self.risk_stop, weights=inverse_s0,
                                                       minlength=self.n + 1))[:self.n]
        if self.efron:
            share = np.bincount(self.tied_block, weights=f * inverse_s0[self.tied_pos])
            own = risk[self.tied_rows] * share[self.tied_block]
            if self.row_weight is None:
                weight[self.tied_rows] -= own
            else:  # a row once per death: its shares add up
                weight -= np.bincount(self.tied_rows, weights=own, minlength=self.n)
        weighted_x = xt * weight
        score = self.x_deaths_sum - weighted_x.sum(axis=1)  # = sum of mean_x over deaths
        information = self._cross(weighted_x, xt) - self._cross(mean_x, mean_x)
        return loglik, score, information

    def _cross(self, a, b):
        """a b' for wide a, b (terms x rows), see :func:`_symmetric_product`."""
        return _symmetric_product(a, b, (self.upper_i, self.upper_j))


# --------------------------------------------------------------------------
# the same derivatives summed over covariate patterns (few distinct rows)
# --------------------------------------------------------------------------

def _value_codes(column: np.ndarray, max_values: int):
    """``(codes, k)``: a code 0..k-1 per value of `column`; None if over `max_values` values.

    Integers in a short range are coded as ``value - min`` (some codes may be unused).
    """
    low, high = column.min(), column.max()
    if high - low < max_values and np.array_equal(column, np.floor(column)):
        return (column - low).astype(np.intp), int(high - low) + 1
    # a look at a thousand rows first: a continuous covariate stops here
    if np.unique(column[::max(1, column.size // 1024)]).size > max_values:
        return None
    codes, values = pd.factorize(column)
    if values.size > max_values:
        return None
    return codes.astype(np.intp, copy=False), values.size


def _renumber(codes: np.ndarray, size: int):
    """The used values of `codes` (all in 0..size-1) numbered 0..k-1, and k."""
    if size <= 4 * codes.size + 4096:
        used = np.bincount(codes, minlength=size) > 0
        return (np.cumsum(used) - 1)[codes], int(np.count_nonzero(used))
    codes, values = pd.factorize(codes)
    return codes, values.size


def _design_patterns(design: _Design, indicator: np.ndarray, max_patterns: int):
    """``(pattern, G)``: the covariate pattern (distinct row of ``design.x``) of each row.

    Rows with the same pattern have identical rows of ``design.x``. None
    when there are more than `max_patterns` patterns. Each covariate is
    coded (factor: its level; 0/1 column: itself; number: its distinct
    values) and the codes are combined column by column, without sorting
    the rows.
    """
    x = design.x
    columns, factors = [], set()
    for index, term in enumerate(design.terms):
        if term.kind == "factor":
            if term.covariate not in factors:
                factors.add(term.covariate)
                levels = sum(t.covariate == term.covariate for t in design.terms) + 1
                columns.append((design.factor_codes[term.covariate], levels))
        elif indicator[index]:
            columns.append((x[:, index].astype(np.intp), 2))
        else:
            coded = _value_codes(x[:, index], max_patterns)
            if coded is None:
                return None
            columns.append(coded)
    pattern, size = columns[0]
    for codes, levels in columns[1:]:
        if size * levels > 2**40:  # keep the combined codes well inside int64
            pattern, size = _renumber(pattern, size)
            if size > max_patterns:
                return None
        pattern = pattern * levels + codes
        size *= levels
    pattern, size = _renumber(pattern, size)
    return None if size > max_patterns else (pattern, size)


def _efron_deaths(tied_size: np.ndarray, shared: dict | None = None):
    """Per death at a tied time (in time order) Efron's ``1 - f`` and its square, with ``tied_size``
    (the deaths of each tied time) and the first death of each: ``(tied_size, first, kept, kept2)``.

    The l-th of d deaths (l = 0, ..., d - 1) has ``1 - f = (d - l) / d``. ``shared``: a dict kept over
    several models; the arrays are reused when the deaths per tied time are the same (exact comparison).
    """
    key = tied_size.tobytes()
    known = None if shared is None else shared.setdefault("efron_deaths", {})
    if known is not None and key in known:
        return known[key]
    first = np.r_[0, np.cumsum(tied_size)[:-1]].astype(np.intp)
    size = np.repeat(tied_size, tied_size)
    rank = np.arange(size.size) - np.repeat(first, tied_size)
    kept = (size - rank) / size
    found = (tied_size, first, kept, kept * kept)
    if known is not None:
        if len(known) >= 4:  # a few (covariates with missing values drop deaths): the oldest goes
            known.pop(next(iter(known)))
        known[key] = found
    return found


class _PatternRiskSets:
    """The derivatives of :class:`_RiskSets`, summed over covariate patterns.

    Rows with the same covariates (a "pattern") have the same risk score
    ``r_g = exp(x_g' beta)``, so each risk-set sum is a sum over the G
    patterns: ``S0(t) = sum_g C[g, t] r_g`` with ``C[g, t]`` the rows of
    pattern g at risk at death time t. For the Efron correction the rows at
    risk at a tied death time are split into ``D[g, t]``, its deaths, and
    the rest ``C - D``. These counts are made once per fit; an iteration
    then costs O(G^2 x death times) (or O(p G + p^2) per death time), with
    no exponential, cumulative sum or gather over the rows.

    The l-th of the d deaths at t (``f = l/d``, l = 0, ..., d - 1; ``f = 0``
    for Breslow and untied deaths) has the risk-set sum
    ``s0 = sum_g ((C - D)[g, t] + (1 - f) D[g, t]) r_g``, in which pattern g
    has the share ``q_g = ((C - D)[g, t] + (1 - f) D[g, t]) r_g / s0`` (the
    shares sum to 1). Summed over the deaths, the log partial likelihood is
    ``sum(x_d' beta) - sum(log s0)``, the score ``sum(x_d) - X' w`` and the
    information ``X' (diag(w) - sum(q q')) X``, with ``w = sum(q)`` and X the
    G x p pattern rows: the risk-set weighted means and covariances of
    coxfit6 [4]_, regrouped by pattern. The deaths of one time need only the
    sums of ``1/s0``, ``(1 - f)/s0``, ``(S0/s0)^2``, ``(1 - f)(S0/s0)^2``
    and ``(1 - f)^2 (S0/s0)^2`` over them, with ``S0 = sum_g C[g, t] r_g``:
    non-negative terms, none larger than d^2. Patterns whose covariates are
    all 0 (the reference levels) have ``r_g = 1`` and are counted together.
    As in :class:`_RiskSets`, the linear predictor is not shifted (an
    overflow gives non-finite results and step-halving), and when risk
    scores are extreme the shares are formed before being squared.

    Parameters
    ----------
    timeline : _Timeline
        The rows sorted by time, with their death blocks.
    pattern : numpy.ndarray
        Pattern 0..G-1 of each sorted row.
    x_patterns : numpy.ndarray
        G x p: the (centred and scaled) covariates of each pattern.
    ties : {"efron", "breslow"}
    row_weight : numpy.ndarray, optional
        Patients each sorted row stands for (a table of counts,
        :func:`fit_cox_from_counts`); ``timeline.deaths`` then lists a row
        once per death.

    References
    ----------
    .. [4] Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox
       Model. Springer; 2000.
    """

    def __init__(self, timeline: _Timeline, pattern: np.ndarray, x_patterns: np.ndarray, ties: str,
                 row_weight: np.ndarray | None = None, shared: dict | None = None):
        n_patterns, self.p = x_patterns.shape
        self.upper_i, self.upper_j = np.triu_indices(self.p)
        n_blocks = timeline.block_size.size
        segment = timeline.segment()
        # the rows with a death, their deaths (None: one each) and their block
        death_rows, death_weight, death_block = timeline.death_rows, timeline.death_weight, timeline.death_row_block
        death_pattern = pattern[death_rows]
        # for _pattern_extremes: each pattern is at risk at blocks
        # 0 .. last_at_risk - 1 and has deaths from block first_death on
        self.last_at_risk = np.zeros(n_patterns, dtype=np.intp)
        np.maximum.at(self.last_at_risk, pattern, segment)
        self.first_death = np.full(n_patterns, n_blocks, dtype=np.intp)
        np.minimum.at(self.first_death, death_pattern, death_block)
        death_count = np.bincount(death_pattern, weights=death_weight, minlength=n_patterns)
        self.x_deaths_sum = death_count @ x_patterns
        # patterns with all covariates 0 (reference levels) have risk score 1
        # whatever beta, and add nothing to the score and the information:
        # they are counted together, in the last slot
        active = np.any(x_patterns != 0, axis=1)
        n_active = int(np.count_nonzero(active))
        slot = np.where(active, np.cumsum(active) - 1, n_active)[pattern]
        self.x = np.ascontiguousarray(x_patterns[active])
        self.xt = np.ascontiguousarray(self.x.T)
        self.death_count = death_count[active].astype(float)
        # rows of each slot by how many blocks have them at risk; C (slots x
        # blocks) = all rows of the slot less those at risk at no more blocks
        per_segment = np.bincount(slot * (n_blocks + 1) + segment, weights=row_weight,
                                  minlength=(n_active + 1) * (n_blocks + 1))
        per_segment = per_segment.reshape(n_active + 1, n_blocks + 1)
        at_risk = np.empty((n_active + 1, n_blocks))
        np.subtract(per_segment.sum(axis=1)[:, None], np.cumsum(per_segment, axis=1)[:, :-1],
                    out=at_risk)
        self.at_risk, self.at_risk_fixed = at_risk[:n_active], at_risk[n_active]
        death_slot = slot[death_rows]
        # sum over deaths of mean mean': through the patterns' shares (G x G
        # per death time) or through the means (p x G + p x p), the cheaper
        self.project = (self.p * (n_active + self.p) < n_active * n_active if _PROJECT_SHARES is None
                        else _PROJECT_SHARES)

        block_size = timeline.block_size
        efron = (block_size > 1) if ties == "efron" else np.zeros(n_blocks, dtype=bool)
        # blocks whose deaths all have s0 = S0: untied ones, and tied ones
        # under Breslow (weight = deaths); tied blocks under Efron get weight 0
        self.block_weight = np.where(efron, 0, block_size).astype(float)
        self.single = bool(np.all(self.block_weight == 1))
        self.efron = bool(efron.any())
        self._buffers, self._shared, self._at_null = None, shared, False  # for :meth:`_death_sums`
        if self.efron:
            tied_blocks = np.flatnonzero(efron)
            n_tied = tied_blocks.size
            tied_index = np.full(n_blocks, -1, dtype=np.intp)
            tied_index[tied_blocks] = np.arange(n_tied)
            row_tied = tied_index[death_block]  # per row with a death: its tied time, or -1
            in_tied = row_tied >= 0
            slot_tied, time_tied = death_slot[in_tied], row_tied[in_tied]
            weight_tied = None if death_weight is None else death_weight[in_tied]
            if self.project:
                # many patterns: the deaths per (pattern, tied time) as a sparse matrix (a pattern dies at
                # few of the times), whose products with the patterns' covariates replace G x G grams
                active_death = slot_tied < n_active
                self.tied_blocks = tied_blocks
                values = (np.ones(int(active_death.sum())) if weight_tied is None
                          else weight_tied[active_death].astype(float))
                self.tied_deaths = sparse.csr_matrix(
                    (values, (slot_tied[active_death], time_tied[active_death])), shape=(n_active, n_tied))
                self.tied_deaths_t = self.tied_deaths.T.tocsr()
                self.tied_deaths_fixed = np.bincount(
                    time_tied[~active_death], weights=None if weight_tied is None else weight_tied[~active_death],
                    minlength=n_tied).astype(float)
            else:
                deaths = np.bincount(slot_tied * n_tied + time_tied, weights=weight_tied,
                                     minlength=(n_active + 1) * n_tied)
                deaths = deaths.reshape(n_active + 1, n_tied).astype(float)
                rest = at_risk[:, tied_blocks] - deaths  # at risk, not dying then (exact counts)
                self.tied_deaths, self.tied_deaths_fixed = deaths[:n_active], deaths[n_active]
                self.tied_rest, self.tied_rest_fixed = rest[:n_active], rest[n_active]
            # per death at a tied time (in time order): 1 - f, its square; per tied time its deaths
            # and the first of them. They depend on the deaths per block only: shared between the
            # models on the same deaths (univariate screening)
            self.tied_size, self.tied_first, self.death_kept, self.death_kept2 = _efron_deaths(
                block_size[tied_blocks], shared)

    def derivatives(self, beta):
        """Log partial likelihood, score and information at ``beta``."""
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            return self._derivatives(beta)

    def _death_sums(self, rest_sum, deaths_sum, s0_all):
        """Over the deaths of each tied time, with ``s0 = rest + (1 - f) deaths`` (per tied time: the
        rest's and the deaths' risk-score sums, and ``s0_all`` of all at risk): the sums of ``1/s0``,
        ``(1 - f)/s0``, ``(S0/s0)^2``, ``(1 - f)(S0/s0)^2`` and ``(1 - f)^2 (S0/s0)^2``, and the sum of
        ``log s0`` over all of them. The per-death values go through three buffers kept between the
        iterations (a fresh array per step cost about as much as the arithmetic).

        At ``beta = 0`` every risk score is 1 and the sums are counts of patients: the models of one
        screening on the same patients (same deaths and same numbers at risk per time) have the same
        ones, kept in ``shared`` under their exact inputs."""
        key = None
        if self._at_null and self._shared is not None:
            key = (self.tied_size.tobytes(), rest_sum.tobytes(), deaths_sum.tobytes(), s0_all.tobytes())
            known = self._shared.setdefault("null_death_sums", {})
            if key in known:
                return known[key]
        kept, size, first = self.death_kept, self.tied_size, self.tied_first
        if self._buffers is None:
            self._buffers = tuple(np.empty(kept.size) for _ in range(3))
        s0, inverse, work = self._buffers
        np.multiply(kept, np.repeat(deaths_sum, size), out=s0)
        s0 += np.repeat(rest_sum, size)
        np.divide(1.0, s0, out=inverse)
        on_rest = np.add.reduceat(inverse, first)
        on_deaths = np.add.reduceat(np.multiply(kept, inverse, out=work), first)
        ratio = np.multiply(np.repeat(s0_all, size), inverse, out=inverse)  # inverse is not needed again
        ratio *= ratio
        on_ratio = np.add.reduceat(ratio, first)
        on_kept_ratio = np.add.reduceat(np.multiply(kept, ratio, out=work), first)
        on_kept2_ratio = np.add.reduceat(np.multiply(self.death_kept2, ratio, out=work), first)
        log_s0 = np.sum(np.log(s0, out=s0))
        found = (log_s0, on_rest, on_deaths, on_ratio, on_kept_ratio, on_kept2_ratio)
        if key is not None:
            if len(known) >= 4:  # a few: covariates with missing values have others
                known.pop(next(iter(known)))
            known[key] = found
        return found

    def _derivatives(self, beta):
        self._at_null = not np.any(beta)  # for :meth:`_death_sums`
        eta = self.x @ beta
        # no shift of eta, as in coxfit6 and _RiskSets: an overflow gives
        # non-finite results, which trigger step-halving
        risk = np.exp(eta)
        # BLAS products over the counts C (patterns x blocks), by blocks
        s0 = _blocked_product(risk[None, :], self.at_risk)[0] + self.at_risk_fixed
        inverse = 1.0 / s0
        weight = None if self.single else self.block_weight  # deaths sharing s0 (Breslow ties)
        if weight is None:
            log_s0 = np.sum(np.log(s0))
            total = risk * _blocked_matvec(self.at_risk, inverse)
        else:
            log_s0 = np.sum(weight * np.log(s0))
            total = risk * _blocked_matvec(self.at_risk, weight * inverse)
        # total = w, the sum over deaths of the shares q; second = the sum
        # over deaths of mean mean', through the means or the shares
        if self.project:
            x_risk_t = self.xt * risk
            s1 = _blocked_product(x_risk_t, self.at_risk)  # p x blocks: risk-set sums of x
            mean = s1 * inverse
            second = _symmetric_product(mean, mean, (self.upper_i, self.upper_j), weight)
        elif 1e-150 < min(risk.min(), s0.min()) and max(risk.max(), s0.max()) < 1e150:
            # r_g r_h / s0^2 neither overflows nor underflows: products of the counts
            x_risk = self.x * risk[:, None]
            inverse2 = inverse * inverse if weight is None else weight * inverse * inverse
            gram = _symmetric_product(self.at_risk, self.at_risk, weight=inverse2)
            second = x_risk.T @ gram @ x_risk
        else:
            second = self.xt @ _share_gram(self.at_risk, risk, inverse, weight) @ self.x
        if self.efron and self.project:
            log_tied, total_tied, second_tied = self._projected_tied_sums(risk, x_risk_t, s0, s1)
        elif self.efron:
            log_tied, total_tied, second_tied = self._tied_sums(risk)
        if self.efron:
            log_s0 += log_tied
            total += total_tied
            second += second_tied
        loglik = float(self.death_count @ eta - log_s0)
        score = self.x_deaths_sum - total @ self.x  # sum over deaths of x_d - mean
        information = (self.xt * total) @ self.x - second
        information[self.upper_j, self.upper_i] = information[self.upper_i, self.upper_j]
        return loglik, score, information

    def _tied_sums(self, risk):
        """Log-likelihood, shares and outer-product sums of the deaths at tied times (Efron)."""
        deaths = self.tied_deaths * risk[:, None]  # patterns x tied times
        rest = self.tied_rest * risk[:, None]
        rest_sum = rest.sum(axis=0) + self.tied_rest_fixed
        deaths_sum = deaths.sum(axis=0) + self.tied_deaths_fixed
        # q = (rest + kept deaths) / s0; relative to S0 (all the deaths at
        # risk) every term is at most 1 and S0 / s0 at most the block size
        s0_all = rest_sum + deaths_sum
        log_s0, on_rest, on_deaths, on_ratio, on_kept_ratio, on_kept2_ratio = self._death_sums(
            rest_sum, deaths_sum, s0_all)
        total = _blocked_matvec(rest, on_rest) + _blocked_matvec(deaths, on_deaths)
        rest, deaths = rest / s0_all, deaths / s0_all
        mixed = _blocked_cross(rest, deaths, on_kept_ratio)
        gram = (_blocked_cross(rest, rest, on_ratio) + mixed + mixed.T
                + _blocked_cross(deaths, deaths, on_kept2_ratio))
        return log_s0, total, self.xt @ gram @ self.x

    def _projected_tied_sums(self, risk, x_risk_t, s0, s1):
        """:meth:`_tied_sums` with the shares projected on the covariates first (many patterns).

        ``s0``, ``s1``: the risk-set sums of 1 and x at every death block (all the rows at risk, its
        deaths too). The deaths' sums come from the sparse deaths per pattern and tied time, the rest's
        as the difference, and the outer products are of p-vectors (``X' q``), not of G-vectors, so an
        iteration costs O(p G + p^2) per tied time and no G x G or dense G x tied-times matrix.
        """
        blocks = self.tied_blocks
        deaths_sum = self.tied_deaths_t @ risk + self.tied_deaths_fixed
        s0_all = s0[blocks]
        rest_sum = s0_all - deaths_sum
        log_s0, on_rest, on_deaths, on_ratio, on_kept_ratio, on_kept2_ratio = self._death_sums(
            rest_sum, deaths_sum, s0_all)
        every_block = np.zeros(s0.size)
        every_block[blocks] = on_rest
        total = risk * (_blocked_matvec(self.at_risk, every_block) + self.tied_deaths @ (on_deaths - on_rest))
        # risk-set means of x over the deaths (b) and the rest (a), relative to all at risk
        b = (self.tied_deaths_t @ x_risk_t.T).T / s0_all
        a = s1[:, blocks] / s0_all - b
        mixed = _blocked_cross(a, b, on_kept_ratio)
        gram = (_blocked_cross(a, a, on_ratio) + mixed + mixed.T + _blocked_cross(b, b, on_kept2_ratio))
        return log_s0, total, gram


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

@dataclass
class _Rows:
    """The design rows in original units, or its distinct rows with their counts.

    ``values`` (m x p); ``rows``: rows each stands for (None: one each);
    ``events``: a mask of the rows with an event, or events per distinct row.
    """
    values: np.ndarray
    rows: np.ndarray | None
    events: np.ndarray

    def count(self, where: np.ndarray) -> tuple[float, float]:
        """Rows and events among the `where` rows of ``values``."""
        rows = np.count_nonzero(where) if self.rows is None else self.rows[where].sum()
        return float(rows), float(self.events[where].sum())

    def column_sums(self) -> tuple[np.ndarray, np.ndarray]:
        """Sums of each column over the rows and over the rows with an event."""
        if self.rows is None:
            return self.values.sum(axis=0), self.values[self.events].sum(axis=0)
        return self.rows @ self.values, self.events @ self.values


def _monotone_notes(terms: list[_Term], rows: _Rows, indicator: np.ndarray,
                    extremes: tuple[np.ndarray, np.ndarray]) -> dict[str, str]:
    """Notes for terms whose hazard ratio is structurally 0 or infinite.

    `rows`: the design rows or its distinct rows, for counting events;
    `extremes`: as :func:`_at_risk_set_extremes`.
    """
    notes: dict[str, str] = {}
    values = rows.values
    # a level without events: hazard ratio 0 (infinite for the levels against a reference without events)
    by_covariate: dict[str, list[int]] = {}
    for index, term in enumerate(terms):
        by_covariate.setdefault(term.covariate, []).append(index)
    for covariate, indices in by_covariate.items():
        term = terms[indices[0]]
        if term.kind not in ("factor", "bool"):
            continue
        prefix = f"{covariate} = " if term.kind == "bool" else ""
        in_any_level = values[:, indices].sum(axis=1) > 0
        if rows.count(~in_any_level)[1] == 0:
            reference = f"reference level {prefix}{term.reference}"
            for index in indices:
                level_term = terms[index]
                if rows.count(values[:, index] == 1)[1] == 0:
                    # both sides without events: the likelihood is flat in this coefficient
                    notes[level_term.name] = (f"not estimable: no events in {prefix}{level_term.level} "
                                              f"nor in {reference} ({HR_UNDETERMINED})")
                else:
                    notes[level_term.name] = f"not estimable: no events in {reference} ({HR_INFINITE})"
        for index in indices:
            level_term = terms[index]
            if level_term.name not in notes and rows.count(values[:, index] == 1)[1] == 0:
                notes[level_term.name] = (f"not estimable: no events in "
                                          f"{prefix}{level_term.level} ({HR_ZERO})")
    # every death has the extreme value of its risk set: monotone likelihood
    at_max, at_min = extremes
    for index, term in enumerate(terms):
        if term.name in notes or not (at_max[index] or at_min[index]):
            continue
        if term.kind == "numeric" and indicator[index] \
                and rows.count(values[:, index] == (0.0 if at_max[index] else 1.0))[1] == 0:
            level = f"{term.name} = {0 if at_max[index] else 1}"
            notes[term.name] = f"not estimable: no events in {level} ({_monotone_size(at_max[index])})"
            continue
        side = "highest" if at_max[index] else "lowest"
        notes[term.name] = (f"not estimable: every event has the {side} {term.name} "
                            f"in its risk set (perfect separation, {_monotone_size(at_max[index])})")
    return notes


#: How a term's note says where its monotone likelihood sends the hazard ratio (:func:`is_monotone_note`);
#: undetermined where neither the level nor its reference has an event.
HR_INFINITE, HR_ZERO = "infinite hazard ratio", "hazard ratio 0"
HR_UNDETERMINED = "hazard ratio not determined"


def _monotone_size(at_max: bool) -> str:
    """Where a monotone likelihood sends the hazard ratio: every death at its risk set's highest value of the
    covariate (the coefficient runs to +inf) or at its lowest (to -inf, a hazard ratio of 0)."""
    return HR_INFINITE if at_max else HR_ZERO


def is_monotone_note(note: str) -> bool:
    """Whether a term's note says it is not estimable because its likelihood is monotone (a level without
    events, perfect separation, or a level R drops for it), not because it is collinear."""
    return ((HR_INFINITE in note or HR_ZERO in note or HR_UNDETERMINED in note
             or "monotone likelihood" in note) and "collinear" not in note)


def _dropped_monotone_note(term: _Term, index: int, rows: _Rows, indicator: np.ndarray,
                           structural: dict[str, str]) -> str:
    """The note of a term R drops (NA) whose likelihood is monotone rather than collinear: a 0/1 level with
    one patient, with no events or with events only, or a term of `structural`; "" otherwise.

    Such a column looks singular to the Cholesky step only because its coefficient runs off to infinity.
    """
    detail = structural.get(term.name, "").removeprefix("not estimable: ")
    size = ("HR not determined" if HR_UNDETERMINED in detail else "HR 0" if HR_ZERO in detail
            else "infinite HR" if detail else "")
    reason = ""
    if indicator[index] and term.kind != "numeric":
        level = f"{term.covariate} = {term.level}" if term.kind == "bool" else str(term.level)
        n, events = rows.count(rows.values[:, index] == 1)
        if n == 1:
            reason = f"one patient in {level}, {'with' if events else 'without'} an event"
        elif events == 0:
            reason = f"no events in {level}"
        elif events == n:
            reason = f"every patient in {level} has an event"
        if reason:
            # the structural note knows the reference: no events there turns "HR 0" around
            size = size or ("HR 0" if events == 0 else "infinite HR")
            return f"not estimable: {size} (monotone likelihood: {reason}; NA in R)"
    if detail:
        return f"not estimable: {size} (monotone likelihood: {detail}; NA in R)"
    return ""


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


def _pattern_extremes(values: np.ndarray, first_death: np.ndarray, last_at_risk: np.ndarray):
    """:func:`_at_risk_set_extremes` from the covariate patterns.

    `values`: the G distinct design rows; pattern g is at risk at death
    blocks ``0 .. last_at_risk[g] - 1`` and has deaths in blocks
    ``first_death[g]`` onwards (none if ``first_death[g]`` is past the last
    block). Risk sets shrink, so the risk-set extremes only decrease
    (increase) over blocks: every death of g has the highest value of its
    risk set if and only if its first one has.
    """
    ever = last_at_risk > 0  # the patterns in the first (largest) risk set
    informative = values[ever].max(axis=0) > values[ever].min(axis=0)
    dead = first_death < last_at_risk  # a pattern is at risk at its deaths
    # the risk set at a dead pattern's first death: the patterns at risk at more blocks than it, a
    # suffix of the patterns sorted by last_at_risk (so O(G p) memory, not G x G x p)
    order = np.argsort(last_at_risk, kind="stable")
    sorted_values = values[order]
    suffix_max = np.maximum.accumulate(sorted_values[::-1], axis=0)[::-1]
    suffix_min = np.minimum.accumulate(sorted_values[::-1], axis=0)[::-1]
    start = np.searchsorted(last_at_risk[order], first_death[dead], side="right")
    risk_max, risk_min = suffix_max[start], suffix_min[start]
    at_max = np.all(values[dead] == risk_max, axis=0) & informative
    at_min = np.all(values[dead] == risk_min, axis=0) & informative
    return at_max, at_min


def _level_counts(terms: list[_Term], rows: _Rows, indicator: np.ndarray) -> dict[str, np.ndarray]:
    """Rows and events in the level and in the reference of each 0/1 term."""
    values = rows.values
    level_n, level_events = rows.column_sums()
    reference_n, reference_events = np.full_like(level_n, np.nan), np.full_like(level_n, np.nan)
    factor_reference: dict[str, tuple[float, float]] = {}  # rows in the reference, once per factor
    for index, term in enumerate(terms):
        if not indicator[index]:
            continue
        if term.kind == "factor":
            if term.covariate not in factor_reference:
                same = [i for i, t in enumerate(terms) if t.covariate == term.covariate]
                factor_reference[term.covariate] = rows.count(values[:, same].sum(axis=1) == 0)
            reference_n[index], reference_events[index] = factor_reference[term.covariate]
        else:
            reference_n[index], reference_events[index] = rows.count(values[:, index] == 0)
    only_indicator = np.where(indicator, 1.0, np.nan)
    return {"level_n": level_n * only_indicator, "level_events": level_events * only_indicator,
            "reference_n": reference_n, "reference_events": reference_events}


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
    return _stable_argsort(times.to_numpy(dtype=float, na_value=np.nan))


def _subset_order(time_order: np.ndarray, complete: np.ndarray) -> np.ndarray:
    """Stable time order of the complete rows, from the order of all rows.

    Equals ``np.argsort(time[complete], kind="stable")``: restricting a stable
    order to a subset keeps ties in row order, without sorting again.
    """
    position = np.cumsum(complete) - 1  # index of each complete row within the subset
    ordered = time_order[complete[time_order]]
    return position[ordered]


def fit_cox(df: pd.DataFrame, duration_col: str, event_col: str, covariates,
            ties: str = "efron", alpha: float = 0.05, strata: str | None = None) -> pd.DataFrame:
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
    strata : str, optional
        Column of strata: the stratified model of R ``coxph(Surv(t, e) ~ x +
        strata(s))``, one baseline hazard per stratum and the partial
        likelihood summed over strata (risk sets within the stratum). Rows
        with a missing stratum are dropped; their number is
        ``attrs["n_dropped_strata"]`` (and a warning). ``attrs["strata"]``
        is the number of strata.

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
    if strata is None:
        return _fit_cox(df, duration_col, event_col, covariates, ties, alpha)
    if strata not in df.columns:
        raise ValueError(f"strata column {strata!r} not found in df")
    if strata in (duration_col, event_col, *covariates):
        raise ValueError(f"strata column {strata!r} is also the time, event or a covariate")
    has_stratum = df[strata].notna().to_numpy()
    n_dropped_strata = int(len(df) - has_stratum.sum())
    if not has_stratum.any():
        raise InsufficientDataError(f"no rows with a value of the strata column {strata!r}")
    table = _fit_cox(df[has_stratum] if n_dropped_strata else df, duration_col, event_col, covariates,
                     ties, alpha, strata=strata)
    table.attrs["n_dropped_strata"] = n_dropped_strata
    if n_dropped_strata:
        table.attrs["warnings"].insert(0, f"{n_dropped_strata:,} of {len(df):,} rows dropped because "
                                          f"the stratum {strata!r} is missing")
    return table


def _stratified_timeline(design: _Design, stratum: np.ndarray) -> _Timeline:
    """The design's rows sorted by stratum, then time (times merged over all rows, as R)."""
    by_time = _stable_argsort(design.time)
    fixed = np.empty(design.time.size)
    fixed[by_time] = _timefix(design.time[by_time])
    order = np.lexsort((fixed, stratum))  # stable
    return _Timeline(order, fixed[order], design.event[order], stratum[order])


def _stratified_extremes(x, deaths, risk_start, risk_stop):
    """:func:`_at_risk_set_extremes` with risk sets that end with their stratum."""
    p = x.shape[1]
    at_max, at_min = np.ones(p, dtype=bool), np.ones(p, dtype=bool)
    informative = np.zeros(p, dtype=bool)
    for stop in np.unique(risk_stop):  # one stratum at a time
        in_stratum = risk_stop == stop
        first = int(risk_start[in_stratum].min())
        part = x[first:stop]
        start = risk_start[in_stratum] - first
        risk_max = np.maximum.accumulate(part[::-1], axis=0)[::-1][start]
        risk_min = np.minimum.accumulate(part[::-1], axis=0)[::-1][start]
        x_deaths = x[deaths[in_stratum]]
        informative |= np.any(risk_max > risk_min, axis=0)
        at_max &= np.all(x_deaths == risk_max, axis=0)
        at_min &= np.all(x_deaths == risk_min, axis=0)
    return at_max & informative, at_min & informative


def _sorted_timeline(design: _Design, time_order, shared) -> _Timeline:
    """The design's rows in time order; reused from `shared` when the same rows were sorted."""
    if shared is not None and "timeline" in shared \
            and np.array_equal(shared["complete"], design.complete):
        return shared["timeline"]
    if time_order is None:
        order = _stable_argsort(design.time)
    else:  # the rows sorted once for several models (univariate_cox)
        order = _subset_order(time_order, design.complete)
    timeline = _Timeline(order, _timefix(design.time[order]), design.event[order])
    if shared is not None:
        shared.update(timeline=timeline, complete=design.complete)
    return timeline


def _indicators(design: _Design) -> tuple[np.ndarray, np.ndarray]:
    """0/1 columns (booleans, factor levels, numbers all 0 or 1) and columns with values in {-1, 0, 1}."""
    x = design.x
    indicator = np.array([term.kind != "numeric" for term in design.terms])
    plain = indicator.copy()
    for index in np.flatnonzero(~indicator):
        zero_one = (x[:, index] == 0) | (x[:, index] == 1)
        indicator[index] = zero_one.all()
        plain[index] = indicator[index] or np.all(zero_one | (x[:, index] == -1))
    return indicator, plain


def _centring(x: np.ndarray, plain: np.ndarray, weight: np.ndarray | None = None):
    """Means and scale factors of coxfit6 (columns with values in {-1, 0, 1} untouched; Newton-Raphson is
    invariant to this); ``weight``: the rows each row of ``x`` stands for."""
    p = x.shape[1]
    means, scale = np.zeros(p), np.ones(p)
    centred = np.flatnonzero(~plain)
    if centred.size:
        x_centred = x[:, centred]
        if weight is None:
            means[centred] = x_centred.mean(axis=0)
            spread = np.abs(x_centred - means[centred]).mean(axis=0)
        else:
            means[centred] = weight @ x_centred / weight.sum()
            spread = weight @ np.abs(x_centred - means[centred]) / weight.sum()
        scale[centred[spread > 0]] = 1.0 / spread[spread > 0]
    return means, scale


def _pattern_cells(n_patterns: int, p: int, n_blocks: int) -> int:
    """Cells of the dense matrices of :class:`_PatternRiskSets`: the counts at risk (patterns x death
    blocks), and with few patterns (no projection) the deaths and the rest at tied times too."""
    projected = p * (n_patterns + p) < n_patterns * n_patterns
    return (n_patterns + 1) * n_blocks * (1 if projected else 3)


def _patterns_pay(n_patterns: int, p: int, n: int, n_blocks: int) -> bool:
    """Whether :class:`_PatternRiskSets` is faster than :class:`_RiskSets` here.

    Predicted time of one evaluation of the derivatives, in units of about
    0.1 ns: ``blocks x (70 + 13 G + min(G^2, p (G + p)))`` over the G
    patterns against ``rows x (210 + 90 p + 1.3 p^2)`` over the rows, a
    least-squares fit to timings of both (n = 1,000 to 100,000 rows,
    p = 1 to 63 terms, G = 4 to 64 patterns; 2-core machine, OpenBLAS on
    one thread). The patterns win for factors and booleans (G <= p + 1) and
    lose to the rows for a few terms with many value combinations (e.g.
    p = 1 and G > 20).
    """
    outer = min(n_patterns * n_patterns, p * (n_patterns + p))
    return n_blocks * (70 + 13 * n_patterns + outer) < n * (210 + 90 * p + 1.3 * p * p)


def _fit_cox(df, duration_col, event_col, covariates, ties, alpha, time_order=None, shared=None,
             strata=None):
    """:func:`fit_cox` after the argument checks.

    `time_order` as :func:`_stable_time_order`; `shared`, a dict kept over the
    models of :func:`univariate_cox`, holds the rows sorted by time; `strata`
    a column without missing values (stratified model).
    """
    design = _build_design(df, duration_col, event_col, covariates)
    n_strata = 0
    if strata is None:
        timeline = _sorted_timeline(design, time_order, shared)
    else:
        stratum_values = pd.Series(df[strata].to_numpy(dtype=object)[design.complete], dtype=object)
        stratum_codes = pd.factorize(stratum_values)[0].astype(np.intp)
        n_strata = int(stratum_codes.max()) + 1
        timeline = _stratified_timeline(design, stratum_codes)
    x = design.x  # rows as in df; sorted below if needed
    n, p = x.shape
    events = int(timeline.deaths.size)

    indicator, plain = _indicators(design)
    # centre and scale like coxfit6 (columns with values in {-1, 0, 1} untouched);
    # Newton-Raphson is invariant to this
    means, scale = _centring(x, plain)

    # few distinct design rows: risk-set sums over covariate patterns
    patterns = None
    if _RISK_SETS != "rows" and strata is None:  # stratified: risk sets over the rows
        forced = _RISK_SETS == "patterns"
        patterns = _design_patterns(design, indicator, n if forced else _MAX_PATTERNS)
        n_blocks = timeline.block_size.size
        if patterns is not None and not forced and (
                not _patterns_pay(patterns[1], p, n, n_blocks)
                or _pattern_cells(patterns[1], p, n_blocks) > _MAX_PATTERN_CELLS):
            patterns = None
    if patterns is not None:
        pattern, n_patterns = patterns
        representative = np.empty(n_patterns, dtype=np.intp)
        representative[pattern] = np.arange(n)  # any row of each pattern
        pattern = pattern[timeline.order]
        rows = _Rows(x[representative], np.bincount(pattern, minlength=n_patterns).astype(float),
                     np.bincount(pattern[timeline.deaths], minlength=n_patterns).astype(float))
        risk_sets = _PatternRiskSets(timeline, pattern, (rows.values - means) * scale, ties, shared=shared)
        extremes = _pattern_extremes(rows.values, risk_sets.first_death, risk_sets.last_at_risk)
    else:
        x = x[timeline.order]
        rows = _Rows(x, None, timeline.event)
        risk_sets = _RiskSets(timeline.time, timeline.event, (x - means) * scale, ties,
                              timeline.risk_start, timeline.risk_stop)
        if timeline.risk_stop is None:
            extremes = _at_risk_set_extremes(x, timeline.deaths, timeline.risk_start)
        else:
            extremes = _stratified_extremes(x, timeline.deaths, timeline.risk_start, timeline.risk_stop)
    return _fitted_table(design, risk_sets, means, scale, rows, indicator, extremes, n, events, covariates, ties,
                         alpha, strata, n_strata)


def _fitted_table(design, risk_sets, means, scale, rows, indicator, extremes, n, events, covariates, ties, alpha,
                  strata=None, n_strata=0):
    """The Newton-Raphson fit on `risk_sets` and :func:`fit_cox`'s table (the rest of :func:`_fit_cox`)."""
    warnings = design.warnings
    p = len(design.terms)
    fit = _newton_raphson(risk_sets)
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
        if np.max((rows.values - means) @ beta) > 500 or not np.all(np.isfinite(newton_step)):
            numeric_infinite = ~np.isfinite(newton_step) | (newton_step > TOLER_INF * np.abs(beta))
    structural = _monotone_notes(design.terms, rows, indicator, extremes)

    estimable = np.ones(p, dtype=bool)
    notes = [""] * p
    for index, term in enumerate(design.terms):
        if not fit.rank_keep[index]:
            notes[index] = (_dropped_monotone_note(term, index, rows, indicator, structural)
                            or "not estimable: collinear with other terms (NA in R)")
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
        **_level_counts(design.terms, rows, indicator),
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
    if strata is not None:
        table.attrs.update(strata=n_strata, strata_column=strata)
    return table


def univariate_cox(df: pd.DataFrame, duration_col: str, event_col: str, covariates,
                   ties: str = "efron", alpha: float = 0.05, strata: str | None = None) -> pd.DataFrame:
    """Screen covariates one at a time with separate Cox models.

    Each covariate is fitted alone on the rows where it (and time and event)
    is present, as in a table of univariate hazard ratios.

    Parameters
    ----------
    df, duration_col, event_col, ties, alpha
        As in :func:`fit_cox`.
    covariates : str or list of str
        Columns to screen, each in its own model.
    strata : str, optional
        Column of strata: each model is stratified as in :func:`fit_cox`
        (rows with a missing stratum are dropped, counted in
        ``attrs["n_dropped_strata"]``).

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
    n_dropped_strata = 0
    if strata is not None:
        if strata not in df.columns or strata in (duration_col, event_col, *covariates):
            raise ValueError(f"strata column {strata!r} not found, or also the time, event or a covariate")
        has_stratum = df[strata].notna().to_numpy()
        n_dropped_strata = int(len(df) - has_stratum.sum())
        df = df[has_stratum]
    time_order = _stable_time_order(df, duration_col) if strata is None else None  # one sort for all the models
    shared = {} if strata is None else None  # and one timeline for the models on the same rows

    def fit_one(covariate):
        if strata is not None and len(df) == 0:
            raise InsufficientDataError(f"no rows with a value of the strata column {strata!r}")
        return _fit_cox(df, duration_col, event_col, [covariate], ties, alpha, time_order, shared, strata=strata)

    def complete(covariate):
        known = df[[duration_col, event_col, covariate]].dropna()
        return len(known), int(pd.to_numeric(known[event_col]).sum())

    result = _univariate_table(covariates, fit_one, complete)
    if strata is not None:
        result.attrs.update(strata_column=strata, n_dropped_strata=n_dropped_strata)
    return result


UNIVARIATE_COLUMNS = ["covariate", "term", "level", "reference", "n", "events", "level_n",
                      "level_events", "reference_n", "reference_events", "coef", "se", "hr",
                      "hr_lower", "hr_upper", "p", "lr_p", "estimable", "note", "warnings"]


def _univariate_table(covariates, fit_one, complete) -> pd.DataFrame:
    """:func:`univariate_cox`'s table from ``fit_one(covariate)`` (a :func:`fit_cox` table) and, for a model
    that cannot be fitted, ``complete(covariate)``: its (patients, events) with the covariate known."""
    rows = []
    for covariate in covariates:
        try:
            table = fit_one(covariate)
        except InsufficientDataError as error:
            n, events = complete(covariate)
            rows.append({"covariate": covariate, "term": covariate, "n": n, "events": events,
                         "estimable": False, "note": f"not estimable: {error}", "warnings": ""})
            continue
        for term, row in table.iterrows():
            rows.append({**row.to_dict(), "covariate": covariate, "term": term,
                         "lr_p": table.attrs["lr_p"],
                         "warnings": "; ".join(table.attrs["warnings"])})
    result = pd.DataFrame(rows, columns=UNIVARIATE_COLUMNS)
    result["estimable"] = result["estimable"].astype(bool)
    return result


def univariate_cox_from_counts(tables, time_col: str = "time", event_col: str = "n_event",
                               censor_col: str = "n_censor", ties: str = "efron", alpha: float = 0.05,
                               strata: str | None = None) -> pd.DataFrame:
    """:func:`univariate_cox` from one table of counts per covariate: the same table as on the patients.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Covariate -> events and censorings per (its value, time), as :func:`fit_cox_from_counts` takes
        (e.g. a database ``GROUP BY`` of the covariate and the time; with ``strata``, of the stratum too).
        The covariates are screened in the mapping's order.
    time_col, event_col, censor_col, ties, alpha, strata
        As in :func:`fit_cox_from_counts`.

    Returns
    -------
    pandas.DataFrame
        As :func:`univariate_cox`.

    Raises
    ------
    ValueError
        As :func:`fit_cox_from_counts` for invalid input.

    References
    ----------
    .. [1] Cox DR (1972), Efron B (1977), Breslow NE (1974), Therneau & Grambsch (2000), Peduzzi et al.
       (1995): as :func:`univariate_cox`.
    """
    shared = {}  # what the models on the same deaths have in common (:func:`_efron_deaths`)

    def fit_one(covariate):
        return _fit_cox_from_counts(tables[covariate], [covariate], time_col, event_col, censor_col, ties, alpha,
                                    strata, shared)

    def complete(covariate):
        table = tables[covariate]
        needed = [time_col, covariate] + ([strata] if strata is not None else [])
        known = table[table[needed].notna().all(axis=1).to_numpy()]
        return int(known[event_col].sum() + known[censor_col].sum()), int(known[event_col].sum())

    result = _univariate_table(list(tables), fit_one, complete)
    if strata is not None:
        result.attrs.update(strata_column=strata, n_dropped_strata=_dropped_strata(tables, strata, censor_col,
                                                                                     event_col))
    return result


def _dropped_strata(tables, strata: str, censor_col: str, event_col: str) -> int:
    """Patients without a stratum in the first table of counts (each table counts the same patients)."""
    table = next(iter(tables.values()), None)
    if table is None:
        return 0
    missing = table[strata].isna().to_numpy()
    return int(table.loc[missing, event_col].sum() + table.loc[missing, censor_col].sum())


class _CountedTimeline:
    """The death blocks of :class:`_Timeline` for rows that stand for several patients (a table of counts).

    ``time``: sorted and merged (:func:`_timefix`); ``n_event``: deaths per row. Nothing is stored per death:
    ``death_rows`` are the rows with a death, ``death_weight`` their deaths and ``death_row_block`` their
    block, which :class:`_PatternRiskSets` reads as :class:`_Timeline`'s rows (each of weight 1).
    """

    def __init__(self, time: np.ndarray, n_event: np.ndarray):
        self.time = time
        self.death_rows = np.flatnonzero(n_event > 0)
        self.death_weight = n_event[self.death_rows]
        death_time = time[self.death_rows]  # sorted
        new_block = np.ones(death_time.size, dtype=bool)
        np.not_equal(death_time[1:], death_time[:-1], out=new_block[1:])
        death_times = death_time[new_block]
        self.death_row_block = np.cumsum(new_block) - 1
        # deaths per block (whole numbers), summed over its rows (contiguous: sorted by time)
        self.block_size = (np.add.reduceat(self.death_weight, np.flatnonzero(new_block)) if death_time.size
                           else np.zeros(0, dtype=self.death_weight.dtype))
        self.n_deaths = int(self.death_weight.sum())
        self._segment = np.searchsorted(death_times, time, side="right")  # blocks with time <= the row's

    def segment(self) -> np.ndarray:
        """Per row, the number of death blocks whose risk set holds it (as :meth:`_Timeline.segment`)."""
        return self._segment


def count_weights(counts: pd.DataFrame, event_col: str, censor_col: str) -> dict[str, np.ndarray]:
    """The two count columns of a table of counts as int64 arrays (column -> array), checked: whole numbers >= 0.

    Raises
    ------
    ValueError
        A column missing, or a count that is negative, missing or not whole.
    InsufficientDataError
        No row counts a patient.
    """
    missing = [column for column in (event_col, censor_col) if column not in counts.columns]
    if missing:
        raise ValueError(f"columns not found in counts: {missing}")
    weights = {}
    for column in (event_col, censor_col):
        values = pd.to_numeric(counts[column], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(values) & (values >= 0) & (values == np.round(values))):
            raise ValueError(f"count column {column!r} must hold whole numbers >= 0")
        weights[column] = values.astype(np.int64)
    if not (weights[event_col] + weights[censor_col]).any():
        raise InsufficientDataError("the counts hold no patient (every row counts 0 events and 0 censored)")
    return weights


def fit_cox_from_counts(counts: pd.DataFrame, covariates, time_col: str = "time", event_col: str = "n_event",
                        censor_col: str = "n_censor", ties: str = "efron", alpha: float = 0.05,
                        strata: str | None = None) -> pd.DataFrame:
    """:func:`fit_cox` from events and censorings per (covariate pattern, time): the same fit as on the patients.

    Parameters
    ----------
    counts : pandas.DataFrame
        One row per (covariate values, time) with the patients who had the event then (``event_col``) and
        who were censored then (``censor_col``), e.g. a database ``GROUP BY`` of the covariates and the
        time. Rows whose time or a covariate is missing count as dropped (R ``na.omit``). Rows need not be
        distinct or sorted.
    covariates : str or list of str
        As in :func:`fit_cox` (factors, booleans and numbers; a number with many distinct values makes a
        table nearly as long as the patients).
    time_col, event_col, censor_col : str
        Columns of the time and of the two counts (non-negative whole numbers).
    ties, alpha
        As in :func:`fit_cox`.
    strata : str, optional
        Column of strata, as in :func:`fit_cox` (rows whose stratum is missing are dropped and counted in
        ``attrs["n_dropped_strata"]``).

    Returns
    -------
    pandas.DataFrame
        :func:`fit_cox`'s table and ``attrs`` for the patients the rows stand for.

    Raises
    ------
    ValueError, InsufficientDataError
        As :func:`fit_cox`, and for counts that are not whole numbers >= 0.

    Notes
    -----
    The risk-set sums are made over the covariate patterns as in :class:`_PatternRiskSets`, with each
    row weighted by its patients: the log partial likelihood, its derivatives and so every output equal
    those of the patients' rows up to rounding (tests compare to 1e-10). With many patterns the outer
    products are of the patterns' covariate projections (p x p per death time, never G x G), so the cost is
    O(p G) per death time. When the dense counts (patterns x death times) would pass
    ``_MAX_PATTERN_CELLS`` or the patterns do not pay (:func:`_patterns_pay`), the risk sets are
    cumulative sums over the rows of ``counts``, each weighted by its patients (:class:`_RiskSets`).
    Either way memory grows with the rows of ``counts`` and the events, never with the censored patients.

    References
    ----------
    .. [1] Cox DR (1972), Efron B (1977), Breslow NE (1974): as :func:`fit_cox`.
    .. [2] Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox Model. Springer; 2000
       (risk-set sums as weighted means and covariances, which counts of patients weight exactly).
    """
    return _fit_cox_from_counts(counts, covariates, time_col, event_col, censor_col, ties, alpha, strata)


def _fit_cox_from_counts(counts, covariates, time_col, event_col, censor_col, ties, alpha, strata,
                         shared: dict | None = None) -> pd.DataFrame:
    """:func:`fit_cox_from_counts`; ``shared``: a dict kept over the models of one screening
    (:func:`univariate_cox_from_counts`), see :func:`_efron_deaths`."""
    covariates = _as_list(covariates)
    _check_arguments(counts, time_col, event_col, covariates, ties, alpha)
    if strata is not None and (strata not in counts.columns or strata in (time_col, event_col, censor_col,
                                                                          *covariates)):
        raise ValueError(f"strata column {strata!r} not found, or also the time, a count or a covariate")
    weights = count_weights(counts, event_col, censor_col)
    kept = (weights[event_col] + weights[censor_col]) > 0
    n_all = int(weights[event_col].sum() + weights[censor_col].sum())
    n_dropped_strata = 0
    if strata is not None:
        has_stratum = counts[strata].notna().to_numpy()
        n_dropped_strata = int((weights[event_col] + weights[censor_col])[kept & ~has_stratum].sum())
        kept &= has_stratum
        if not kept.any():
            raise InsufficientDataError(f"no rows with a value of the strata column {strata!r}")
    table = counts.loc[kept, [time_col, *covariates]].assign(
        **{"__event": (weights[event_col][kept] > 0).astype(float)})
    n_event, n_censor = weights[event_col][kept], weights[censor_col][kept]
    design = _build_design(table, time_col, "__event", covariates)
    n_event, n_censor = n_event[design.complete], n_censor[design.complete]
    patients = n_event + n_censor
    n = int(patients.sum())
    design.n_dropped = n_all - n_dropped_strata - n
    design.warnings = [w for w in design.warnings if "rows dropped because of missing" not in w]
    if design.n_dropped:
        design.warnings.insert(0, f"{design.n_dropped:,} of {n_all - n_dropped_strata:,} rows dropped because of "
                                  f"missing values (like R's na.omit)")
    if n < 2:
        raise InsufficientDataError(f"only {n} complete row: a Cox model needs at least 2")
    if strata is not None:
        stratum = pd.factorize(pd.Series(counts[strata].to_numpy(dtype=object)[kept][design.complete],
                                         dtype=object))[0].astype(np.intp)
        fitted = _stratified_counted_fit(design, stratum, n_event, patients, ties, alpha, covariates, strata)
        fitted.attrs["n_dropped_strata"] = n_dropped_strata
        if n_dropped_strata:
            fitted.attrs["warnings"].insert(0, f"{n_dropped_strata:,} of {n_all:,} rows dropped because the "
                                               f"stratum {strata!r} is missing")
        return fitted
    order = _stable_argsort(design.time)
    time = _timefix(design.time[order])
    n_event, patients = n_event[order], patients[order]
    timeline = _CountedTimeline(time, n_event)
    indicator, plain = _indicators(design)
    row_weight = patients.astype(float)
    means, scale = _centring(design.x[order], plain, row_weight)
    pattern, n_patterns = _design_patterns(design, indicator, len(design.time))
    p, n_blocks = len(design.terms), timeline.block_size.size
    if _RISK_SETS == "rows" or (_RISK_SETS == "auto" and (
            _pattern_cells(n_patterns, p, n_blocks) > _MAX_PATTERN_CELLS
            or not _patterns_pay(n_patterns, p, n, n_blocks))):
        # many patterns: risk sets over the rows of counts, each weighted by its patients
        x = design.x[order]
        rows = _Rows(x, row_weight, n_event.astype(float))
        risk_sets = _RiskSets(time, n_event, (x - means) * scale, ties, row_weight=row_weight)
        extremes = _at_risk_set_extremes(x, risk_sets.deaths, risk_sets.risk_start)
        return _fitted_table(design, risk_sets, means, scale, rows, indicator, extremes, n,
                             int(risk_sets.deaths.size), covariates, ties, alpha)
    representative = np.empty(n_patterns, dtype=np.intp)
    representative[pattern] = np.arange(pattern.size)
    pattern = pattern[order]
    rows = _Rows(design.x[representative], np.bincount(pattern, weights=row_weight, minlength=n_patterns),
                 np.bincount(pattern, weights=n_event.astype(float), minlength=n_patterns))
    risk_sets = _PatternRiskSets(timeline, pattern, (rows.values - means) * scale, ties, row_weight=row_weight,
                                 shared=shared)
    extremes = _pattern_extremes(rows.values, risk_sets.first_death, risk_sets.last_at_risk)
    return _fitted_table(design, risk_sets, means, scale, rows, indicator, extremes, n,
                         timeline.n_deaths, covariates, ties, alpha)


def _stratified_counted_fit(design: _Design, stratum: np.ndarray, n_event: np.ndarray, patients: np.ndarray,
                            ties: str, alpha: float, covariates: list[str], strata: str) -> pd.DataFrame:
    """:func:`fit_cox_from_counts` with strata: risk sets over the rows of counts (sorted by stratum, then
    time; times merged over all rows, as :func:`_stratified_timeline`), each row weighted by its patients
    and ending with its stratum."""
    by_time = _stable_argsort(design.time)
    fixed = np.empty(design.time.size)
    fixed[by_time] = _timefix(design.time[by_time])
    order = np.lexsort((fixed, stratum))
    time, stratum = fixed[order], stratum[order]
    n_event, row_weight = n_event[order], patients[order].astype(float)
    new_stratum = np.r_[True, stratum[1:] != stratum[:-1]]
    new_time = new_stratum | np.r_[True, time[1:] != time[:-1]]
    deaths = np.repeat(np.arange(time.size), n_event)
    risk_start = np.flatnonzero(new_time)[(np.cumsum(new_time) - 1)[deaths]]
    risk_stop = np.r_[np.flatnonzero(new_stratum)[1:], time.size][(np.cumsum(new_stratum) - 1)[deaths]]
    x = design.x[order]
    indicator, plain = _indicators(design)
    means, scale = _centring(x, plain, row_weight)
    rows = _Rows(x, row_weight, n_event.astype(float))
    risk_sets = _RiskSets(time, n_event, (x - means) * scale, ties, risk_start, risk_stop, row_weight=row_weight)
    extremes = _stratified_extremes(x, deaths, risk_start, risk_stop)
    return _fitted_table(design, risk_sets, means, scale, rows, indicator, extremes, int(row_weight.sum()),
                         int(deaths.size), covariates, ties, alpha, strata, int(stratum.max()) + 1)
