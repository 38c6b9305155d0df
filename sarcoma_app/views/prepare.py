"""Data shaping between the database, analysis/ and charts/ (no statistics here).

Turns query results into the arrays and long-form frames the analysis and
chart functions take: display labels for groups, PFS arrays, KM curves as
steps, numbers at risk on a grid.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from data import registry
from sarcoma_app.text import option_label, study_label
from sarcoma_app.viewstate.url_state import UNKNOWN

#: Grouping variable -> patients column (whitelist: the registry's groupings).
GROUPING_COLUMNS = {g.key: g.variable for g in registry.GROUPING_LIST}
NOT_REPORTED = registry.NOT_REPORTED


def _group_label(value: object, grouping: str) -> str:
    """Display label of one grouping value (missing -> 'not reported', or 'NE' for best response)."""
    if grouping == "study" and not registry.is_missing(value):
        return study_label(value)
    return registry.GROUPINGS[grouping].value_label(value)


#: Most levels a grouping or factor may have to be compared: curves, risk tables, tests and Cox terms grow
#: with it (a k x k log-rank variance, a Cox design with k columns). The bundled data have at most 16; an
#: upload with one histology per patient would otherwise cost minutes and gigabytes.
MAX_COMPARED_LEVELS = 40


def n_levels(values: pd.Series) -> int:
    """Distinct non-missing values of ``values``."""
    return int(pd.Series(values).nunique(dropna=True))


def group_labels(patients: pd.DataFrame, grouping: str) -> pd.Series:
    """Display label of each patient's group (missing -> 'not reported').

    ``grouping`` "none" gives 'All patients' for everyone. Each distinct
    value is labelled once (a registry-size cohort has few distinct values).
    """
    if grouping == "none":
        return pd.Series("All patients", index=patients.index, dtype=object)
    codes, uniques = pd.factorize(patients[GROUPING_COLUMNS[grouping]].astype(object), use_na_sentinel=True)
    labels = np.array([_group_label(value, grouping) for value in uniques] + [_group_label(None, grouping)],
                      dtype=object)
    return pd.Series(labels[codes], index=patients.index, dtype=object)  # code -1 (missing) takes the last label


def response_codes(patients: pd.DataFrame) -> pd.Series:
    """Best response with 'NE' for not evaluable."""
    return patients["best_response"].astype(object).where(patients["best_response"].notna(), "NE")


#: Histology bars of one study at most in the best-response chart; the smaller ones share one bar, labelled.
MAX_HISTOLOGY_BARS = 60


def best_response_counts(patients: pd.DataFrame, max_histologies: int = MAX_HISTOLOGY_BARS,
                         count_col: str | None = None) -> pd.DataFrame:
    """Patients per study, histology and best response: study (label), histology, response, n.

    Counted on the codes first and labelled after, so the cost does not grow
    with the cohort beyond one group-by. A study with more than
    ``max_histologies`` histologies keeps its largest ``max_histologies - 1``
    and counts the others together as "N other histologies" (the chart of
    an upload with a histology per patient would otherwise have a bar each). With ``count_col``, each row
    of ``patients`` stands for that many patients (a database count per study, histology and response).
    """
    keys = pd.DataFrame({
        "study_id": patients["study_id"],
        "histology": patients["histology"].astype(object).fillna("Histology not reported"),
        "response": response_codes(patients),
        "n": 1 if count_col is None else patients[count_col].astype("int64"),
    })
    sizes = keys.groupby(["study_id", "histology"])["n"].sum()
    sizes = sizes[sizes > 0]
    if (sizes.groupby(level="study_id").size() > max_histologies).any():
        ranked = sizes.sort_values(ascending=False, kind="stable").groupby(level="study_id").cumcount()
        others = ranked[ranked >= max_histologies - 1]
        n_others = others.groupby(level="study_id").size()
        lumped = keys.set_index(["study_id", "histology"]).index.isin(others.index)
        labels = {study: f"{n:,} other histologies" for study, n in n_others.items()}
        keys.loc[lumped, "histology"] = keys.loc[lumped, "study_id"].map(labels)
    counts = keys.groupby(["study_id", "histology", "response"])["n"].sum().reset_index(name="n")
    counts = counts[counts["n"] > 0]
    counts.insert(0, "study", counts.pop("study_id").map(study_label))
    return counts.sort_values(["study", "histology", "response"], ignore_index=True)




def endpoint_data(patients: pd.DataFrame, endpoint: str = registry.DEFAULT_ENDPOINT) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split patients into analysable for a time-to-event endpoint (time and event known) and excluded.

    Parameters
    ----------
    patients : DataFrame
    endpoint : str
        Key of :data:`data.registry.ENDPOINTS` ("pfs", "os").

    Returns
    -------
    (analysable, excluded)
        ``analysable`` has float ``time`` and int ``event`` columns (the
        endpoint's time and event, also kept under their own names);
        ``excluded`` has a ``reason`` column ('PFS not recorded', ...).
    """
    spec = registry.ENDPOINTS[endpoint]
    time = patients[spec.time] if spec.time in patients else pd.Series(np.nan, index=patients.index)
    event = patients[spec.event] if spec.event in patients else pd.Series(np.nan, index=patients.index)
    known = (time.notna() & event.notna()).to_numpy()
    rows, left_out = np.flatnonzero(known), np.flatnonzero(~known)
    analysable = patients.take(rows)  # one copy of the frame (a mask and .copy() made two)
    analysable["time"] = time.iloc[rows].astype(float).to_numpy()
    analysable["event"] = event.iloc[rows].astype(int).to_numpy()
    excluded = patients.take(left_out)
    excluded["reason"] = exclusion_reasons(time.iloc[left_out].isna().to_numpy(), endpoint)
    return analysable, excluded


