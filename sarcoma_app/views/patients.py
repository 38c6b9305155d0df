"""Patients page: a swimmer plot of time on treatment per study, the patient table with its derived values
shaded, and the source of every value (pure, no streamlit)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

import charts
from data import registry
from sarcoma_app.text import escape_markdown, study_label
from sarcoma_app.views import common, prepare
from sarcoma_app.views.blocks import Block, Chart, Expander, Heading, Note, Pick, Table, View
from sarcoma_app.viewstate.url_state import MethodState

TITLE = "Patients"
QUESTION = "Who are the patients, how long were they treated, and where does each value come from?"
PROVENANCE_KEY = "provenance_patient"
#: Lanes a swimmer plot draws at most (a 100,000-patient source must stay responsive).
MAX_SWIMMER_LANES = 60
DERIVED_STYLE = "background-color: #FFE8A3; font-style: italic"
PFS_LABEL = "Progression-free survival (months)"


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """``frame[name]``, or all missing when the data do not have the column (an upload without it)."""
    return frame[name] if name in frame else pd.Series(np.nan, index=frame.index, dtype=object)


def _numbers(frame: pd.DataFrame, name: str) -> pd.Series:
    return pd.to_numeric(_column(frame, name), errors="coerce").astype(float)


def table_columns(patients: pd.DataFrame) -> dict[str, str]:
    """Column -> label of the patient table (registry order and labels; columns without any value left out)."""
    return {name: registry.VARIABLES[name].label for name in registry.PATIENT_TABLE_ORDER
            if name in patients and patients[name].notna().any()}


def by_pfs(cohort: pd.DataFrame) -> bool:
    """True when a study's time on treatment is its PFS (recorded for some patient), else its cycles."""
    return bool(_column(cohort, "pfs_months").notna().any())


def cycle_weeks(study_id: str, studies: pd.DataFrame | None) -> str | None:
    """Weeks per cycle of a study, as its dose schedule states it ('every 2 weeks' -> '2'); None if not stated."""
    if studies is None or "dose_schedule" not in studies:
        return None
    schedules = studies.loc[studies["study_id"].astype(str).eq(str(study_id)), "dose_schedule"].dropna()
    found = {m.group(1) for text in schedules.astype(str)
             for m in re.finditer(r"every (\d+(?:\.\d+)?) weeks?", text)}
    return found.pop() if len(found) == 1 else None


def _cycles_label(weeks: str | None) -> str:
    return "Treatment cycles (last reported" + (f"; 1 cycle = {weeks} weeks)" if weeks else ")")


def _names(study_ids) -> str:
    labels = [escape_markdown(study_label(s)) for s in study_ids]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def time_caption(patients: pd.DataFrame, studies: pd.DataFrame | None) -> str:
    """How the swimmer plots measure time, naming the studies each unit comes from (read from the data)."""
    groups = list(patients.groupby("study_id", sort=True))
    with_pfs = [s for s, cohort in groups if by_pfs(cohort)]
    with_cycles = [s for s, cohort in groups if not by_pfs(cohort) and _column(cohort, "cycles_last_reported").notna().any()]
    units = []
    if with_pfs:
        units.append(f"PFS in months where the paper gives it ({_names(with_pfs)})")
    if with_cycles:
        weeks = {cycle_weeks(s, studies) for s in with_cycles}
        length = f"; one cycle = {weeks.pop()} weeks" if len(weeks) == 1 and None not in weeks else ""
        units.append(("otherwise " if with_pfs else "") + "the last treatment cycle the paper reports "
                     f"({_names(with_cycles)}; a lower bound on time on treatment{length})")
    return ("One bar per patient, coloured by best response. The unit differs by study and is on each axis: "
            + (", ".join(units) if units else "no study of the selection records a time on treatment") + ".")


