"""Response: best response by histology, ORR/DCR by any grouping, subgroup forest plot, Fisher tests."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import charts
from analysis.response import response_comparison, response_table, subgroup_rates
from data import registry
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import db
from sarcoma_app.views import prepare
from sarcoma_app.exports import snippets
from sarcoma_app.viewstate import state
from sarcoma_app.render import ui, tools
from sarcoma_app.text import (
    CI_METHOD_LABELS, DENOMINATOR_LABELS, ENDPOINT_LABELS, GROUPING_LABELS, P_ADJUST_LABELS, fmt_count, fmt_p,
    fmt_rate_ci, fmt_ratio_ci,
)
from sarcoma_app.viewstate.url_state import CI_METHODS, DENOMINATORS, ENDPOINTS, P_ADJUST_METHODS

require_app_frame()
ui.page_header("Response", "How did tumours respond, and does the response rate differ between subgroups?")

view = state.current_state()
patients = db.load_patients(view.filters)
if patients.empty:
    ui.no_patients_message()
    st.stop()
controls = st.columns(4)
groupings = registry.available_groupings(registry.recorded_counts(patients))
grouping = state.available_selectbox(controls[0], "response_by", "Group by", groupings, GROUPING_LABELS.get,
                                     help="Grouping of the ORR/DCR table and the Fisher test (groupings with two or "
                                          "more recorded values among the selected patients).")
denominator = state.method_selectbox(controls[1], "denominator", "Denominator", DENOMINATORS, DENOMINATOR_LABELS.get,
                                     help="All treated patients (not evaluable = non-responder) or evaluable only. "
                                          "Seed 000 reports 12/24 evaluable; seed 002 uses all 28.")
ci_method = state.method_selectbox(controls[2], "ci", "Confidence interval", CI_METHODS, CI_METHOD_LABELS.get,
                                   help="95% interval of each rate. Clopper–Pearson is exact (conservative).")
endpoint = state.method_selectbox(controls[3], "endpoint", "Forest plot endpoint", ENDPOINTS, ENDPOINT_LABELS.get)

view = state.current_state()
n_studies = patients["study_id"].nunique()
if n_studies > 1:
    st.info(f"The selection holds {n_studies} studies with different regimens. Group by **study** (or filter one "
            "study) for per-regimen rates; an 'All' row pools the regimens.", icon=":material/merge_type:")

# --- best response by histology -----------------------------------------------------------
st.subheader("Best response by histology")
counts = prepare.best_response_counts(patients)
bars = charts.best_response_bars(counts)
ui.show_chart(bars, "best-response-by-histology", key="response_bars",
              title="Best response (RECIST 1.1) by histology",
              caption="Patients per histology, coloured by best overall response (RECIST 1.1): CR complete, "
                      "PR partial response, SD stable disease, PD progressive disease, NE not evaluable. "
                      "One panel per study.")
tools.view_tools("response_bars", "Best response (RECIST 1.1) by histology", chart=bars, patients=patients,
                 table=counts.pivot_table(index=["study", "histology"], columns="response", values="n", fill_value=0)
                 .reindex(columns=["CR", "PR", "SD", "PD", "NE"], fill_value=0).reset_index()
                 .rename(columns={"study": "Study", "histology": "Histology"}),
                 code=snippets.response_counts())

# --- ORR / DCR table -------------------------------------------------------------------------
grouping, grouped = ui.grouped_or_all(patients, grouping, "The table shows all patients together, without a test; "
                                      "choose a coarser grouping, or filter the patients first.")
st.subheader(f"ORR and DCR by {GROUPING_LABELS[grouping]}")
table = response_table(grouped, group_col=None if grouping == "none" else "group", denominator=denominator,
                       method=ci_method)
denominator_word = DENOMINATOR_LABELS[denominator].split(" patients")[0]
shown = pd.DataFrame({
    "Group": table["group"].astype(str).replace({"All": "All selected patients" + (" (pooled)" if n_studies > 1 else "")}),
    "Treated": table["n_treated"], "Evaluable": table["n_evaluable"],
    "CR": table["CR"], "PR": table["PR"], "SD": table["SD"], "PD": table["PD"], "NE": table["n_not_evaluable"],
    f"ORR n/N ({denominator_word})": [fmt_count(k, n) for k, n in zip(table["orr_count"], table["denominator"])],
    "ORR % (95% CI)": [fmt_rate_ci(e, lo, hi) for e, lo, hi in zip(table["orr"], table["orr_lower"], table["orr_upper"])],
    f"DCR n/N ({denominator_word})": [fmt_count(k, n) for k, n in zip(table["dcr_count"], table["denominator"])],
    "DCR % (95% CI)": [fmt_rate_ci(e, lo, hi) for e, lo, hi in zip(table["dcr"], table["dcr_lower"], table["dcr_upper"])],
    "Note": table["note"],
})
if grouping == "none":
    shown = shown.iloc[[-1]]
ui.show_table(shown, f"orr-dcr-by-{grouping}", key="response_table",
              caption=f"95% {CI_METHOD_LABELS[ci_method]} intervals. ORR = CR + PR; DCR = CR + PR + SD; "
                      f"denominator = {DENOMINATOR_LABELS[denominator]}.")
tools.view_tools("response_table", f"ORR and DCR by {GROUPING_LABELS[grouping]}", table=shown, patients=patients,
                 code=snippets.response_rates(grouping, denominator, ci_method))
if (table["denominator"] == 1).any():
    st.caption("A group with one patient gives a rate of 0% or 100% with a very wide interval.")

# --- Fisher tests ------------------------------------------------------------------------------
if grouping != "none":
    st.subheader("Do the rates differ between groups?")
    results = [response_comparison(grouped, "group", endpoint=name, denominator=denominator) for name in ENDPOINTS]
    if len(results[0].groups) < 2:
        st.info(f"Only one {GROUPING_LABELS[grouping]} group has patients in the selection: there is nothing to "
                "compare. Widen the filters or choose another grouping.")
    else:
        test_rows = [{
            "Endpoint": ENDPOINT_LABELS[r.endpoint],
            "Test": r.test or "not done",
            "p": fmt_p(r.p_value),
            "Odds ratio (95% CI)": fmt_ratio_ci(r.odds_ratio, r.odds_ratio_lower, r.odds_ratio_upper)
            if len(r.groups) == 2 else "–",
            "Groups": len(r.groups),
            "Responders / denominator": ", ".join(f"{g}: {k}/{n}" for g, k, n in zip(r.groups, r.events, r.denominators)),
            "Note": r.note,
        } for r in results]
        fisher_table = pd.DataFrame(test_rows)
        ui.show_table(fisher_table, f"fisher-by-{grouping}", key="response_fisher",
                      caption="Two-sided Fisher's exact test (R `fisher.test`); odds ratio = conditional MLE, first "
                              "group vs second. Small groups give low power: a large p is not evidence of no "
                              "difference.")
        tools.view_tools("response_fisher", f"Do ORR and DCR differ by {GROUPING_LABELS[grouping]}?",
                         table=fisher_table, patients=patients, code=snippets.fisher_tests(grouping, denominator))

# --- forest plot of subgroups ------------------------------------------------------------------
st.subheader(f"{ENDPOINT_LABELS[endpoint].split(' (')[0]} by subgroup")
p_adjust = state.method_selectbox(st, "p_adjust", "Multiplicity adjustment", P_ADJUST_METHODS, P_ADJUST_LABELS.get,
                                  help="Applied across all subgroup tests below (each level vs all other patients).")
subgroup_columns = {key: registry.VARIABLES[registry.GROUPINGS[key].variable].label for key in groupings
                    if key in registry.GROUPINGS and registry.GROUPINGS[key].forest}
labelled = patients.assign(**{f"sg_{key}": prepare.group_labels(patients, key) for key in subgroup_columns})
crowded = {key: prepare.n_levels(labelled[f"sg_{key}"]) for key in subgroup_columns}
crowded = {key: n for key, n in crowded.items() if n > prepare.MAX_COMPARED_LEVELS}
if crowded:  # each level is tested against the rest: too many levels cost a test (and a scan) each
    st.caption(f"Left out of the forest plot (more than {prepare.MAX_COMPARED_LEVELS} levels): "
               + ", ".join(f"{subgroup_columns[key]} ({n:,})" for key, n in crowded.items()) + ".")
    subgroup_columns = {key: label for key, label in subgroup_columns.items() if key not in crowded}
rates = subgroup_rates(labelled, [f"sg_{key}" for key in subgroup_columns], endpoint=endpoint,
                       denominator=denominator, method=ci_method, p_adjust_method=p_adjust)
rates = rates[rates["n"] > 0].copy()
rates["subgroup"] = rates["subgroup"].str.removeprefix("sg_").map(subgroup_columns)
rates = rates[rates.groupby("subgroup")["level"].transform("size") > 1]  # a single level compares nothing
if rates.empty:
    st.info("No subgroup variable has two or more levels with patients in the current selection.")
else:
    rates["row_label"] = [level if subgroup.lower().split()[0] in str(level).lower() else f"{subgroup}: {level}"
                          for subgroup, level in zip(rates["subgroup"], rates["level"].astype(str))]
    rates["estimate_text"] = [f"{fmt_rate_ci(r, lo, hi)}  {k}/{n}" for r, lo, hi, k, n in
                              zip(rates["rate"], rates["lower"], rates["upper"], rates["k"], rates["n"])]
    overall = response_table(patients, denominator=denominator, method=ci_method).iloc[-1][endpoint]
    endpoint_short = endpoint.upper()
    forest = charts.rate_forest(rates, overall=overall, endpoint_label=endpoint_short)
    ui.show_chart(forest,
                  f"{endpoint}-forest", key="response_forest", title=f"{endpoint_short} by subgroup (95% CI)",
                  caption=f"Squares sized by the denominator; dashed line = {endpoint_short} of all selected patients "
                          f"({overall:.1%})." + (" Pools studies with different regimens." if n_studies > 1 else ""))
    forest_table = pd.DataFrame({
        "Subgroup": rates["subgroup"], "Level": rates["level"], "n/N": [fmt_count(k, n) for k, n in zip(rates["k"], rates["n"])],
        f"{endpoint_short} % (95% CI)": [fmt_rate_ci(r, lo, hi) for r, lo, hi in zip(rates["rate"], rates["lower"], rates["upper"])],
        "p (level vs rest)": rates["p_value"].map(fmt_p),
        f"p adjusted ({p_adjust})": rates["p_adjusted"].map(fmt_p),
        "Note": rates["note"],
    })
    n_tests = int(rates["p_value"].notna().sum())
    ui.show_table(forest_table, f"{endpoint}-by-subgroup", key="response_forest_table",
                  caption=f"Fisher's exact test of each level against all other selected patients; {n_tests} tests, "
                          f"adjusted with {P_ADJUST_LABELS[p_adjust]}. Exploratory: subgroups are small.")
    tools.view_tools("response_forest", f"{endpoint_short} by subgroup (95% CI)", chart=forest, table=forest_table,
                     patients=patients, code=snippets.subgroup_forest(endpoint, denominator, ci_method, p_adjust,
                                                                         subgroups=list(subgroup_columns)))

# --- tumour measurements (an uploaded cohort with an assessments file) --------------------------------------
assessments = db.load_assessments(view.filters)
if len(assessments):
    st.subheader("Tumour measurements")
    best, lines = prepare.assessment_frames(assessments, patients)
    n_measured = best.attrs.get("n", len(best))
    waterfall = charts.waterfall_plot(best)
    ui.show_chart(waterfall, "waterfall", key="response_waterfall", title="Best change of target lesions (waterfall)",
                  caption=f"{n_measured:,} selected patients with measurements"
                          + (f"; {len(best)} bars drawn, evenly spaced over the ranking" if len(best) < n_measured
                             else "") + ". Bar = the lowest % change of the sum of target-lesion diameters from "
                          "baseline; colour = recorded best overall response. Dashed lines: −30% (partial response) "
                                     "and +20% (progression), RECIST 1.1.")
    spider = charts.spider_plot(lines)
    n_lines = lines["patient"].nunique()
    ui.show_chart(spider, "spider", key="response_spider", title="Change of target lesions over time (spider plot)",
                  caption="One line per patient, from baseline (0%)"
                          + (f"; {n_lines} of {n_measured:,} patients drawn, evenly spaced over the ranking of the "
                             "best change" if n_lines < n_measured else "") + ".")
