"""Adverse events: the published AE tables as published, and per-patient events for the current filter."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import charts
from analysis.adverse_events import ae_table
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import cohort as data_source
from sarcoma_app.sources import db
from sarcoma_app.views import prepare
from sarcoma_app.viewstate import state
from sarcoma_app.render import ui, tools
from sarcoma_app.text import study_label

require_app_frame()
ui.page_header("Adverse events", "Which adverse events occurred, and how severe were they?")
view = state.current_state()
patients = db.load_patients(view.filters)

GROUP_LABELS = {"all": "All patients", "total": "Total", "on_pazopanib": "On pazopanib", "no_pazopanib": "No pazopanib"}
GROUP_ORDER = ["on_pazopanib", "no_pazopanib", "total", "all"]
PUBLISHED_AE_METHODS = "as published: patients per term and CTCAE grade band (no recomputation)"
GRADE_BANDS_SINGLE = tuple((str(g), g, g) for g in range(1, 6))

# --- published tables --------------------------------------------------------------------------
selected_studies = sorted(patients["study_id"].unique()) if len(patients) else []
if data_source.has_published_tables():
    st.subheader("Published AE tables (as published)")
    st.caption("Counts of patients per term and CTCAE grade band, exactly as printed; these tables cover the whole "
               "published cohorts and are not affected by the filters. Blank or ambiguous cells are shown as "
               "'not reported'; * = derived by the project (e.g. a printed '–' read as 0; see the note column).")
    published = db.read_table("published_adverse_events")
    for study_id, table in published.groupby("study_id", sort=True):
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
        wide.insert(0, "Category", wide["row"].str.split("|").str[0].replace("", "–"))
        wide.insert(1, "Term", wide.pop("row").str.split("|").str[1])
        notes = table.dropna(subset=["note"]).groupby("term")["note"].apply(lambda s: " ".join(dict.fromkeys(s)))
        wide["Note"] = wide["Term"].map(notes).fillna("")
        source = "; ".join(dict.fromkeys(table["source"]))
        st.markdown(f"**{ui.text(study_label(study_id))}** — {ui.text(source)}")
        ui.show_table(wide, f"published-ae-{study_id}", key=f"ae_published_{study_id}")
        tools.view_tools(f"ae_published_{study_id}", f"Adverse events as published — {study_label(study_id)}", table=wide,
                         patients=table, n_text=f"{int(table['denominator'].max())} patients (whole published cohort)",
                         methods_text=PUBLISHED_AE_METHODS)

    chart_rows = published[published["group"].isin(["total", "all"])]
    chart_data = pd.DataFrame({
        "panel": chart_rows["study_id"].map(study_label), "term": chart_rows["term"],
        "grade": chart_rows["grade_band"], "value": chart_rows["n_patients"].astype(float),
    })
    published_chart = charts.adverse_event_bars(chart_data)
    ui.show_chart(published_chart, "published-ae", key="ae_published_chart",
                  title="Patients with each adverse event (published tables)",
                  caption="Whole cohorts as published (nivolumab: 'Total' column). Cells not reported are left out of "
                          "the bars. Grades 1–2 and 3–4 as banded in the papers.")
    tools.view_tools("ae_published_chart", "Patients with each adverse event (published tables)", chart=published_chart,
                     patients=published, n_text="whole published cohorts", methods_text=PUBLISHED_AE_METHODS)
else:
    st.subheader("Published AE tables (as published)")
    data_source.not_available_message("The published AE tables")

# --- per-patient events -----------------------------------------------------------------------
st.subheader("Events tied to individual patients (current filter)")
st.caption("Only a few events are described patient by patient in the papers (narrative text): this is not an "
           "incidence table. Use the published tables above for frequencies." if data_source.has_published_tables()
           else "Every adverse event of the data source that belongs to a selected patient.")
if patients.empty:
    ui.no_patients_message()
    st.stop()
events = db.load_adverse_events(view.filters)
untied = db.load_untied_adverse_events(tuple(selected_studies))
if len(untied):
    per_study = untied.groupby("study_id").agg(events=("term", "size"), patients=("patient_ref", "nunique"))
    for study_id, row in per_study.iterrows():
        st.warning(f"In *{ui.text(study_label(study_id))}*, {row['events']} events of {row['patients']} patients "
                   "are not tied to a patient by the paper: the filters cannot apply to them, so they are not "
                   "counted below and are listed separately.", icon=":material/link_off:")
if events.empty:
    st.info("None of the selected patients has an adverse event recorded individually.")
else:
    counts = ae_table(events.assign(grade=events["grade"].astype(float)), patients[["patient_id"]],
                      grade_bands=GRADE_BANDS_SINGLE, include_any_grade=True)
    counts = counts[(counts["group"] == "All") & (counts["n_patients"] > 0)]
    wide = counts.pivot(index="term", columns="band", values="n_patients").fillna(0).astype(int)
    band_columns = [b for b in ["1", "2", "3", "4", "5", "Any grade"] if b in wide.columns]
    term_order = list(dict.fromkeys(counts["term"]))
    wide = wide.loc[term_order, band_columns].reset_index()
    wide = wide.rename(columns={b: f"Grade {b}" for b in band_columns if b != "Any grade"} |
                       {"Any grade": "Any grade (incl. grade not stated)", "term": "Term"})
    ui.show_table(wide, "patient-ae-term-by-grade", key="ae_patient_counts",
                  caption=f"Patients with at least one event of the term at that grade, among the {len(patients)} "
                          "selected patients (a patient counts once per term and grade).")
    bars = prepare.events_by_term_and_grade(events)
    bars.insert(0, "panel", "Events tied to selected patients")
    patient_chart = charts.adverse_event_bars(bars, value_title="Events")
    ui.show_chart(patient_chart, "patient-ae-events", key="ae_patient_chart",
                  title="Adverse events tied to selected patients, by CTCAE grade")
    tools.view_tools("ae_patient_chart", "Adverse events tied to selected patients, by CTCAE grade",
                     chart=patient_chart, table=wide, patients=patients,
                     methods_text="patients with at least one event of the term at that grade; only events the "
                                  "papers tie to a patient (not an incidence table)")
    listed = events.rename(columns={"study_id": "Study", "patient_id": "Patient", "patient_ref": "Paper's reference",
                                    "term": "Term", "term_group": "Published table row", "grade": "Grade",
                                    "source": "Source", "note": "Note"})
    listed["Study"] = listed["Study"].map(study_label)
    ui.show_table(listed, "patient-ae-events", key="ae_patient_events")
if len(untied):
    with st.expander(f"Events not tied to a patient ({len(untied)})"):
        ui.show_table(untied.rename(columns={"study_id": "Study", "patient_ref": "Paper's reference", "term": "Term",
                                             "term_group": "Published table row", "grade": "Grade", "source": "Source",
                                             "note": "Note"}).assign(Study=lambda f: f["Study"].map(study_label)),
                      "untied-ae-events", key="ae_untied")