def exclusion_reasons(time_missing: np.ndarray, endpoint: str) -> np.ndarray:
    """Why each patient left out of ``endpoint`` is left out: its time, else its event, is not recorded."""
    spec = registry.ENDPOINTS[endpoint]
    return np.where(time_missing, f"{spec.short} time not recorded", f"{spec.short} event status not recorded")


def exclusion_summary(excluded: pd.DataFrame) -> pd.DataFrame:
    """Excluded patients counted per study and reason."""
    if excluded.empty:
        return pd.DataFrame(columns=["Study", "Reason", "Patients"])
    summary = excluded.groupby(["study_id", "reason"]).size().reset_index(name="Patients")
    summary["Study"] = summary["study_id"].map(study_label)
    return summary.rename(columns={"reason": "Reason"})[["Study", "Reason", "Patients"]]


#: Points a KM chart carries at most, all curves together (a 100,000-patient cohort has ~90,000 steps;
#: the chart is about 600 pixels wide, and Altair refuses more than 5,000 rows).
MAX_CURVE_POINTS = 3_000
#: Steps one curve carries at most: two per pixel of the 600-pixel plot, so a step is drawn within half a
#: pixel of its time on screen and within a pixel in a PNG at twice the size. More only cost the browser
#: (a single curve of 3,000 steps took it about 0.1 s longer to redraw after a filter change).
MAX_CURVE_STEPS = 1_200
MAX_CENSOR_MARKS = 300


def _last_per_bin(times: np.ndarray, n_bins: int, max_time: float) -> np.ndarray:
    """Positions (sorted by time) of the last row in each of ``n_bins`` equal time bins."""
    if max_time <= 0:
        return np.arange(len(times))[-1:]
    bins = np.minimum((times / max_time * n_bins).astype(np.int64), n_bins - 1)
    last = np.flatnonzero(np.append(bins[1:] != bins[:-1], True))
    return last


