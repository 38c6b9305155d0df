"""Subtype across studies: one histology (or histology group), every study's patients with it side by side."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

import charts
from analysis.survival import kaplan_meier_by_group
from sarcoma_app.sources import cohort as data_source
from sarcoma_app.sources import db
from sarcoma_app.views import prepare, subtype
from sarcoma_app.exports import snippets
from sarcoma_app.render import ui, tools
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.viewstate.state import current_state
from sarcoma_app.text import CI_METHOD_LABELS, CONF_TYPE_LABELS, DENOMINATOR_LABELS, study_label
from sarcoma_app.viewstate.url_state import FilterState

require_app_frame()
ui.page_header("Subtype across studies", "How did patients with one histology do in each study, side by side?")
view = current_state()
methods = view.methods

CHOICE_KEY, WIDGET_KEY = "_subtype_choice", "w_subtype"
every_patient = db.load_patients(FilterState())
every_choice = subtype.subtype_choices(every_patient)
if not every_choice:
    st.info("No patient has a histology recorded.")
    st.stop()
sizes = subtype.choice_sizes(every_patient)  # one group-by per level, not one scan of the cohort per option
choices = {choice.key: choice for choice in subtype.largest(every_choice, sizes)}
labels = subtype.choice_labels(list(choices.values()), sizes)
if st.session_state.get(CHOICE_KEY) not in choices:
    st.session_state[CHOICE_KEY] = "group:Leiomyosarcoma" if "group:Leiomyosarcoma" in choices else next(iter(choices))
st.session_state[WIDGET_KEY] = st.session_state[CHOICE_KEY]
st.selectbox("Histology or histology group", list(choices), key=WIDGET_KEY,
             format_func=labels.__getitem__,
             on_change=lambda: st.session_state.update({CHOICE_KEY: st.session_state[WIDGET_KEY]}),
             help="Groups (e.g. Chondrosarcoma) gather related subtypes across studies; a specific histology is the "
                  "subtype exactly as published. Groups present in both studies come first.")
choice = choices[st.session_state[CHOICE_KEY]]
if len(every_choice) > len(choices):
    st.caption(f"The menu lists the {len(choices):,} histologies and groups with the most patients; "
               f"{len(every_choice) - len(choices):,} smaller ones are left out.")

# The page picks the histology itself; the sidebar's other filters (study, pazopanib, ECOG...) still apply.
ignored = [name for name in ("histology_group", "histology") if getattr(view.filters, name)]
patients = subtype.select(db.load_patients(replace(view.filters, histology=(), histology_group=())), choice)
st.caption(f"Each study is its own column: the regimens differ, so nothing is pooled unless you ask for it. "
           f"Rates use {DENOMINATOR_LABELS[methods.denominator]} with 95% {CI_METHOD_LABELS[methods.ci]} CIs; "
           f"median PFS is Kaplan–Meier ({CONF_TYPE_LABELS[methods.conf_type]} CI, R median rule). The sidebar "
           "filters apply" + (", except its histology filters (this page picks the histology)." if ignored else "."))
if patients.empty:
    ui.no_patients_message()
    st.stop()
n_studies = patients["study_id"].nunique()
if n_studies == 1:
    st.info(f"Only one study ({ui.text(study_label(patients['study_id'].iloc[0]))}) has patients with "
            f"{ui.text(choice.value)} in the current selection.", icon=":material/info:")

# --- per-study table ----------------------------------------------------------------------------
st.subheader(f"{ui.text(choice.value)}: response and PFS in each study")
pooled = st.toggle("Add a pooled column (descriptive only)", key="subtype_pooled", disabled=n_studies < 2,
                   help="Adds all studies together. The studies used different regimens, so a pooled rate is a "
                        "description of these patients, not an estimate of any treatment's effect.")
summaries = subtype.study_summaries(patients, methods.denominator, methods.ci, methods.conf_type, pooled=pooled)
studies = db.read_table("studies")
table = subtype.display_table(summaries, dict(zip(studies["study_id"], studies["regimen"])))
shown = subtype.side_by_side(table)
ui.show_table(shown, f"subtype-{choice.value}", key="subtype_table",
              caption="CR/PR/SD/PD/NE: best response (RECIST 1.1), NE = not evaluable. ORR = CR + PR, DCR = CR + PR "
                      "+ SD over the stated denominator; exact CIs are wide with so few patients.")
if pooled and n_studies > 1:
    st.warning(f"The last column is **{subtype.POOLED_LABEL}**: it adds patients treated with different regimens.",
               icon=":material/merge_type:")
tools.view_tools("subtype_table", f"{choice.value} across studies", table=shown, patients=patients,
                 code=snippets.per_study(methods.denominator, methods.ci, methods.conf_type,
                                         title=f"{choice.value}, per study: response rates and median PFS"))

# --- best response per study --------------------------------------------------------------------
st.subheader("Best response of each patient, per study")
counts = prepare.best_response_counts(patients)
bars = charts.best_response_bars(counts)
ui.show_chart(bars, f"subtype-{choice.value}-best-response", key="subtype_bars",
              title=f"Best response (RECIST 1.1): {choice.value}",
              caption="One panel per study; bars = patients per histology, coloured by best response.")
tools.view_tools("subtype_bars", f"{choice.value}: best response per study", chart=bars,
                 table=table[["Study", "Patients", "CR", "PR", "SD", "PD", "NE"]], patients=patients,
                 code=snippets.response_counts())

# --- ORR / DCR per study ------------------------------------------------------------------------
rates = subtype.rate_rows(summaries)
st.subheader("ORR and DCR per study (95% CI)")
forest = charts.rate_forest(rates, endpoint_label="Rate")
ui.show_chart(forest, f"subtype-{choice.value}-rates", key="subtype_rates",
              title=f"ORR and DCR per study (95% CI): {choice.value}",
              caption="Squares sized by the denominator. Side by side, not pooled: the studies used different regimens.")
tools.view_tools("subtype_rates", f"{choice.value}: ORR and DCR per study", chart=forest,
                 table=table[["Study", "ORR n/N", "ORR % (95% CI)", "DCR n/N", "DCR % (95% CI)"]], patients=patients,
                 code=snippets.per_study(methods.denominator, methods.ci, methods.conf_type,
                                         title=f"{choice.value}, per study: response rates"))

# --- PFS where published ------------------------------------------------------------------------
st.subheader("Progression-free survival where published")
analysable, excluded = prepare.pfs_data(patients)
if analysable.empty:
    st.info("None of these patients has a published PFS time (per-patient PFS is published only by the "
            "nab-paclitaxel + sintilimab study).")
else:
    analysable = analysable.assign(group=prepare.group_labels(analysable, "study"))
    result = kaplan_meier_by_group(analysable["pfs_months"], analysable["pfs_event"], analysable["group"],
                                   conf_type=methods.conf_type, landmarks=list(methods.landmarks))
    grid = prepare.risk_grid(float(analysable["pfs_months"].max()))
    km = charts.kaplan_meier_plot(prepare.km_curve_frame(result.fits), prepare.km_censor_frame(result.fits),
                                  prepare.km_risk_frame(result.fits, grid), [str(g) for g in result.fits],
                                  time_label="Months since start of treatment")
    ui.show_chart(km, f"subtype-{choice.value}-pfs", key="subtype_km", title=f"PFS (Kaplan–Meier): {choice.value}",
                  caption=f"{len(analysable)} patients, {int(analysable['pfs_event'].sum())} events"
                          + (f"; {len(excluded)} patients without published PFS are not drawn." if len(excluded) else "."))
    km_table = table[["Study", "PFS patients (events)", "Median PFS, months (95% CI)"]]
    tools.view_tools("subtype_km", f"{choice.value}: progression-free survival", chart=km, table=km_table,
                     patients=patients, n_text=f"{len(analysable)} patients with PFS, "
                                               f"{int(analysable['pfs_event'].sum())} events",
                     code=snippets.survival("study", methods.conf_type, methods.landmarks))

# --- as published ------------------------------------------------------------------------------
if data_source.has_published_tables():
    codes = set(patients["histology_code"].dropna().astype(str))
    printed = subtype.published_counts(db.read_table("published_response_by_histology"), codes)
    with st.expander("Response counts as printed in the papers (whole cohorts)", icon=":material/menu_book:"):
        if printed.empty:
            st.caption("The papers print no per-histology response row for this subtype.")
        else:
            ui.show_table(printed, f"subtype-{choice.value}-as-printed", key="subtype_printed",
                          caption="Seed 002 Table 2 and seed 000 Fig. 1a as printed (evaluable patients). They can "
                                  "differ from the patient rows: see conflict C01 on Data & methods (Table 2's "
                                  "angiosarcoma row).")
