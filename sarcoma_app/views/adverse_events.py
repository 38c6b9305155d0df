"""Adverse events page: the published AE tables as published, and the events tied to the selected patients.

The page has no controls of its own (the sidebar filters select the patients), so there is no ``choices``."""
from __future__ import annotations

import pandas as pd

import charts
from analysis.adverse_events import ae_table
from sarcoma_app.text import escape_markdown, study_label
from sarcoma_app.views import common, prepare
from sarcoma_app.exports.deck import NOTE_COLUMN
from sarcoma_app.views.blocks import Block, Chart, Expander, Heading, Note, SlideFallback, Table, View

TITLE = "Adverse events"
QUESTION = "Which adverse events occurred, and how severe were they?"

GROUP_LABELS = {"all": "All patients", "total": "Total", "on_pazopanib": "On pazopanib", "no_pazopanib": "No pazopanib"}
GROUP_ORDER = ["on_pazopanib", "no_pazopanib", "total", "all"]
PUBLISHED_AE_METHODS = "as published: patients per term and CTCAE grade band (no recomputation)"
GRADE_BANDS_SINGLE = tuple((str(g), g, g) for g in range(1, 6))
#: Column names of the per-patient event listings.
EVENT_COLUMNS = {"study_id": "Study", "patient_id": "Patient", "patient_ref": "Paper's reference", "term": "Term",
                 "term_group": "Published table row", "grade": "Grade", "source": "Source", "note": "Note"}


def studies_of(patients: pd.DataFrame) -> tuple[str, ...]:
    """The studies of the selected patients (whose events not tied to a patient the page lists)."""
    return tuple(sorted(patients["study_id"].unique())) if len(patients) else ()


def build(patients: pd.DataFrame, events: pd.DataFrame, untied: pd.DataFrame | None = None,
          published: pd.DataFrame | None = None) -> list[Block]:
    """The page's blocks.

    Parameters
    ----------
    patients : DataFrame
        The filtered patients.
    events : DataFrame
        Their adverse events (``adverse_events`` rows tied to a selected patient).
    untied : DataFrame, optional
        Events of the selected studies that the papers do not tie to a patient.
    published : DataFrame, optional
        The published AE tables (``published_adverse_events``); None when the data source has none.
    """
    blocks: list[Block] = [Heading("Published AE tables (as published)")]
    blocks += _published_blocks(published) if published is not None else [common.not_available("The published AE tables")]
    blocks.append(Heading("Events tied to individual patients (current filter)"))
    blocks.append(Note("Only a few events are described patient by patient in the papers (narrative text): this is "
                       "not an incidence table. Use the published tables above for frequencies."
                       if published is not None
                       else "Every adverse event of the data source that belongs to a selected patient."))
    if patients.empty:
        return blocks + [common.NO_PATIENTS]
    untied = untied if untied is not None else pd.DataFrame(columns=list(EVENT_COLUMNS))
    if len(untied):
        per_study = untied.groupby("study_id").agg(events=("term", "size"), patients=("patient_ref", "nunique"))
        for study_id, row in per_study.iterrows():
            blocks.append(Note(f"In *{escape_markdown(study_label(study_id))}*, {row['events']} events of "
                               f"{row['patients']} patients are not tied to a patient by the paper: the filters cannot "
                               "apply to them, so they are not counted below and are listed separately.",
                               kind="warning", icon=":material/link_off:"))
    if events.empty:
        blocks.append(Note("None of the selected patients has an adverse event recorded individually.", kind="info"))
    else:
        blocks += _patient_blocks(patients, events)
    if len(untied):
        listed = untied.rename(columns=EVENT_COLUMNS).assign(Study=lambda f: f["Study"].map(study_label))
        blocks.append(Expander(f"Events not tied to a patient ({len(untied)})", [Table(listed, "untied-ae-events")]))
    return blocks


def published_table(table: pd.DataFrame) -> pd.DataFrame:
    """One study's published AE table as printed: a row per term, a column per grade band and arm (N)."""
    table = table.copy()
    table["cell"] = [
        ("not reported" if pd.isna(n) else (f"{int(n)} ({p:.1f}%)" if pd.notna(p) else f"{int(n)}")) + (" *" if d else "")
        for n, p, d in zip(table["n_patients"], table["percent"], table["derived"])
    ]
    table["column"] = [f"Grade {band} · {GROUP_LABELS.get(group, group)} (N = {int(denominator)})"
                       for band, group, denominator in zip(table["grade_band"], table["group"], table["denominator"])]
    table["column_rank"] = [(band, GROUP_ORDER.index(group) if group in GROUP_ORDER else 9)
                            for band, group in zip(table["grade_band"], table["group"])]
    columns = [c for _, c in sorted(set(zip(table["column_rank"], table["column"])))]
    table["row"] = table["category"].fillna("") + "|" + table["term"]
    wide = table.pivot(index="row", columns="column", values="cell")[columns]
    row_order = list(dict.fromkeys(table["row"]))
    wide = wide.loc[row_order].reset_index()
    categories = wide["row"].str.split("|").str[0]
    if categories.ne("").any():  # a paper without categories: no empty column
        wide.insert(0, "Category", categories.replace("", "–"))
    wide.insert(1 if "Category" in wide else 0, "Term", wide.pop("row").str.split("|").str[1])
    notes = table.dropna(subset=["note"]).groupby("term")["note"].apply(lambda s: " ".join(dict.fromkeys(s)))
    wide[NOTE_COLUMN] = wide["Term"].map(notes).fillna("")
    return wide