def km_curve_frame(fits: dict, max_points: int = MAX_CURVE_POINTS, max_steps: int = MAX_CURVE_STEPS) -> pd.DataFrame:
    """KM steps of each fit, starting at (0, 1): group, time, survival, lower, upper.

    Only event times carry a step (S(t) and its CI change only there), plus
    the last time so the curve reaches the end of follow-up. A curve with more
    steps than ``max_steps`` or than its share of ``max_points`` (at least
    100) keeps the last step of every one of that many equal time bins (at
    most one bin, a pixel or less, off); ``attrs["thinned"]`` then says so.
    Built on the fits' arrays, one frame at the end (a frame per curve cost 2 ms each).
    """
    thinned = False
    budget = min(max_steps, max(100, max_points // max(1, len(fits))))
    max_time = max((float(fit.time.max()) for fit in fits.values() if len(fit.time)), default=0.0)
    parts: dict[str, list] = {"group": [], "time": [], "survival": [], "lower": [], "upper": []}
    for label, fit in fits.items():
        keep = fit.n_event > 0
        if len(keep):
            keep[-1] = True
        rows = np.flatnonzero(keep)
        if len(rows) > budget:
            rows = rows[_last_per_bin(fit.time[rows].astype(float), budget, max_time)]
            thinned = True
        starts_at_zero = len(rows) > 0 and fit.time[rows[0]] == 0
        lead = [] if starts_at_zero else [0.0]
        parts["time"].append(np.concatenate([lead, fit.time[rows]]).astype(float))
        for column, values in (("survival", fit.survival), ("lower", fit.lower), ("upper", fit.upper)):
            parts[column].append(np.concatenate([[] if starts_at_zero else [1.0], values[rows]]).astype(float))
        parts["group"].append(np.full(len(rows) + len(lead), str(label), dtype=object))
    frame = pd.DataFrame({column: np.concatenate(values) if values else np.array([], dtype=object if column == "group"
                                                                                 else float)
                          for column, values in parts.items()})
    frame.attrs["thinned"] = thinned
    return frame


def km_censor_frame(fits: dict, max_marks: int = MAX_CENSOR_MARKS) -> pd.DataFrame:
    """Censored times with the curve height there: group, time, survival.

    With more than ``max_marks`` censored times in all, no mark is drawn
    (thousands of crosses merge into a thick band that hides the curve);
    ``attrs["omitted"]`` then holds how many censored times there are.
    """
    censored = {label: np.flatnonzero(fit.n_censor > 0) for label, fit in fits.items()}
    total = sum(len(rows) for rows in censored.values())
    omitted = total if total > max_marks else 0
    if omitted or not censored:
        frame = pd.DataFrame({"group": pd.Series(dtype=object), "time": pd.Series(dtype=float),
                              "survival": pd.Series(dtype=float)})
    else:
        frame = pd.DataFrame({
            "group": np.concatenate([np.full(len(rows), str(label), dtype=object) for label, rows in censored.items()]),
            "time": np.concatenate([fits[label].time[rows] for label, rows in censored.items()]).astype(float),
            "survival": np.concatenate([fits[label].survival[rows] for label, rows in censored.items()]).astype(float),
        })
    frame.attrs["omitted"] = omitted
    return frame


def evenly_spaced_rows(frame: pd.DataFrame, limit: int) -> pd.DataFrame:
    """At most ``limit`` rows of ``frame``, evenly spaced in its order (first and last kept)."""
    if len(frame) <= limit:
        return frame
    positions = np.unique(np.round(np.linspace(0, len(frame) - 1, limit)).astype(int))
    return frame.iloc[positions]


#: Steps of the time axis and the risk table, in months: whole, round months (quarters, half-years, years)
#: once the follow-up is over a few months.
MONTH_STEPS = (0.25, 0.5, 1, 3, 6, 12, 24, 36, 60, 120, 240, 600)


def risk_grid(max_time: float, n_ticks: int = 8) -> np.ndarray:
    """Round time points from 0 to at least ``max_time`` (months) for the axis and the number-at-risk table:
    the smallest step of :data:`MONTH_STEPS` giving at most ``n_ticks`` + 1 points (0, 3, 6, 9 … or 0, 6,
    12 … by the range)."""
    if not math.isfinite(max_time) or max_time <= 0:
        return np.array([0.0])
    raw_step = max_time / n_ticks
    step = next((m for m in MONTH_STEPS if m >= raw_step), None)
    if step is None:  # beyond 50 years of follow-up: decades of months
        step = 10 ** math.ceil(math.log10(raw_step))
    return np.arange(0, max_time + step * 0.999, step)


def km_risk_frame(fits: dict, grid: np.ndarray) -> pd.DataFrame:
    """Numbers at risk of each fit on ``grid``: group, time, n_risk."""
    frames = [
        pd.DataFrame({"group": str(label), "time": grid, "n_risk": fit.number_at_risk(grid)})
        for label, fit in fits.items()
    ]
    return pd.concat(frames, ignore_index=True)


def km_kmunicate_frame(fits: dict, grid: np.ndarray) -> pd.DataFrame:
    """KMunicate risk table of each fit on ``grid``: group, time, n_risk, events, censored (both cumulative)."""
    frames = [fit.risk_table(grid).assign(group=str(label)) for label, fit in fits.items()]
    return pd.concat(frames, ignore_index=True)[["group", "time", "n_risk", "events", "censored"]]


def risk_table_wide(frame: pd.DataFrame, kmunicate: bool) -> pd.DataFrame:
    """The risk table as shown under a KM plot, one row per group (and count), one column per time."""
    measures = {"n_risk": "At risk", "events": "Events", "censored": "Censored"} if kmunicate else {"n_risk": "At risk"}
    groups = list(dict.fromkeys(frame["group"]))
    rows = []
    for group in groups:
        part = frame[frame["group"] == group]
        for column, label in measures.items():
            row = {"Group": group, "Count": label}
            row.update({f"{t:g} mo": int(v) for t, v in zip(part["time"], part[column])})
            rows.append(row)
    return pd.DataFrame(rows)


def filter_value_label(dimension: str, value: str) -> str:
    """Label of a filter value, 'unknown' included."""
    return option_label(dimension, value) if value != UNKNOWN else "unknown"


def once_per_value(values: pd.Series, label) -> pd.Series:
    """``values.map(label)``, calling ``label`` once per distinct value (missing included), not once per row."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    labels = np.empty(len(uniques), dtype=object)
    labels[:] = [label(u) for u in uniques]
    return pd.Series(labels[codes], index=values.index, dtype=object)


def events_by_term_and_grade(events: pd.DataFrame) -> pd.DataFrame:
    """Number of AE records per term and grade ('not stated' for a missing grade): term, grade, value."""
    grade = once_per_value(events["grade"], lambda g: "not stated" if pd.isna(g) else str(int(g)))
    labelled = events.assign(grade=grade)
    return labelled.groupby(["term", "grade"]).size().reset_index(name="value")


#: Bars of a waterfall and lines of a spider plot drawn at most (large cohorts: evenly spaced by rank).
MAX_WATERFALL_BARS = 400
MAX_SPIDER_PATIENTS = 60


def assessment_frames(assessments: pd.DataFrame, patients: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Waterfall and spider-plot data from tumour measurements.

    Parameters
    ----------
    assessments : pandas.DataFrame
        ``patient_id, time_months, pct_change`` (one row per assessment).
    patients : pandas.DataFrame
        ``patient_id, best_response`` of the selected patients.

    Returns
    -------
    (best, lines)
        ``best``: patient, best_change (the lowest % change), response, for
        the waterfall; ``lines``: patient, time_months, pct_change, response
        with a baseline row (0, 0) per patient, for the spider plot. Large
        cohorts keep :data:`MAX_WATERFALL_BARS` / :data:`MAX_SPIDER_PATIENTS`
        patients evenly spaced over the ranked best change; ``attrs["n"]``
        holds the number of patients measured.
    """
    responses = dict(zip(patients["patient_id"], response_codes(patients)))
    measured = assessments[assessments["patient_id"].isin(responses)]
    best = (measured.groupby("patient_id")["pct_change"].min().reset_index()
            .rename(columns={"patient_id": "patient", "pct_change": "best_change"}))
    best["response"] = best["patient"].map(responses)
    best = best.sort_values(["best_change", "patient"], ascending=[False, True]).reset_index(drop=True)
    n_measured = len(best)
    spider_patients = set(evenly_spaced_rows(best, MAX_SPIDER_PATIENTS)["patient"])
    best = evenly_spaced_rows(best, MAX_WATERFALL_BARS)
    lines = measured[measured["patient_id"].isin(spider_patients)][["patient_id", "time_months", "pct_change"]]
    baseline = pd.DataFrame({"patient_id": sorted(spider_patients), "time_months": 0.0, "pct_change": 0.0})
    lines = pd.concat([baseline, lines], ignore_index=True).rename(columns={"patient_id": "patient"})
    lines["response"] = lines["patient"].map(responses)
    for frame in (best, lines):
        frame.attrs["n"] = n_measured
    return best, lines

