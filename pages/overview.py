"""Overview: the selected cohorts with headline response and PFS, per study."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.response import response_table
from analysis.survival import kaplan_meier
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import cohort as data_source
from sarcoma_app.sources import db
from sarcoma_app.views import prepare, published
from sarcoma_app.exports import snippets
from sarcoma_app.render import ui, tools
from sarcoma_app.viewstate.state import current_state
from sarcoma_app.text import (
    CI_METHOD_LABELS, CONF_TYPE_LABELS, DENOMINATOR_LABELS, GLOSSARY, fmt_count, fmt_median_ci, fmt_percent, fmt_rate_ci,
    fmt_time, fmt_value_ci, study_label,
)

require_app_frame()
ui.page_header("Overview", "Which cohorts are selected, and how did they respond and progress?")
view = current_state()
methods = view.methods
patients = db.load_patients(view.filters)
studies = db.read_table("studies").set_index("study_id")
if patients.empty:
    ui.no_patients_message()
    st.stop()

ci_text = CI_METHOD_LABELS[methods.ci]
st.caption(f"Each study is summarised on its own: the regimens differ, so nothing here is pooled across studies. "
           f"Rates use {DENOMINATOR_LABELS[methods.denominator]} as denominator with 95% {ci_text} CIs; "
           f"PFS medians are Kaplan–Meier (R rule) with {CONF_TYPE_LABELS[methods.conf_type]} CIs. "
           f"Change the denominator and methods on the Response and Survival pages.")

summary_rows = []
cards = st.columns(min(len(patients["study_id"].unique()), 2))
for index, (study_id, cohort) in enumerate(patients.groupby("study_id", sort=True)):
    info = studies.loc[study_id]
    rates = response_table(cohort, denominator=methods.denominator, method=methods.ci).iloc[-1]
    analysable, excluded = prepare.pfs_data(cohort)
    km = kaplan_meier(analysable["pfs_months"], analysable["pfs_event"], conf_type=methods.conf_type) \
        if len(analysable) else None
    denominator_text = f"{rates['denominator']} {rates['denominator_label']}"
    orr_text = fmt_rate_ci(rates["orr"], rates["orr_lower"], rates["orr_upper"])
    dcr_text = fmt_rate_ci(rates["dcr"], rates["dcr_lower"], rates["dcr_upper"])
    median_text = fmt_median_ci(km.median, *km.median_ci) if km is not None else "PFS not published"

    with cards[index % len(cards)].container(border=True):
        st.subheader(ui.text(study_label(study_id)))
        st.caption(ui.text(info["regimen"]))
        columns = st.columns(4)
        columns[0].metric("Patients", f"{len(cohort)}")
        columns[0].caption(f"of {int(info['n_treated'])} treated  \n{int(rates['n_evaluable'])} evaluable")
        if rates["denominator"] > 0:
            for column, name, label in ((columns[1], "orr", "ORR"), (columns[2], "dcr", "DCR")):
                column.metric(label, fmt_percent(rates[name]), help=GLOSSARY[label])
                column.caption(f"{fmt_count(rates[f'{name}_count'], rates['denominator'])} "
                               f"{rates['denominator_label']}  \nCI {100 * rates[f'{name}_lower']:.1f}–"
                               f"{fmt_percent(rates[f'{name}_upper'])}")
        else:
            columns[1].metric("ORR", "–")
            columns[1].caption(ui.text(rates["note"]))
            columns[2].metric("DCR", "–")
        if km is not None:
            columns[3].metric("Median PFS", fmt_time(km.median),
                              help="Kaplan–Meier median progression-free survival in months; NR = not reached.")
            columns[3].caption(f"months · CI {fmt_time(km.median_ci[0])}–{fmt_time(km.median_ci[1])}  \n"
                               f"n = {km.n}, {km.n_events} events")
        else:
            columns[3].metric("Median PFS", "–")
            columns[3].caption("not published  \nper patient")

    summary_rows.append({
        "Study": study_label(study_id),
        "Regimen": info["regimen"],
        "Patients selected": len(cohort),
        "Treated in study": int(info["n_treated"]),
        "Evaluable (selected)": int(rates["n_evaluable"]),
        "Denominator": denominator_text,
        "ORR n/N": fmt_count(rates["orr_count"], rates["denominator"]),
        "ORR % (95% CI)": orr_text,
        "DCR n/N": fmt_count(rates["dcr_count"], rates["denominator"]),
        "DCR % (95% CI)": dcr_text,
        "PFS n (events)": f"{km.n} ({km.n_events})" if km is not None else "–",
        "Median PFS, months (95% CI)": median_text,
        "Note": "–" if km is not None else "PFS not published per patient for this study",
    })

st.subheader("Headline numbers")
headline = pd.DataFrame(summary_rows).set_index("Study").T.astype(str).reset_index(names="Per study")
ui.show_table(headline, "overview-headline", key="overview_headline",
              caption=f"CI: {ci_text}, 95%. Median PFS: Kaplan–Meier, R `survival` median rule; NR = not reached. "
                      + ("Only the nab-paclitaxel study publishes per-patient PFS." if data_source.is_bundled() else ""))
tools.view_tools("overview_headline", "Headline numbers per study", table=headline, patients=patients,
                 code=snippets.per_study(methods.denominator, methods.ci, methods.conf_type))

st.subheader("Cohorts")
cohort_table = studies.reset_index()[["study_id", "regimen", "dose_schedule", "design", "treatment_period",
                                      "centre", "response_criteria", "n_treated", "n_evaluable", "seed_file"]]
cohort_table.insert(0, "Study", cohort_table.pop("study_id").map(study_label))
ui.show_table(cohort_table.rename(columns={
    "regimen": "Regimen", "dose_schedule": "Dose and schedule", "design": "Design",
    "treatment_period": "Treatment period", "centre": "Centre", "response_criteria": "Response criteria",
    "n_treated": "Treated", "n_evaluable": "Evaluable", "seed_file": "Source file",
}), "cohorts", key="overview_cohorts", caption="As published; empty cells are not reported." if data_source.is_bundled()
    else "As recorded for this data source; empty cells are not recorded.")

if data_source.has_published_tables():
    with st.expander("Do our numbers reproduce the papers? (whole published cohorts, filters not applied)"):
        comparison = db.reconciliation()
        shown = pd.DataFrame({
            "Study": comparison["study_id"].map(study_label),
            "Published (verbatim)": comparison["printed"],
            "Recomputed": [fmt_value_ci(r.recomputed_estimate, r.recomputed_ci_lower, r.recomputed_ci_upper, r.unit)
                           for r in comparison.itertuples()],
            "n": comparison["n"],
            "Status": comparison["status"].map(published.status_label),
            "Assumption": comparison["assumption"],
            "Explanation": comparison["explanation"],
            "Method": comparison["method"],
            "Source": comparison["source"],
        })
        ui.show_table(shown, "published-vs-recomputed", key="overview_reconcile",
                      caption="Reproduced = equal to the last printed digit; under an assumption = only under the "
                              "convention, model or reading named; not computable = the per-patient data needed are "
                              "not published. Details: Published vs recomputed.")
else:
    data_source.not_available_message("Published results and their comparison with our recomputation")
