"""Hazard ratios: univariate Cox screening and a multivariable model the user composes."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import charts
from analysis.cox import InsufficientDataError, fit_cox, univariate_cox
from analysis.multiplicity import adjust_pvalues
from sarcoma_app.render.navigation import require_app_frame
from data import registry
from sarcoma_app.sources import cohort as data_source
from sarcoma_app.views import covariates, prepare, published
from sarcoma_app.sources import db
from sarcoma_app.exports import snippets
from sarcoma_app.viewstate import state
from sarcoma_app.render import ui, tools
from sarcoma_app.views.covariates import COVARIATES, covariate_frame, reference_label, reference_note, term_label
from sarcoma_app.text import (P_ADJUST_LABELS, TIES_LABELS, fmt_p, fmt_ratio_ci,
                              fmt_value_ci, study_label)
from sarcoma_app.viewstate.url_state import P_ADJUST_METHODS, TIES

require_app_frame()
ui.page_header("Hazard ratios", "Which patient characteristics go with longer or shorter survival?")

view = state.current_state()
patients = db.load_patients(view.filters)
if patients.empty:
    ui.no_patients_message()
    st.stop()
controls = st.columns(3)
endpoint = ui.choose_endpoint(controls[0], patients)
spec = registry.ENDPOINTS[endpoint]
ties = state.method_selectbox(controls[1], "ties", "Tied event times", TIES, TIES_LABELS.get,
                              help="Efron is R coxph's default; Breslow is SAS/SPSS's.")
p_adjust = state.method_selectbox(controls[2], "p_adjust", "Multiplicity adjustment", P_ADJUST_METHODS,
                                  P_ADJUST_LABELS.get, help="Across all terms of the screening table.")
view = state.current_state()
analysable, excluded = prepare.endpoint_data(patients, endpoint)
ui.exclusion_note(analysable, patients, excluded)
if analysable.empty or analysable["event"].sum() == 0:
    st.warning(f"No analysable patient with an event ({spec.event_label}) in the selection: hazard ratios "
               "cannot be estimated.")
    st.stop()
T, E = spec.time, spec.event


def estimate_text(row) -> str:
    """HR (CI), p and the patients/events behind the term, for the forest plot."""
    if pd.notna(row.level_n):
        counts = f"{int(row.level_n)} pts, {int(row.level_events)} ev"
    else:
        counts = f"{int(row.n)} pts, {int(row.events)} ev" if pd.notna(row.n) else ""
    if not row.estimable:
        return f"not estimable · {counts}"
    return f"{fmt_ratio_ci(row.hr, row.hr_lower, row.hr_upper)} p {fmt_p(row.p)} · {counts}"


# --- univariate screening ------------------------------------------------------------------------
st.subheader("Univariate screening (one Cox model per characteristic)")
offered = covariates.offered(analysable)
data = covariate_frame(analysable, offered, endpoint)
crowded = {key: prepare.n_levels(data[key]) for key in offered}
crowded = {key: n for key, n in crowded.items() if n > prepare.MAX_COMPARED_LEVELS}  # k levels = k - 1 terms
for key, n in crowded.items():
    ui.too_many_levels_message(COVARIATES[key].label, n, "It is left out of the Cox models on this page.")
keys = [key for key in offered if key not in crowded]
not_offered = [COVARIATES[key].label for key in COVARIATES if key not in offered]
if not keys:
    st.info("No characteristic takes two or more values among the analysable patients, so there is nothing to "
            "compare." + (f" Not recorded or constant here: {ui.text('; '.join(not_offered))}." if not_offered else ""))
    st.stop()
if not_offered:
    st.caption(f"Not offered (not recorded, or one value only, among these {len(analysable):,} patients): "
               f"{ui.text('; '.join(not_offered))}.")
screen = univariate_cox(data, T, E, keys, ties=ties)
screen["label"] = [term_label(r.covariate, r.level, r.reference) for r in screen.itertuples()]
screen["p_adjusted"] = adjust_pvalues(screen["p"].astype(float).to_numpy(), p_adjust)
shown = pd.DataFrame({
    "Characteristic": screen["label"],
    "Patients": screen["n"], "Events": screen["events"],
    "In level (events)": [f"{int(a)} ({int(b)})" if pd.notna(a) else "–" for a, b in zip(screen["level_n"], screen["level_events"])],
    "Reference (events)": [f"{reference_label(c, ref)}: {int(a)} ({int(b)})" if pd.notna(a) else "–"
                           for c, ref, a, b in zip(screen["covariate"], screen["reference"], screen["reference_n"],
                                                   screen["reference_events"])],
    "HR (95% CI)": [fmt_ratio_ci(r.hr, r.hr_lower, r.hr_upper) if r.estimable else "not estimable" for r in screen.itertuples()],
    "p (Wald)": screen["p"].map(fmt_p),
    f"p adjusted ({p_adjust})": pd.Series(screen["p_adjusted"]).map(fmt_p),
    "Note": [r.note or r.warnings or "" for r in screen.itertuples()],
})
ui.show_table(shown, "cox-univariate", key="cox_univariate",
              caption=f"Cox proportional hazards, {TIES_LABELS[ties]} ties, Wald 95% CI and p (R `coxph`). "
                      f"HR < 1 = longer {spec.short}. Each row is its own model on the patients with that "
                      "characteristic known.")
forest_rows = pd.DataFrame({
    "row_label": screen["label"],
    "hr": screen["hr"].astype(float), "lower": screen["hr_lower"].astype(float), "upper": screen["hr_upper"].astype(float),
    "estimate_text": [estimate_text(r) for r in screen.itertuples()],
})
univariate_forest = charts.hazard_ratio_forest(forest_rows)
ui.show_chart(univariate_forest, "cox-univariate-forest", key="cox_univariate_forest",
              title=f"Univariate hazard ratios for {spec.short} (95% CI)",
              caption="Log scale; dashed line = HR 1 (no difference); pts/ev = patients and events in the level. "
                      "Not estimable terms are listed without a bar. " + reference_note(screen))
tools.view_tools("cox_univariate", f"Univariate hazard ratios for {spec.short} (95% CI)", chart=univariate_forest,
                 table=shown, patients=patients, n_text=f"{len(analysable)} patients with {spec.short} recorded, "
                                                        f"{int(analysable['event'].sum())} events",
                 code=snippets.cox_univariate(keys, ties, p_adjust, snippets.factor_references(data),
                                              endpoint=endpoint))

# --- published HRs -------------------------------------------------------------------------------
if data_source.has_published_tables() and endpoint == "pfs":
    comparison = db.reconciliation()
    comparison = comparison[comparison["endpoint"] == "hazard_ratio"]
    with st.expander("Published hazard ratios beside ours (whole published cohorts, filters not applied)"):
        ui.show_table(pd.DataFrame({
            "Study": comparison["study_id"].map(study_label),
            "Published (verbatim)": comparison["printed"],
            "Recomputed HR (95% CI)": [fmt_value_ci(r.recomputed_estimate, r.recomputed_ci_lower, r.recomputed_ci_upper,
                                                    "ratio") for r in comparison.itertuples()],
            "Recomputed p": comparison["recomputed_p_value"].map(fmt_p),
            "Status": comparison["status"].map(published.status_label), "Assumption": comparison["assumption"],
            "Explanation": comparison["explanation"], "Method": comparison["method"],
        }), "published-hazard-ratios", key="cox_published")

# --- multivariable model -------------------------------------------------------------------------
st.subheader("Multivariable model")
wanted = view.methods.cox_terms
terms = state.method_multiselect(st, "cox_terms", "Covariates in the model", keys,
                                 lambda key: COVARIATES[key].label, fallback=keys[:2],
                                 help="All chosen characteristics enter one Cox model together.")
left_out = [COVARIATES[term].label for term in wanted if term not in keys]
if left_out:
    st.caption(f"Not in the model (not recorded or constant among these patients): {ui.text('; '.join(left_out))}.")
if not terms:
    st.info("Choose at least one covariate to fit a multivariable model.")
    st.stop()
try:
    model = fit_cox(data[[T, E, *terms]], T, E, list(terms), ties=ties)
except InsufficientDataError as error:
    st.warning(f"The model cannot be fitted: {ui.text(error)}.")
    st.stop()
attrs = model.attrs
n_terms = len(model)
events_per_term = attrs["events"] / n_terms
st.markdown(f"**{attrs['n']} patients, {attrs['events']} events, {n_terms} term(s)** — "
            f"{events_per_term:.1f} events per term. Likelihood-ratio test p = {fmt_p(attrs['lr_p'])} "
            f"({attrs['lr_df']} df); score p = {fmt_p(attrs['score_p'])}; Wald p = {fmt_p(attrs['wald_p'])}.")
if events_per_term < 10:
    st.warning(f"Only {events_per_term:.1f} events per covariate term (fewer than 10): the hazard ratios can be "
               "biased and their intervals unreliable. Use fewer covariates.", icon=":material/warning:")
for message in attrs["warnings"]:
    if "events per covariate" not in message:
        st.warning(ui.text(message), icon=":material/warning:")
if attrs["n_dropped_missing"]:
    st.caption(f"{attrs['n_dropped_missing']} patients with a missing covariate were left out (complete cases).")
model = model.reset_index()
model["label"] = [term_label(r.covariate, r.level, r.reference) for r in model.itertuples()]
multivariable_table = pd.DataFrame({
    "Term": model["label"],
    "In level (events)": [f"{int(a)} ({int(b)})" if pd.notna(a) else "–" for a, b in zip(model["level_n"], model["level_events"])],
    "HR (95% CI)": [fmt_ratio_ci(r.hr, r.hr_lower, r.hr_upper) if r.estimable else "not estimable" for r in model.itertuples()],
    "p (Wald)": model["p"].map(fmt_p),
    "Note": model["note"],
})
ui.show_table(multivariable_table, "cox-multivariable", key="cox_multivariable",
    caption=f"Adjusted hazard ratios, {TIES_LABELS[ties]} ties. Not estimable = no events in a level or perfect "
            "separation (the maximum-likelihood HR is 0 or infinite). " + reference_note(model))
adjusted_forest = charts.hazard_ratio_forest(pd.DataFrame({
    "row_label": model["label"], "hr": model["hr"].astype(float), "lower": model["hr_lower"].astype(float),
    "upper": model["hr_upper"].astype(float), "estimate_text": [estimate_text(r) for r in model.itertuples()],
}))
ui.show_chart(adjusted_forest, "cox-multivariable-forest", key="cox_multivariable_forest",
              title=f"Adjusted hazard ratios for {spec.short} (95% CI)")
tools.view_tools("cox_multivariable", f"Adjusted hazard ratios for {spec.short} (95% CI)", chart=adjusted_forest,
                 table=multivariable_table, patients=patients,
                 n_text=f"{attrs['n']} patients, {attrs['events']} events, {n_terms} term(s)",
                 code=snippets.cox_multivariable(terms, ties, snippets.factor_references(data[[T, E, *terms]]),
                                                 endpoint=endpoint))