SHORT_GROUP_LABELS = {"all": "all", "total": "total", "on_pazopanib": "on paz.", "no_pazopanib": "no paz."}


def _short_headers(table: pd.DataFrame) -> dict:
    """Column configs giving the grade-band columns short headers ('1-2 on paz. (18)', full name on hover), so
    every arm fits the page; the table's column names stay as printed."""
    config = {}
    for band, group, denominator in dict.fromkeys(zip(table["grade_band"], table["group"], table["denominator"])):
        full = f"Grade {band} · {GROUP_LABELS.get(group, group)} (N = {int(denominator)})"
        config[full] = {"label": f"{band} {SHORT_GROUP_LABELS.get(group, group)} ({int(denominator)})",
                        "help": full, "width": 115}
    config[NOTE_COLUMN] = {"width": "large"}
    return config


def _published_blocks(published: pd.DataFrame) -> list[Block]:
    blocks: list[Block] = [Note(
        "Counts of patients per term and CTCAE grade band, exactly as printed; these tables cover the whole "
        "published cohorts and are not affected by the filters. Blank or ambiguous cells are shown as "
        "'not reported'; * = derived by the project (e.g. a printed '–' read as 0; see the note column).")]
    for study_id, table in published.groupby("study_id", sort=True):
        wide = published_table(table)
        source = "; ".join(dict.fromkeys(table["source"]))
        blocks.append(View(
            f"ae_published_{study_id}", f"Adverse events as published — {study_label(study_id)}",
            [Note(f"**{escape_markdown(study_label(study_id))}** — {escape_markdown(source)}", kind="markdown"),
             Table(wide, f"published-ae-{study_id}", column_config=_short_headers(table),
                   caption="Columns: CTCAE grade band, arm (N); hover a header for its full name. Rows in the "
                           "paper's order.")],
            patients=table, n_text=f"{int(table['denominator'].max())} patients (whole published cohort)",
            methods_text=PUBLISHED_AE_METHODS, result=wide))
    chart_rows = published[published["group"].isin(["total", "all"])]
    chart_data = pd.DataFrame({
        "panel": chart_rows["study_id"].map(study_label), "term": chart_rows["term"],
        "grade": chart_rows["grade_band"], "value": chart_rows["n_patients"].astype(float),
    })
    chart = Chart(charts.adverse_event_bars(chart_data), "published-ae",
                  title="Patients with each adverse event (published tables)",
                  caption=f"Whole cohorts as published{_total_columns(chart_rows)}. Cells not reported are left out "
                          "of the bars. Grades 1–2 and 3–4 as banded in the papers.")
    blocks.append(View("ae_published_chart", "Patients with each adverse event (published tables)", [chart],
                       patients=published, n_text="whole published cohorts", methods_text=PUBLISHED_AE_METHODS,
                       result=chart_data,
                       slide_fallback=SlideFallback(charts.adverse_event_bars(chart_data, side_by_side=True))))
    return blocks


def _total_columns(chart_rows: pd.DataFrame) -> str:
    """' (<study>: 'Total' column)' for the studies whose table is by arm, so the bars take its Total column."""
    studies = sorted(chart_rows.loc[chart_rows["group"] == "total", "study_id"].unique())
    return f" ({'; '.join(study_label(s) for s in studies)}: 'Total' column)" if studies else ""


def patient_counts(patients: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Patients with at least one event of each term at each CTCAE grade (and any grade), wide: a row per term."""
    return wide_counts(ae_table(events.assign(grade=events["grade"].astype(float)), patients[["patient_id"]],
                                grade_bands=GRADE_BANDS_SINGLE, include_any_grade=True))


def wide_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """An AE table (:func:`analysis.adverse_events.ae_table`, single grades) as shown: a row per term."""
    counts = counts[(counts["group"] == "All") & (counts["n_patients"] > 0)]
    wide = counts.pivot(index="term", columns="band", values="n_patients").fillna(0).astype(int)
    band_columns = [b for b in ["1", "2", "3", "4", "5", "Any grade"] if b in wide.columns]
    term_order = list(dict.fromkeys(counts["term"]))
    wide = wide.loc[term_order, band_columns].reset_index()
    wide = wide.rename(columns={b: f"Grade {b}" for b in band_columns if b != "Any grade"} |
                       {"Any grade": "Any grade (incl. grade not stated)", "term": "Term"})
    return wide


def _patient_blocks(patients: pd.DataFrame, events: pd.DataFrame) -> list[Block]:
    wide = patient_counts(patients, events)
    table = Table(wide, "patient-ae-term-by-grade",
                  caption=f"Patients with at least one event of the term at that grade, among the {len(patients)} "
                          "selected patients (a patient counts once per term and grade).")
    bars = prepare.events_by_term_and_grade(events)
    bars.insert(0, "panel", "Events tied to selected patients")
    chart = Chart(charts.adverse_event_bars(bars, value_title="Events"), "patient-ae-events",
                  title="Adverse events tied to selected patients, by CTCAE grade")
    return [View("ae_patient_chart", "Adverse events tied to selected patients, by CTCAE grade", [table, chart],
                 patients=patients, result=wide,
                 methods_text="patients with at least one event of the term at that grade; only events the papers "
                              "tie to a patient (not an incidence table)"),
            Table(event_listing(events), "patient-ae-events")]


def event_listing(events: pd.DataFrame) -> pd.DataFrame:
    """Per-patient events as the page lists them: the columns of :data:`EVENT_COLUMNS`, studies by label."""
    listed = events.rename(columns=EVENT_COLUMNS)
    listed["Study"] = prepare.once_per_value(listed["Study"], study_label)
    return listed
