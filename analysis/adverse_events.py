"""Adverse event (AE) summaries: per-patient burden and incidence tables.

Data conventions
----------------
* ``ae_long``: one row per adverse event with columns ``patient_id``,
  ``term`` and ``grade`` (CTCAE grade 1-5; a missing grade is allowed and
  means "grade unknown").
* ``patients``: one row per treated patient (``patient_id`` plus optional
  grouping columns). It defines the population and the denominators, so
  patients without any AE count; AE rows of patients not in ``patients``
  are ignored (e.g. when the dashboard filters the population).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import pandas as pd

from analysis.response import ALL_LABEL, CI_METHODS, _group_index, _group_levels, _proportion_cis

__all__ = [
    "ae_table_from_counts",
    "ANY_AE_LABEL",
    "ANY_GRADE_LABEL",
    "DEFAULT_GRADE_BANDS",
    "EVENT_CATEGORIES",
    "ae_burden_category",
    "ae_count_per_patient",
    "ae_table",
    "worst_grade_per_patient",
]

DEFAULT_GRADE_BANDS = (("1-2", 1, 2), ("3-4", 3, 4), ("5", 5, 5))
ANY_GRADE_LABEL = "Any grade"
ANY_AE_LABEL = "Any adverse event"
MISSING_TERM_LABEL = "(term missing)"
#: event-count categories of :func:`ae_burden_category`
EVENT_CATEGORIES = ("0", "1-2", ">=3", "unknown")
UNKNOWN = "unknown"


def _check_columns(df, columns, name):
    missing = [col for col in columns if col not in df.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not found in {name}")


def _validated_grades(grades):
    """Grades as float (NaN = unknown); ValueError naming invalid values."""
    raw = None
    if (pd.api.types.is_integer_dtype(grades.dtype) or pd.api.types.is_float_dtype(grades.dtype)) \
            and not isinstance(grades.dtype, pd.CategoricalDtype):
        # numbers already (numpy or nullable): no detour through Python objects
        numeric = grades.to_numpy(dtype=float, na_value=np.nan)
        given = grades.notna().to_numpy(dtype=bool)
    else:
        raw = grades.to_numpy(dtype=object)
        numeric = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(dtype=float)
        given = np.asarray(pd.notna(raw), dtype=bool)
    valid = np.isin(numeric, [1, 2, 3, 4, 5])
    bad = given & ~valid
    if bad.any():
        if raw is None:
            raw = grades.to_numpy(dtype=object)
        examples = list(dict.fromkeys(raw[bad].tolist()))[:5]
        raise ValueError(f"invalid AE grade(s) {examples}; grades must be integers 1-5 or missing")
    return pd.Series(numeric, index=grades.index)


def worst_grade_per_patient(ae_long, patient_col="patient_id", grade_col="grade"):
    """Highest AE grade of each patient.

    Parameters
    ----------
    ae_long : pandas.DataFrame
        One row per adverse event.
    patient_col, grade_col : str
        Column names of the patient identifier and the CTCAE grade (1-5).

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id`` (named after `patient_col`) and
        ``worst_grade`` (float; NaN when all the patient's grades are
        missing), one row per patient with at least one AE, sorted by
        patient.

    Raises
    ------
    ValueError
        If columns are missing or a grade is not an integer 1-5.

    References
    ----------
    .. [1] National Cancer Institute (2017). Common Terminology Criteria for
       Adverse Events (CTCAE) v5.0.
    """
    _check_columns(ae_long, [patient_col, grade_col], "ae_long")
    grades = _validated_grades(ae_long[grade_col])
    worst = grades.groupby(ae_long[patient_col].to_numpy(), sort=True).max()
    return pd.DataFrame({patient_col: worst.index.to_numpy(), "worst_grade": worst.to_numpy()})


def ae_count_per_patient(ae_long, patients=None, patient_col="patient_id"):
    """Number of AE records per patient.

    Parameters
    ----------
    ae_long : pandas.DataFrame
        One row per adverse event.
    patients : pandas.DataFrame, optional
        Population; when given, every patient in it is listed (0 events if
        absent from `ae_long`) and AEs of other patients are ignored.
    patient_col : str, default "patient_id"
        Patient identifier column.

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id`` (named after `patient_col`) and ``n_events``
        (int), sorted by patient.
    """
    _check_columns(ae_long, [patient_col], "ae_long")
    counts = ae_long.groupby(patient_col, sort=True).size()
    if patients is not None:
        _check_columns(patients, [patient_col], "patients")
        population = pd.Index(pd.unique(patients[patient_col])).sort_values()
        counts = counts.reindex(population, fill_value=0)
    return pd.DataFrame({patient_col: counts.index.to_numpy(),
                         "n_events": counts.to_numpy(dtype=int)})


def _is_missing(value):
    return value is None or value is pd.NA or (isinstance(value, Real) and math.isnan(value))


def _burden_one(n_events, worst_grade):
    if _is_missing(n_events):
        category = UNKNOWN
    else:
        if isinstance(n_events, (bool, np.bool_)) or not isinstance(n_events, Real) \
                or n_events < 0 or not float(n_events).is_integer():
            raise ValueError(f"n_events must be a non-negative integer or missing, got {n_events!r}")
        category = "0" if n_events == 0 else ("1-2" if n_events <= 2 else ">=3")

    if category == "0":
        any_grade_3plus = False  # no events, so no grade >= 3 event
    elif _is_missing(worst_grade):
        any_grade_3plus = None
    else:
        if not isinstance(worst_grade, Real) or worst_grade not in (1, 2, 3, 4, 5):
            raise ValueError(f"worst_grade must be an integer 1-5 or missing, got {worst_grade!r}")
        any_grade_3plus = bool(worst_grade >= 3)
    return category, any_grade_3plus


def ae_burden_category(n_events, worst_grade):
    """Classify a patient's AE burden.

    Parameters
    ----------
    n_events : int, float, None or array_like
        Number of AE records of the patient (missing = unknown).
    worst_grade : int, float, None or array_like
        Highest CTCAE grade (1-5) of the patient; ignored when
        ``n_events == 0``.

    Returns
    -------
    tuple or pandas.DataFrame
        For scalars ``(events_category, any_grade_3plus)``; for array-likes a
        DataFrame with those two columns (``any_grade_3plus`` of pandas
        nullable ``boolean`` dtype).

        * ``events_category``: ``"0"`` (no AE), ``"1-2"`` (one or two AEs),
          ``">=3"`` (three or more), or ``"unknown"`` when `n_events` is
          missing.
        * ``any_grade_3plus``: True when the worst grade is 3, 4 or 5, False
          when it is 1-2 or the patient had no AE (``n_events == 0``), None
          (``pd.NA``) when the worst grade is missing otherwise.

    Raises
    ------
    ValueError
        For negative or non-integer counts and grades outside 1-5.
    """
    if np.ndim(n_events) == 0 and np.ndim(worst_grade) == 0:
        return _burden_one(n_events, worst_grade)
    counts = list(np.asarray(n_events, dtype=object).ravel())
    grades = list(np.asarray(worst_grade, dtype=object).ravel())
    if len(counts) != len(grades):
        raise ValueError("n_events and worst_grade must have the same length")
    pairs = [_burden_one(n, g) for n, g in zip(counts, grades)]
    return pd.DataFrame({
        "events_category": [category for category, _ in pairs],
        "any_grade_3plus": pd.array([flag for _, flag in pairs], dtype="boolean"),
    }, index=n_events.index if isinstance(n_events, pd.Series) else None)


def _check_grade_bands(grade_bands):
    bands = []
    for band in grade_bands:
        try:
            label, low, high = band
        except (TypeError, ValueError):
            raise ValueError(f"grade band must be (label, lowest, highest), got {band!r}") from None
        if low not in (1, 2, 3, 4, 5) or high not in (1, 2, 3, 4, 5) or low > high:
            raise ValueError(f"grade band {band!r} must satisfy 1 <= lowest <= highest <= 5")
        bands.append((str(label), int(low), int(high)))
    labels = [label for label, _, _ in bands]
    if len(set(labels)) != len(labels):
        raise ValueError(f"grade band labels must be unique, got {labels}")
    return bands


AE_TABLE_COLUMNS = ["group", "term", "band", "n_patients", "denominator",
                    "percent", "percent_lower", "percent_upper"]


def ae_table(ae_long, patients, group_col=None,
             grade_bands=DEFAULT_GRADE_BANDS, method="clopper-pearson", alpha=0.05,
             include_any_grade=True, patient_col="patient_id", term_col="term",
             grade_col="grade"):
    """Incidence of each AE term by grade band, with confidence intervals.

    Parameters
    ----------
    ae_long : pandas.DataFrame
        One row per adverse event (`patient_col`, `term_col`, `grade_col`).
    patients : pandas.DataFrame
        One row per treated patient; defines the population and, with
        `group_col`, the groups. AEs of patients not listed are ignored.
    group_col : str, optional
        Column of `patients` defining the groups (e.g. arm). Missing values
        form a ``"Missing"`` group. An ``"All"`` group is always included.
    grade_bands : sequence of (label, lowest, highest)
        Grade bands, inclusive; default ``1-2``, ``3-4`` and ``5``.
    method : {"clopper-pearson", "wilson", "jeffreys"}, default "clopper-pearson"
        Confidence interval, see :func:`analysis.response.proportion_ci`.
    alpha : float, default 0.05
        Two-sided error rate of the intervals.
    include_any_grade : bool, default True
        Add an ``"Any grade"`` band (grades 1-5, plus events of unknown
        grade).
    patient_col, term_col, grade_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        Tidy table, one row per group x term x band (zero counts included),
        columns ``group, term, band, n_patients, denominator, percent,
        percent_lower, percent_upper`` (percentages 0-100).

        * ``n_patients``: patients with at least one event of the term whose
          grade lies in the band (a patient counts once per term and band,
          however many such events they had). Events with a missing grade
          count only in ``"Any grade"``.
        * ``denominator``: number of patients of the group in `patients`,
          with or without AEs.
        * The term ``"Any adverse event"`` counts patients with at least one
          event of any term in the band.

        Rows are sorted by frequency: ``"Any adverse event"`` first, then
        terms by decreasing number of patients with the term at any grade in
        the whole population (ties alphabetically); within a term by band
        (in the order given, ``"Any grade"`` last) and group (``"All"``
        last). A missing term is reported as ``"(term missing)"``.

    Raises
    ------
    ValueError
        For missing columns, invalid grades, grade bands or options.

    References
    ----------
    .. [1] Clopper, C. J. and Pearson, E. S. (1934). The use of confidence or
       fiducial limits illustrated in the case of the binomial. Biometrika,
       26(4), 404-413.
    .. [2] National Cancer Institute (2017). Common Terminology Criteria for
       Adverse Events (CTCAE) v5.0.
    """
    _check_columns(ae_long, [patient_col, term_col, grade_col], "ae_long")
    _check_columns(patients, [patient_col] + ([group_col] if group_col else []), "patients")
    bands = _check_grade_bands(grade_bands)
    if str(method).lower() not in CI_METHODS:
        raise ValueError(f"unknown confidence interval method {method!r}; expected one of {list(CI_METHODS)}")

    coded = _coded_patients(patients[patient_col], ae_long[patient_col])
    population = patients.drop_duplicates(subset=patient_col) if coded is None else None
    grades = _validated_grades(ae_long[grade_col])
    method = str(method).lower()
    band_specs = list(bands) + ([(ANY_GRADE_LABEL, None, None)] if include_any_grade else [])
    counted = None
    if coded is not None:
        counted = _ae_counts(coded, patients, ae_long, grades, band_specs, group_col, term_col)
    if counted is None:  # unusual patient ids or term names: the set-based count
        if population is None:
            population = patients.drop_duplicates(subset=patient_col)
        counted = _ae_counts_by_sets(ae_long, population, grades, band_specs, group_col,
                                     patient_col, term_col)
    groups, denominators, terms, n_patients = counted
    return _ae_rows(groups, denominators, terms, n_patients, band_specs, method, alpha)


def _ae_rows(groups, denominators, terms, n_patients, band_specs, method, alpha):
    """The tidy AE table from patients per (term, band, group) and the group denominators."""
    denominators = np.asarray(denominators, dtype=np.int64)

    every_denominator = np.broadcast_to(denominators, n_patients.shape)
    positive = every_denominator > 0
    cis = _proportion_cis(n_patients[positive], every_denominator[positive], method, alpha)
    rows = []
    for term_index, term in enumerate(terms):
        for band_index, (band_label, _, _) in enumerate(band_specs):
            for group_index, group_label in enumerate(groups):
                count, denominator = int(n_patients[term_index, band_index, group_index]), \
                    int(denominators[group_index])
                if denominator > 0:
                    rate, lower, upper = cis[(count, denominator)]
                else:
                    rate = lower = upper = math.nan
                rows.append({
                    "group": group_label, "term": term, "band": band_label,
                    "n_patients": count, "denominator": denominator,
                    "percent": 100 * rate, "percent_lower": 100 * lower,
                    "percent_upper": 100 * upper,
                })
    table = pd.DataFrame(rows, columns=AE_TABLE_COLUMNS)
    table.attrs.update({"ci_method": method, "alpha": alpha})
    return table


def ae_table_from_counts(term_masks, any_masks, denominators, grouped=True, grade_bands=DEFAULT_GRADE_BANDS,
                         method="clopper-pearson", alpha=0.05, include_any_grade=True):
    """:func:`ae_table` from counts of patients per grade mask (what a database ``GROUP BY`` gives).

    A patient's grade mask for a term has bit ``g`` set when they had an
    event of the term of grade ``g`` (1-5) and bit 0 for an event of unknown
    grade: ``bit_or(1 << coalesce(grade, 0))`` over their events of the term.

    Parameters
    ----------
    term_masks : pandas.DataFrame
        Columns ``group, term, grade_mask, n``: patients of the group whose
        mask for the term is ``grade_mask`` (a missing term as
        ``"(term missing)"``).
    any_masks : pandas.DataFrame
        Columns ``group, grade_mask, n``: the same over all terms together
        (for ``"Any adverse event"``).
    denominators : pandas.DataFrame
        Columns ``group, n``: patients per group, with or without AEs. A
        missing group forms a ``"Missing"`` group, as in :func:`ae_table`.
    grouped : bool, default True
        False: the ``"All"`` column only, as :func:`ae_table` without ``group_col``.
    grade_bands, method, alpha, include_any_grade
        As in :func:`ae_table`.

    Returns
    -------
    pandas.DataFrame
        The table of :func:`ae_table` on the patients counted (same rows,
        order and values), with groups ending with ``"All"``.

    References
    ----------
    .. [1] Clopper, C. J. and Pearson, E. S. (1934). Biometrika, 26(4), 404-413.
    .. [2] National Cancer Institute (2017). Common Terminology Criteria for
       Adverse Events (CTCAE) v5.0.
    """
    bands = _check_grade_bands(grade_bands)
    if str(method).lower() not in CI_METHODS:
        raise ValueError(f"unknown confidence interval method {method!r}; expected one of {list(CI_METHODS)}")
    _check_columns(term_masks, ["group", "term", "grade_mask", "n"], "term_masks")
    _check_columns(any_masks, ["group", "grade_mask", "n"], "any_masks")
    _check_columns(denominators, ["group", "n"], "denominators")
    for name, frame in (("term_masks", term_masks), ("any_masks", any_masks), ("denominators", denominators)):
        counts = pd.to_numeric(frame["n"], errors="coerce").to_numpy(dtype=float)
        if np.isnan(counts).any() or (counts < 0).any() or np.any(counts != np.rint(counts)):
            raise ValueError(f"{name}.n must hold non-negative whole numbers of patients")
    band_specs = list(bands) + ([(ANY_GRADE_LABEL, None, None)] if include_any_grade else [])
    levels, row_level, members_of = _group_index(denominators["group"].astype(object))
    n_slots = max(len(levels), 1)
    population = denominators["n"].to_numpy(dtype=np.int64)
    group_denominators = np.append(np.bincount(row_level, weights=population, minlength=n_slots)[members_of],
                                   population.sum()).astype(np.int64)
    slot_of = dict(zip(pd.Series(denominators["group"], dtype=object).map(_group_key), row_level))

    term_names = term_masks["term"].astype(object).where(term_masks["term"].notna(), MISSING_TERM_LABEL)
    term_code, term_uniques = pd.factorize(term_names.to_numpy(dtype=object))
    term_uniques = [str(t) for t in term_uniques]
    n_terms = len(term_uniques)
    masks = term_masks["grade_mask"].to_numpy(dtype=np.int64)
    weights = term_masks["n"].to_numpy(dtype=np.int64)
    slots = np.array([slot_of[_group_key(g)] for g in term_masks["group"].astype(object)], dtype=np.intp)
    frequency = np.bincount(term_code, weights=weights, minlength=n_terms)
    term_order = sorted(np.flatnonzero(frequency > 0).tolist(), key=lambda t: (-frequency[t], term_uniques[t]))
    any_mask = any_masks["grade_mask"].to_numpy(dtype=np.int64)
    any_weights = any_masks["n"].to_numpy(dtype=np.int64)
    any_slots = np.array([slot_of[_group_key(g)] for g in any_masks["group"].astype(object)], dtype=np.intp)

    n_patients = np.zeros((n_terms + 1, len(band_specs), len(levels) + 1), dtype=np.int64)
    for band_index, (_, low, high) in enumerate(band_specs):
        in_band = (masks & _band_mask(low, high)) != 0
        by_term = np.rint(np.bincount(term_code[in_band] * n_slots + slots[in_band], weights=weights[in_band],
                                      minlength=n_terms * n_slots)).astype(np.int64).reshape(n_terms, n_slots)
        n_patients[1:, band_index, :-1] = by_term[:, members_of]
        n_patients[1:, band_index, -1] = by_term.sum(axis=1)
        any_in_band = (any_mask & _band_mask(low, high)) != 0
        by_group = np.rint(np.bincount(any_slots[any_in_band], weights=any_weights[any_in_band],
                                       minlength=n_slots)).astype(np.int64)
        n_patients[0, band_index, :-1] = by_group[members_of]
        n_patients[0, band_index, -1] = by_group.sum()
    for t, term in enumerate(term_uniques):
        if term == ANY_AE_LABEL:  # a term named like the total counts as it
            n_patients[t + 1] = n_patients[0]
    order = np.r_[0, np.asarray(term_order, dtype=np.intp) + 1]
    terms = [ANY_AE_LABEL] + [term_uniques[t] for t in term_order]
    groups = (levels if grouped else []) + [ALL_LABEL]
    if not grouped:
        n_patients, group_denominators = n_patients[..., -1:], group_denominators[-1:]
    return _ae_rows(groups, group_denominators, terms, n_patients[order], band_specs, str(method).lower(), alpha)


def _group_key(value):
    """A dictionary key for a group value (every missing value alike)."""
    return None if _is_missing(value) else value


#: bit of each grade code in the per (patient, term) grade masks; 0 = unknown grade
_GRADE_BITS = 6


def _band_mask(low, high):
    """Grade-mask bits of a band (``low is None``: any grade, unknown included)."""
    if low is None:
        return (1 << _GRADE_BITS) - 1
    return sum(1 << grade for grade in range(low, high + 1))


def _coded_patients(patient_ids, event_ids):
    """Integer codes of the population and of each event's patient, or None.

    One hash pass over both id columns. Returns ``(first_rows, event_patient)``:
    the rows of `patient_ids` that :meth:`~pandas.DataFrame.drop_duplicates`
    keeps (the population, in order) and, per event, the position of its
    patient in that population (-1 when not in it). None when the two columns
    differ in dtype, an id is missing or ids are not hashable: those cases go
    to :func:`_ae_counts_by_sets`, whose set semantics they need.
    """
    if patient_ids.dtype != event_ids.dtype:
        return None
    try:
        codes, _ = pd.factorize(np.concatenate([patient_ids.to_numpy(), event_ids.to_numpy()]))
    except (TypeError, ValueError):
        return None
    if codes.size and codes.min() < 0:
        return None
    patient_codes, event_codes = codes[: len(patient_ids)], codes[len(patient_ids):]
    # codes number the distinct ids in order of first appearance, patients first:
    # a patient row is a first occurrence where its code exceeds all before it
    seen = np.maximum.accumulate(np.r_[-1, patient_codes])
    first_rows = np.flatnonzero(patient_codes > seen[:-1])
    event_patient = np.where(event_codes < first_rows.size, event_codes, -1)
    return first_rows, event_patient


def _ae_counts(coded, patients, ae_long, grades, band_specs, group_col, term_col):
    """Patients with an event per term, band and group, by integer codes.

    Returns ``(groups, denominators, terms, n_patients)`` with `n_patients`
    of shape (term, band, group), terms led by ``"Any adverse event"`` and
    groups ending with ``"All"``; or None when two terms print alike (their
    order would need the set-based count, :func:`_ae_counts_by_sets`).
    """
    first_rows, patient = coded
    n_population = first_rows.size
    kept = patient >= 0
    patient = patient[kept]

    # terms of the kept events, a missing term as MISSING_TERM_LABEL (merged with a
    # term of that name), numbered 0..n_terms-1
    term_code, term_uniques = pd.factorize(ae_long[term_col].to_numpy(dtype=object)[kept])
    term_uniques = list(term_uniques)
    if term_code.size and term_code.min() < 0:
        same_name = [t for t, term in enumerate(term_uniques)
                     if isinstance(term, str) and term == MISSING_TERM_LABEL]
        if same_name:
            missing_code = same_name[0]
        else:
            missing_code = len(term_uniques)
            term_uniques.append(MISSING_TERM_LABEL)
        term_code = np.where(term_code < 0, missing_code, term_code)
    term_names = [str(term) for term in term_uniques]
    if len(set(term_names)) != len(term_names):
        return None
    grade = grades.to_numpy()[kept]
    grade_code = np.where(np.isnan(grade), 0, grade).astype(np.int64)

    # one entry per (patient, term): the mask of the grades the patient had for the term
    n_terms = len(term_uniques)
    pair_patient = pair_term = pair_grades = np.zeros(0, dtype=np.int64)
    if patient.size:
        key = np.sort(((patient.astype(np.int64) * n_terms + term_code) << 3) | grade_code)
        pair = key >> 3
        starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
        pair_grades = np.bitwise_or.reduceat(np.left_shift(1, key & 7), starts)
        pair_patient, pair_term = np.divmod(pair[starts], n_terms)

    # terms by decreasing number of patients at any grade, ties alphabetically
    frequency = np.bincount(pair_term, minlength=n_terms)
    term_order = sorted(np.flatnonzero(frequency > 0).tolist(),
                        key=lambda t: (-frequency[t], term_names[t]))

    if group_col is not None:
        group_values = patients[group_col]
        if n_population < len(group_values):
            group_values = group_values.iloc[first_rows]
        levels, row_level, members_of = _group_index(group_values)
    else:
        levels, row_level, members_of = [], np.zeros(n_population, dtype=np.intp), np.zeros(0, dtype=np.intp)
    n_slots = max(len(levels), 1)
    denominators = np.append(np.bincount(row_level, minlength=n_slots)[members_of], n_population)

    n_patients = np.zeros((n_terms + 1, len(band_specs), len(levels) + 1), dtype=np.int64)
    pair_slot = row_level[pair_patient]
    for band_index, (_, low, high) in enumerate(band_specs):
        in_band = (pair_grades & _band_mask(low, high)) != 0
        by_term = np.bincount(pair_term[in_band] * n_slots + pair_slot[in_band],
                              minlength=n_terms * n_slots).reshape(n_terms, n_slots)
        n_patients[1:, band_index, :-1] = by_term[:, members_of]
        n_patients[1:, band_index, -1] = np.bincount(pair_term[in_band], minlength=n_terms)
        affected = np.bincount(pair_patient[in_band], minlength=n_population) > 0
        n_patients[0, band_index, :-1] = np.bincount(row_level[affected], minlength=n_slots)[members_of]
        n_patients[0, band_index, -1] = int(affected.sum())
    for t, term in enumerate(term_uniques):
        if isinstance(term, str) and term == ANY_AE_LABEL:  # a term named like the total counts as it
            n_patients[t + 1] = n_patients[0]
    order = np.r_[0, np.asarray(term_order, dtype=np.intp) + 1]
    terms = [ANY_AE_LABEL] + [term_uniques[t] for t in term_order]
    return levels + [ALL_LABEL], denominators, terms, n_patients[order]


def _ae_counts_by_sets(ae_long, population, grades, band_specs, group_col, patient_col, term_col):
    """:func:`_ae_counts` with Python sets of patient ids (any ids, slower)."""
    events = pd.DataFrame({
        "patient": ae_long[patient_col].to_numpy(),
        "term": ae_long[term_col].astype(object).where(ae_long[term_col].notna(),
                                                       MISSING_TERM_LABEL).to_numpy(),
        "grade": grades.to_numpy(),
    })
    events = events[events["patient"].isin(population[patient_col])]

    # groups: (label, set of patient ids)
    groups = []
    if group_col is not None:
        levels, labels = _group_levels(population[group_col])
        for level in levels:
            groups.append((level, set(population[patient_col][labels == level])))
    groups.append((ALL_LABEL, set(population[patient_col])))

    term_frequency = events.groupby("term")["patient"].nunique()
    term_order = sorted(term_frequency.index, key=lambda term: (-term_frequency[term], str(term)))

    terms = [ANY_AE_LABEL] + term_order
    n_patients = np.zeros((len(terms), len(band_specs), len(groups)), dtype=np.int64)
    for term_index, term in enumerate(terms):
        term_events = events if term == ANY_AE_LABEL else events[events["term"] == term]
        for band_index, (_, low, high) in enumerate(band_specs):
            in_band = term_events if low is None else term_events[term_events["grade"].between(low, high)]
            affected = set(in_band["patient"])
            for group_index, (_, members) in enumerate(groups):
                n_patients[term_index, band_index, group_index] = len(affected & members)
    return ([label for label, _ in groups], [len(members) for _, members in groups],
            terms, n_patients)
