"""Published vs recomputed: every published number beside the one recomputed from the patient table."""
from __future__ import annotations

import streamlit as st

from analysis.reconcile import assumption_sensitivity
from sarcoma_app.sources import cohort as data_source
from sarcoma_app.sources import db
from sarcoma_app.views import published
from sarcoma_app.exports import snippets
from sarcoma_app.render import ui, tools
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.viewstate.url_state import FilterState

require_app_frame()
ui.page_header("Published vs recomputed", "Which published numbers does each paper's own patient table support?")
if not data_source.has_published_tables():
    data_source.not_available_message("Published numbers and their recomputation from the patients")
    st.stop()

published_results = db.read_table("published_results")
conflicts = db.read_table("source_conflicts")
all_patients = db.load_patients(FilterState())  # the papers' numbers are for their whole cohorts
value_sources = db.read_table("patient_value_sources")
comparison = db.reconciliation()
counts = published.status_counts(comparison)

st.subheader(published.headline(comparison))
metrics = st.columns(1 + len(published.STATUS_ORDER))
metrics[0].metric("Published numbers", len(comparison), help="Every row of the published_results table.")
for column, status in zip(metrics[1:], published.STATUS_ORDER):
    column.metric(published.metric_label(status), counts[status], help=published.status_label(status))
st.caption("Each paper's numbers are recomputed from the patients transcribed from that same paper, for the whole "
           "published cohort: **the sidebar filters do not apply on this page**. ✔ reproduced = equal to the last "
           "printed digit (p values: to the printed decimals) under the comparison the paper describes, R survival's "
           "conventions and every reading the paper leaves open, and also under the defaults of the software the "
           "paper names; △ reproduced under an assumption = equal only under the convention, alternative model or "
           "reading named in the row; ✖ differs = both values shown; ○ not computable = the per-patient data "
           "needed are not published. Recomputed with Clopper–Pearson exact CIs, Kaplan–Meier with log CIs and R's "
           "median rule, univariate Cox with Efron ties and Wald CIs; the papers do not state these options.")

table = published.comparison_table(comparison, published_results, conflicts)
options = ["all", *published.STATUS_ORDER]
shown_status = st.segmented_control(
    "Show", options, default="all", key="published_status_filter", required=True,
    format_func=lambda s: f"all ({len(table)})" if s == "all" else f"{published.status_label(s)} ({counts[s]})",
)
shown = table if shown_status in (None, "all") else table[table["Status"] == published.status_label(shown_status)]
shown = shown.drop(columns=["result_id"]).reset_index(drop=True)
COLUMNS = {
    "Status": st.column_config.TextColumn(width=235),
    "What": st.column_config.TextColumn(width="medium"),
    "Published (verbatim)": st.column_config.TextColumn(width="medium"),
    "Recomputed from patients": st.column_config.TextColumn(width="medium"),
    "n": st.column_config.TextColumn(width=40),
    "Conflicts": st.column_config.TextColumn(width=85),
    "Assumption": st.column_config.TextColumn(width="medium"),
    "Why / difference": st.column_config.TextColumn(width="large"),
    "Location in the paper": st.column_config.TextColumn(width="medium"),
    "Method": st.column_config.TextColumn(width="large"),
}
for index, (study, rows) in enumerate(shown.groupby("Study", sort=False)):  # one table per paper
    study_counts = {s: int((rows["Status"] == published.status_label(s)).sum()) for s in published.STATUS_ORDER}
    st.markdown(f"**{ui.text(study)}** · {ui.text(rows['Seed file'].iloc[0])} — {len(rows)} numbers: "
                f"{published.counts_text(study_counts)}")
    part = rows.drop(columns=["Study", "Seed file"]).reset_index(drop=True)
    ui.show_table(part, f"published-vs-recomputed-{study}", key=f"published_table_{index}",
                  styler=part.style.apply(published.status_styles, axis=None), column_config=COLUMNS)
st.caption("Location: where the published number is printed in the paper's seed file. Conflicts: IDs of recorded "
           "disagreements inside the paper that concern the number (details below and on **Data & methods**).")