def swimmer_frames(cohort: pd.DataFrame, studies: pd.DataFrame | None = None,
                   max_lanes: int = MAX_SWIMMER_LANES) -> tuple[pd.DataFrame, pd.DataFrame, str, int, pd.Series]:
    """One study's swimmer data: (lanes drawn, markers, time label, patients with a time, has-a-time mask).

    Time is PFS in months when the study records PFS, otherwise the last cycle reported (a lower bound).
    More than ``max_lanes`` patients with a time: lanes evenly spaced over the ranked times.
    """
    responses = prepare.response_codes(cohort)
    label = cohort["patient_id"].astype(str) + " " + _column(cohort, "histology_code").astype(object).fillna("–")
    if by_pfs(cohort):
        duration = _numbers(cohort, "pfs_months")
        time_label = PFS_LABEL
        progression_time = duration.where(_column(cohort, "pfs_event").astype("Float64").eq(1).fillna(False))
        response_time = pd.Series(np.nan, index=cohort.index)
    else:
        duration = _numbers(cohort, "cycles_last_reported")
        time_label = _cycles_label(cycle_weeks(cohort["study_id"].iloc[0], studies))
        progression_time = _numbers(cohort, "cycles_to_progression")
        response_time = _numbers(cohort, "cycles_to_response")
    lanes = pd.DataFrame({"patient": label, "duration": duration, "response": responses})
    known = lanes["duration"].notna()
    died = _column(cohort, "died").astype("boolean").fillna(False).astype(bool)
    markers = pd.concat([
        pd.DataFrame({"patient": label, "time": response_time, "marker": "best response first seen"}),
        pd.DataFrame({"patient": label, "time": progression_time, "marker": "progression"}),
        pd.DataFrame({"patient": label, "time": duration.where(_column(cohort, "treatment_status").eq("ongoing")),
                      "marker": "ongoing at last report"}),
        pd.DataFrame({"patient": label, "time": duration.where(died), "marker": "died"}),
    ]).dropna(subset=["time"])
    markers = markers[markers["patient"].isin(lanes.loc[known, "patient"])]
    lanes = lanes[known].sort_values(["duration", "patient"], ascending=[False, True])
    n_with_time = len(lanes)
    if n_with_time > max_lanes:  # large cohorts: a readable subset spread over the ranked times
        lanes = prepare.evenly_spaced_rows(lanes, max_lanes)
        markers = markers[markers["patient"].isin(lanes["patient"])]
    return lanes, markers, time_label, n_with_time, known


def _swimmer_blocks(study_id, cohort, studies, max_lanes) -> list[Block]:
    lanes, markers, time_label, n_with_time, known = swimmer_frames(cohort, studies, max_lanes)
    name = study_label(study_id)
    header = Note(f"**{escape_markdown(name)}** — {n_with_time:,} of {len(cohort):,} selected patients with a "
                  "time on treatment" + (f"; **{len(lanes)} drawn**, evenly spaced from the longest to the shortest "
                                         "time (one bar per patient would not be readable; filter the cohort, or see "
                                         "the table and the Survival page for everyone)" if len(lanes) < n_with_time
                                         else ""), kind="markdown")
    if lanes.empty:
        return [header, Note("No time on treatment is published for the selected patients of this study.",
                             kind="info")]
    unit = "PFS in months" if time_label == PFS_LABEL else "the last treatment cycle reported"
    blocks: list[Block] = [View(
        f"swimmer_{study_id}", f"Time on treatment — {name}",
        [header, Chart(charts.swimmer_plot(lanes, markers, time_label), f"swimmer-{study_id}",
                       title=f"Time on treatment — {name}",
                       caption="Markers: ● best response first seen (cycle), ◆ progression, ▶ ongoing at the paper's "
                               "last report, ✚ died. Patients without a published time are not drawn.")],
        patients=cohort, n_text=f"{len(lanes)} of {len(cohort)} selected patients with a time on treatment",
        methods_text=f"as published per patient: {unit}",
        caption="Markers: ● best response first seen, ◆ progression, ▶ ongoing at last report, ✚ died.",
        result=lanes)]
    if (~known).any():
        not_drawn = cohort.loc[~known.to_numpy(), "patient_id"].astype(str).tolist()
        blocks.append(Note(f"Not drawn (no time published): {escape_markdown(', '.join(not_drawn[:20]))}"
                           + (f" and {len(not_drawn) - 20:,} more" if len(not_drawn) > 20 else "") + "."))
    return blocks


def patient_table(patients: pd.DataFrame, value_sources: pd.DataFrame | None) -> tuple[pd.DataFrame, set]:
    """The patient table as shown (labelled columns, 'Derived values') and its derived (patient, field) cells."""
    columns = table_columns(patients)
    sources = value_sources if value_sources is not None else pd.DataFrame(columns=["patient_id", "field", "derived"])
    derived = sources[sources["derived"].astype(bool)]
    derived_cells = set(zip(derived["patient_id"], derived["field"]))
    table = patients[list(columns)].copy()
    if "study_id" in table:
        table["study_id"] = table["study_id"].map(study_label)
    derived_fields = {pid: ", ".join(columns.get(f, f) for f in group["field"] if f in columns)
                      for pid, group in derived.groupby("patient_id")}
    table["derived values"] = patients["patient_id"].map(derived_fields).fillna("")
    return table.rename(columns=columns).rename(columns={"derived values": "Derived values"}), derived_cells


