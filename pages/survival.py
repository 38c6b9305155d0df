"""Survival: Kaplan-Meier curves of a time-to-event endpoint by any grouping, numbers at risk, medians,
landmarks, log-rank test."""
from __future__ import annotations

import math

import pandas as pd
import streamlit as st

import charts
from analysis.survival import kaplan_meier_by_group, logrank_table
from data import registry
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import db
from sarcoma_app.views import prepare
from sarcoma_app.exports import snippets
from sarcoma_app.viewstate import state
from sarcoma_app.render import ui, tools
from sarcoma_app.text import (
    CONF_TYPE_LABELS, GROUPING_LABELS, fmt_median_ci, fmt_p, fmt_rate_ci,
)
from sarcoma_app.viewstate.url_state import CONF_TYPES, MAX_LANDMARKS, parse_landmarks_text

require_app_frame()
ui.page_header("Survival", "How long did patients stay free of progression or alive, and does it differ "
                           "between groups?")

view = state.current_state()
patients = db.load_patients(view.filters)
if patients.empty:
    ui.no_patients_message()
    st.stop()
controls = st.columns([2, 2, 2, 2])
endpoint = ui.choose_endpoint(controls[0], patients)
spec = registry.ENDPOINTS[endpoint]
analysable, excluded = prepare.endpoint_data(patients, endpoint)
groupings = registry.available_groupings(registry.recorded_counts(analysable))
grouping = state.available_selectbox(controls[1], "km_by", "Curves by", groupings, GROUPING_LABELS.get,
                                     help="One Kaplan–Meier curve per group (groupings with two or more recorded "
                                          "values among the analysable patients).")
conf_type = state.method_selectbox(controls[2], "conf_type", "CI transformation", CONF_TYPES, CONF_TYPE_LABELS.get,
                                   help="Pointwise 95% intervals of S(t) as R survfit conf.type: log (default), "
                                        "log-log or plain.")
state.method_text(controls[3], "landmarks", "Landmark times (months)",
                  to_text=lambda values: ", ".join(f"{v:g}" for v in values),
                  parse=parse_landmarks_text,
                  help=f"Up to {MAX_LANDMARKS} times, comma-separated, e.g. 4, 6.")
rejected = st.session_state.pop("_rejected_landmarks", None)
if rejected is not None:
    st.warning(f"Landmark times “{ui.text(rejected)[:60]}” not understood: give up to {MAX_LANDMARKS} "
               "numbers of months between 0 and 240, separated by commas.")
view = state.current_state()
landmarks = list(view.methods.landmarks)
ui.exclusion_note(analysable, patients, excluded)

grouping, analysable = ui.grouped_or_all(analysable, grouping, "The curve below shows all patients together; choose "
                                         "a coarser grouping, or filter the patients first.")
result = kaplan_meier_by_group(analysable["time"], analysable["event"], analysable["group"],
                               conf_type=conf_type, landmarks=landmarks)
groups = [str(g) for g in result.fits]

# --- curves ----------------------------------------------------------------------------------------
max_time = float(analysable["time"].max())
grid = prepare.risk_grid(max_time)
curve_points, censor_marks = prepare.km_curve_frame(result.fits), prepare.km_censor_frame(result.fits)
chart = charts.kaplan_meier_plot(
    curve_points, censor_marks,
    prepare.km_risk_frame(result.fits, grid), groups, time_label="Months since start of treatment",
)
n_events = int(analysable["event"].sum())
st.subheader(f"Kaplan–Meier curves of {spec.label.lower()}")
ui.show_chart(chart, f"km-{endpoint}-by-{grouping}", key="survival_km",
              title=f"{spec.label} (Kaplan–Meier)",
              caption=f"{len(analysable)} patients, {n_events} events. Step = KM estimate; band = pointwise 95% CI "
                      f"({CONF_TYPE_LABELS[conf_type]}); + = censored. Numbers at risk under the plot.")
if n_events == len(analysable):
    st.caption("Every analysable patient had an event (no censoring), so there are no censor marks.")
