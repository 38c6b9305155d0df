"""Patients: swimmer plot of time on treatment and the per-patient table with the source of every value."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import charts
from data import registry
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import cohort as data_source
from sarcoma_app.sources import db
from sarcoma_app.views import prepare
from sarcoma_app.viewstate import state
from sarcoma_app.render import ui, tools
from sarcoma_app.text import study_label

require_app_frame()
ui.page_header("Patients", "Who are the patients, how long were they treated, and where does each value come from?")
view = state.current_state()
patients = db.load_patients(view.filters)
if patients.empty:
    ui.no_patients_message()
    st.stop()

#: Column -> label of the patient table (registry order and labels; columns without any value are left out).
TABLE_COLUMNS = {name: registry.VARIABLES[name].label for name in registry.PATIENT_TABLE_ORDER
                 if name in patients and patients[name].notna().any()}

# --- swimmer plots --------------------------------------------------------------------------------
st.subheader("Time on treatment")
st.caption("One bar per patient, coloured by best response. The unit differs by study and is on each axis: "
           "PFS in months where the paper gives it, otherwise the last nivolumab cycle the paper reports "
           "(a lower bound on time on treatment; one cycle = 2 weeks).")
for study_id, cohort in patients.groupby("study_id", sort=True):
    responses = prepare.response_codes(cohort)
    label = cohort["patient_id"] + " " + cohort["histology_code"].astype(object).fillna("–")
    if cohort["pfs_months"].notna().any():
        duration = cohort["pfs_months"].astype(float)
        time_label = "Progression-free survival (months)"
        progression_time = duration.where(cohort["pfs_event"].astype("Float64").eq(1))
    else:
        duration = pd.to_numeric(cohort["cycles_last_reported"]).astype(float)
        time_label = "Nivolumab cycles (last reported; 1 cycle = 2 weeks)"
        progression_time = pd.to_numeric(cohort["cycles_to_progression"]).astype(float)
    lanes = pd.DataFrame({"patient": label, "duration": duration, "response": responses})
    known = lanes["duration"].notna()
    markers = pd.concat([
        pd.DataFrame({"patient": label, "time": pd.to_numeric(cohort["cycles_to_response"]).astype(float)
                      if "cycles" in time_label else float("nan"), "marker": "best response first seen"}),
        pd.DataFrame({"patient": label, "time": progression_time, "marker": "progression"}),
        pd.DataFrame({"patient": label, "time": duration.where(cohort["treatment_status"].eq("ongoing")),
                      "marker": "ongoing at last report"}),
        pd.DataFrame({"patient": label, "time": duration.where(cohort["died"].astype("boolean").fillna(False)),
                      "marker": "died"}),
    ]).dropna(subset=["time"])
    markers = markers[markers["patient"].isin(lanes.loc[known, "patient"])]
    lanes = lanes[known].sort_values(["duration", "patient"], ascending=[False, True])
    n_with_time = len(lanes)
    if n_with_time > data_source.MAX_SWIMMER_LANES:  # large cohorts: a readable subset spread over the ranked times
        lanes = prepare.evenly_spaced_rows(lanes, data_source.MAX_SWIMMER_LANES)
        markers = markers[markers["patient"].isin(lanes["patient"])]
    st.markdown(f"**{ui.text(study_label(study_id))}** — {n_with_time:,} of {len(cohort):,} selected patients with a "
                "time on treatment" + (f"; **{len(lanes)} drawn**, evenly spaced from the longest to the shortest "
                                       "time (one bar per patient would not be readable; filter the cohort, or see "
                                       "the table and the Survival page for everyone)" if len(lanes) < n_with_time
                                       else ""))
    if lanes.empty:
        st.info("No time on treatment is published for the selected patients of this study.")
        continue
    swimmer = charts.swimmer_plot(lanes, markers, time_label)
    ui.show_chart(swimmer, f"swimmer-{study_id}", key=f"swimmer_{study_id}",
                  title=f"Time on treatment — {study_label(study_id)}",
                  caption="Markers: ● best response first seen (cycle), ◆ progression, ▶ ongoing at the paper's last report, "
                          "✚ died. Patients without a published time are not drawn.")
    tools.view_tools(f"swimmer_{study_id}", f"Time on treatment — {study_label(study_id)}", chart=swimmer,
                     patients=cohort, n_text=f"{len(lanes)} of {len(cohort)} selected patients with a time on treatment",
                     methods_text="as published per patient: PFS in months, or the last nivolumab cycle reported",
                     caption="Markers: ● best response first seen, ◆ progression, ▶ ongoing at last report, ✚ died.")
    if (~known).any():
        not_drawn = cohort.loc[~known.to_numpy(), "patient_id"].astype(str).tolist()
        st.caption(f"Not drawn (no time published): {ui.text(', '.join(not_drawn[:20]))}"
                   + (f" and {len(not_drawn) - 20:,} more" if len(not_drawn) > 20 else "") + ".")

# --- table ---------------------------------------------------------------------------------------
st.subheader("Patient table")
sources = db.load_value_sources(view.filters)
derived = sources[sources["derived"].astype(bool)]
derived_cells = set(zip(derived["patient_id"], derived["field"]))
table = patients[list(TABLE_COLUMNS)].copy()
table["study_id"] = table["study_id"].map(study_label)
derived_fields = {pid: ", ".join(TABLE_COLUMNS.get(f, f) for f in group["field"] if f in TABLE_COLUMNS)
                  for pid, group in derived.groupby("patient_id")}
table["derived values"] = table["patient_id"].map(derived_fields).fillna("")
shown = table.rename(columns=TABLE_COLUMNS).rename(columns={"derived values": "Derived values"})


def highlight_derived(frame: pd.DataFrame) -> pd.DataFrame:
    """Background colour on cells whose value is derived (not read off the paper)."""
    styles = pd.DataFrame("", index=frame.index, columns=frame.columns)
    for row_index, patient_id in zip(frame.index, patients["patient_id"]):
        for field, column in TABLE_COLUMNS.items():
            if (patient_id, field) in derived_cells:
                styles.loc[row_index, column] = "background-color: #FFE8A3; font-style: italic"
    return styles


ui.show_table(shown, "patients", key="patients_table", styler=shown.style.apply(highlight_derived, axis=None),
              caption="Shaded italic cells are **derived** (inferred or computed by the project, not read off the "
                      "paper); the rule is in the provenance table below. – = not reported."
                      if data_source.has_published_tables() else "Values as in the data source; – = not recorded.",
              column_config={"Notes": st.column_config.TextColumn(width="large")})

if data_source.has_published_tables():
    st.subheader("Where each value comes from")
    patient_ids = patients["patient_id"].tolist()
    names = dict(zip(patients["patient_id"], patients["patient_label"]))  # once, not one index build per option
    chosen = st.selectbox("Patient", patient_ids, key="provenance_patient",
                          format_func=lambda pid: f"{pid} — {names[pid]}")
    provenance = sources[sources["patient_id"] == chosen][["field", "value", "source", "derived", "rule"]].copy()
    provenance["derived"] = provenance["derived"].map({True: "derived", False: "as published"})
    provenance["field"] = provenance["field"].map(lambda f: TABLE_COLUMNS.get(f, f))
    ui.show_table(provenance.rename(columns={"field": "Field", "value": "Value", "source": "Source", "derived": "Derived?",
                                             "rule": "Rule (derived values)"}),
                  f"provenance-{chosen}", key="patients_provenance",
                  caption="Source = seed file and table, figure or section. Values not listed are not reported.")
    with st.expander("Provenance of every selected patient (long table)"):
        ui.show_table(sources, "provenance-all-selected", key="patients_provenance_all")
else:
    data_source.not_available_message("Per-value provenance (the paper, table or figure behind each value)")