def _derived_styler(patients: pd.DataFrame, derived_cells: set):
    columns = table_columns(patients)

    def styles(frame: pd.DataFrame) -> pd.DataFrame:
        """Background colour on cells whose value is derived (not read off the paper)."""
        out = pd.DataFrame("", index=frame.index, columns=frame.columns)
        for row_index, patient_id in zip(frame.index, patients["patient_id"]):
            for field, column in columns.items():
                if (patient_id, field) in derived_cells:
                    out.loc[row_index, column] = DERIVED_STYLE
        return out

    return lambda frame: frame.style.apply(styles, axis=None)


def build(patients: pd.DataFrame, methods: MethodState | None = None, *, value_sources: pd.DataFrame | None = None,
          studies: pd.DataFrame | None = None, published_tables: bool = True, chosen: str | None = None,
          max_lanes: int = MAX_SWIMMER_LANES) -> list[Block]:
    """The page's blocks.

    Parameters
    ----------
    patients : DataFrame
        The filtered patients.
    methods : MethodState, optional
        Not used (the page has no method choice); for the builders' common signature.
    value_sources : DataFrame, optional
        ``patient_value_sources`` of these patients (derived values, provenance).
    studies : DataFrame, optional
        The studies table (the cycle length of a study's dose schedule).
    published_tables : bool
        True when the data source has per-value provenance (the bundled papers).
    chosen : str, optional
        The patient whose provenance is shown (:data:`PROVENANCE_KEY`); the first when None or not selected.
    max_lanes : int
        Swimmer lanes drawn at most per study.
    """
    if patients.empty:
        return [common.NO_PATIENTS]
    blocks: list[Block] = [Heading("Time on treatment"), Note(time_caption(patients, studies))]
    for study_id, cohort in patients.groupby("study_id", sort=True):
        blocks += _swimmer_blocks(study_id, cohort, studies, max_lanes)
    blocks.append(Heading("Patient table"))
    shown, derived_cells = patient_table(patients, value_sources)
    blocks.append(Table(
        shown, "patients", styler=_derived_styler(patients, derived_cells),
        caption="Shaded italic cells are **derived** (inferred or computed by the project, not read off the "
                "paper); the rule is in the provenance table below. – = not reported."
                if published_tables else "Values as in the data source; – = not recorded.",
        column_config={"Notes": {"width": "large"}}))
    if not published_tables:
        return blocks + [common.not_available("Per-value provenance (the paper, table or figure behind each value)")]
    return blocks + _provenance_blocks(patients, value_sources, chosen)


def _provenance_blocks(patients: pd.DataFrame, value_sources: pd.DataFrame | None, chosen: str | None) -> list[Block]:
    sources = value_sources if value_sources is not None else pd.DataFrame(
        columns=["study_id", "patient_id", "field", "value", "source", "derived", "rule"])
    columns = table_columns(patients)
    patient_ids = tuple(patients["patient_id"].tolist())
    names = dict(zip(patients["patient_id"], _column(patients, "patient_label")))  # once, not per option
    if chosen not in patient_ids:
        chosen = patient_ids[0]
    provenance = sources[sources["patient_id"] == chosen][["field", "value", "source", "derived", "rule"]].copy()
    provenance["derived"] = provenance["derived"].map({True: "derived", False: "as published"})
    provenance["field"] = provenance["field"].map(lambda f: columns.get(f, f))
    provenance = provenance.rename(columns={"field": "Field", "value": "Value", "source": "Source",
                                            "derived": "Derived?", "rule": "Rule (derived values)"})
    return [
        Heading("Where each value comes from"),
        Pick(PROVENANCE_KEY, "Patient", patient_ids, chosen, lambda pid: f"{pid} — {names[pid]}"),
        View("patients_provenance", f"Provenance of {chosen}", [Table(
            provenance, f"provenance-{chosen}",
            caption="Source = seed file and table, figure or section. Values not listed are not reported.")],
            tools=False, result=provenance),
        Expander("Provenance of every selected patient (long table)", [
            View("patients_provenance_all", "Provenance of every selected patient",
                 [Table(sources, "provenance-all-selected")], tools=False)]),
    ]