tools.view_tools(
    "published_table", "Published numbers vs recomputed from the patients", table=shown,
    code=snippets.reconciliation(), patients=all_patients,
    n_text=f"{len(all_patients)} patients of the published cohorts (no filter); {len(comparison)} published numbers",
    methods_text="as stated per row: Clopper–Pearson exact CIs; Kaplan–Meier, log CI, R median rule; "
                 "univariate Cox, Efron ties, Wald CI and p; reproduced = equal to the last printed digit; "
                 "under an assumption = only under the convention, model or reading the row names",
    data_files={snippets.PUBLISHED_CSV: published_results, snippets.ALL_PATIENTS_CSV: all_patients,
                snippets.STUDIES_CSV: db.read_table("studies"), snippets.VALUE_SOURCES_CSV: value_sources},
)

# --- values the papers leave open -------------------------------------------------------------
sensitivity = published.sensitivity_table(assumption_sensitivity(published_results, all_patients, value_sources),
                                          published_results)
if not sensitivity.empty:
    st.subheader("The same numbers under every reading the paper leaves open")
    ui.show_table(sensitivity, "published-sensitivity", key="published_sensitivity", height=35 * len(sensitivity) + 40,
                  caption="Values the data take as an assumption (patient_value_sources with an alternative value): "
                          "each PFS-based number recomputed with the value as used and with each alternative "
                          "(pfs_event = 0: censored). Seed 002 marks no censoring; NAB-08 (15 months) and NAB-09 "
                          "(7.8 months) are the only patients whose progression Table 3 does not fix.")

# --- one number in detail ---------------------------------------------------------------------
st.subheader("One published number in detail")
records = {row["result_id"]: row for row in comparison.to_dict("records")}
labels = {r.result_id: f"{r.Status} · {r.Study} · {r.What}" for r in table.itertuples()}
chosen = st.selectbox("Published number", list(labels), format_func=labels.get, key="published_detail")
row = records[chosen]
detail = table[table["result_id"] == chosen].iloc[0]
left, right = st.columns(2)
with left.container(border=True):
    st.markdown("**Published (verbatim)**")
    st.markdown(f"> {ui.text(row['printed'])}")
    st.markdown(f"**Seed file:** {ui.text(detail['Seed file'])}  \n**Location:** {ui.text(detail['Location in the paper'])}")
    note = published_results.set_index("result_id").at[chosen, "note"]
    if isinstance(note, str) and note:
        st.caption(f"Note: {ui.text(note)}")
with right.container(border=True):
    st.markdown(f"**Recomputed from the patients:** {ui.text(detail['Recomputed from patients'])}  \n"
                f"**Status:** {ui.text(detail['Status'])}  \n**n:** {ui.text(detail['n'])}")
    if row["explanation"]:
        st.markdown(f"**Why:** {ui.text(row['explanation'])}")
    if row["method"]:
        st.caption(f"Method: {ui.text(row['method'])}")

related = published.related_conflicts(
    {**row, **published_results.set_index("result_id").loc[chosen, ["group_level", "conflict_ids"]].to_dict()},
    conflicts)
if related:
    st.markdown(f"**Recorded conflicts that concern this number:** {', '.join(related)}")
    for conflict in conflicts[conflicts["conflict_id"].isin(related)].itertuples():
        with st.expander(f"{ui.text(conflict.conflict_id)} — {ui.text(conflict.topic)}", icon=":material/compare_arrows:"):
            st.markdown(f"**A** ({ui.text(conflict.location_a)}): {ui.text(conflict.statement_a)}")
            st.markdown(f"**B** ({ui.text(conflict.location_b)}): {ui.text(conflict.statement_b)}")
            st.markdown(f"**Value used:** {ui.text(conflict.value_used)}  \n**Why:** {ui.text(conflict.reason)}")
else:
    st.caption("No recorded conflict concerns this number.")
st.page_link("pages/data_methods.py", label="All recorded conflicts and the sources: Data & methods",
             icon=":material/menu_book:")