if curve_points.attrs.get("thinned") or censor_marks.attrs.get("omitted"):
    st.caption("Large cohort: "
               + ("each curve is drawn at the resolution of the screen (its last step in each of a few hundred equal "
                  "time intervals); " if curve_points.attrs.get("thinned") else "")
               + (f"the {censor_marks.attrs['omitted']:,} censored times are not marked (the marks would hide the "
                  "curve); " if censor_marks.attrs.get("omitted") else "")
               + "every number in the tables uses all patients.")

# --- medians and landmarks -------------------------------------------------------------------------
st.subheader(f"Median {spec.short} and landmark rates")
rows = []
for group, fit in result.fits.items():
    row = {"Group": str(group), "Patients": fit.n, "Events": fit.n_events,
           "Median, months (95% CI)": fmt_median_ci(fit.median, *fit.median_ci)}
    at_times = fit.survival_at_times(landmarks) if landmarks else pd.DataFrame()
    for t_row in at_times.itertuples():
        row[f"{spec.short} at {t_row.time:g} mo (95% CI) · at risk"] = (
            f"{fmt_rate_ci(t_row.survival, t_row.lower, t_row.upper)} · {int(t_row.n_risk)} at risk")
    rows.append(row)
medians = pd.DataFrame(rows)
ui.show_table(medians, f"{endpoint}-medians-by-{grouping}", key="survival_medians",
              caption="Median by R's rule (midpoint where S(t) = 0.5 over an interval); CI from the CI curves. "
                      "NR = not reached. Landmark S(t) as R `summary(fit, times)`; a landmark after the last "
                      "follow-up carries the last value (0 at risk). CI not defined = S(t) is 0 (R gives NA).")
tools.view_tools("survival_km", f"{spec.label} (Kaplan–Meier)", chart=chart, table=medians,
                 patients=patients, n_text=f"{len(analysable)} of {len(patients)} selected patients with "
                                           f"{spec.short} recorded, {n_events} events",
                 code=snippets.survival(grouping, conf_type, landmarks, endpoint=endpoint))
no_events = [f"{ui.text(group)} ({fit.n})" for group, fit in result.fits.items() if fit.n_events == 0]
single = [ui.text(group) for group, fit in result.fits.items() if fit.n == 1 and fit.n_events > 0]
if no_events:
    st.info("No events, so the median is not reached (NR) and the curve stays at 100%: " + ", ".join(no_events) + ".")
if single:
    st.info("A single patient, so the curve is one step and its CI is not informative: " + ", ".join(single) + ".")
if landmarks and analysable["time"].max() < max(landmarks):
    st.caption(f"Landmarks after {analysable['time'].max():g} months (the last follow-up) carry the last "
               "estimate forward; interpret with care.")

# --- log-rank -------------------------------------------------------------------------------------
if len(groups) > 1:
    st.subheader("Log-rank test")
    test = logrank_table(analysable["time"], analysable["event"], analysable["group"])
    if math.isnan(test.p_value):
        st.info("The log-rank test cannot be computed: there is no event in the compared groups.")
    else:
        st.markdown(f"χ² = {test.statistic:.2f} on {test.df} df, **p = {fmt_p(test.p_value)}** "
                    f"({len(analysable)} patients, {n_events} events).")
    logrank_shown = pd.DataFrame({
        "Group": test.table["group"].astype(str), "Patients": test.table["n"], "Observed events": test.table["observed"],
        "Expected events": test.table["expected"].map(lambda v: f"{v:.2f}"),
        "(O−E)²/V": test.table["oe2_over_v"].map(lambda v: f"{v:.3f}"),
    })
    ui.show_table(logrank_shown, f"logrank-by-{grouping}", key="survival_logrank",
                  caption="R `survdiff` (rho = 0). Groups with very few patients give an unreliable test.")
    tools.view_tools("survival_logrank", f"Log-rank test by {GROUPING_LABELS[grouping]}", table=logrank_shown,
                     patients=patients, n_text=f"{len(analysable)} patients with {spec.short} recorded, "
                                               f"{n_events} events",
                     code=snippets.logrank(grouping, endpoint=endpoint))
    if test.generalised_inverse:
        st.caption("The variance matrix was singular; a generalised inverse was used (R would stop here).")
else:
    st.caption("Choose a grouping ('Curves by') to compare groups with the log-rank test.")
