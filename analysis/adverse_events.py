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

from analysis.response import ALL_LABEL, CI_METHODS, _group_levels, proportion_ci

__all__ = [
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
    raw = grades.to_numpy(dtype=object)
    numeric = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(dtype=float)
    given = np.asarray(pd.notna(raw), dtype=bool)
    valid = np.isin(numeric, [1, 2, 3, 4, 5])
    bad = given & ~valid
    if bad.any():
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

    population = patients.drop_duplicates(subset=patient_col)
    grades = _validated_grades(ae_long[grade_col])
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

    band_specs = list(bands) + ([(ANY_GRADE_LABEL, None, None)] if include_any_grade else [])
    term_frequency = events.groupby("term")["patient"].nunique()
    term_order = sorted(term_frequency.index, key=lambda term: (-term_frequency[term], str(term)))

    rows = []
    for term in [ANY_AE_LABEL] + term_order:
        term_events = events if term == ANY_AE_LABEL else events[events["term"] == term]
        for band_label, low, high in band_specs:
            in_band = term_events if low is None else term_events[term_events["grade"].between(low, high)]
            affected = set(in_band["patient"])
            for group_label, members in groups:
                n_patients, denominator = len(affected & members), len(members)
                if denominator > 0:
                    rate, lower, upper = proportion_ci(n_patients, denominator, method, alpha)
                else:
                    rate = lower = upper = math.nan
                rows.append({
                    "group": group_label, "term": term, "band": band_label,
                    "n_patients": n_patients, "denominator": denominator,
                    "percent": 100 * rate, "percent_lower": 100 * lower,
                    "percent_upper": 100 * upper,
                })
    table = pd.DataFrame(rows, columns=AE_TABLE_COLUMNS)
    table.attrs.update({"ci_method": str(method).lower(), "alpha": alpha})
    return table
