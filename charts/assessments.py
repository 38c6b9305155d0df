"""Tumour-measurement charts: waterfall of the best change and spider plot over time (RECIST 1.1)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from charts.theme import LABEL_SIZE, RESPONSE_ORDER, response_scale

#: RECIST 1.1 thresholds on the sum of target-lesion diameters: -30% partial response, +20% progression.
PR_THRESHOLD = -30.0
PD_THRESHOLD = 20.0
MAX_PATIENT_LABELS = 40


def _thresholds(right: object, left: object, left_label_below: bool = True) -> alt.LayerChart:
    """Dashed reference lines at -30% and +20%, labelled inside the plot.

    ``right`` and ``left`` are x values (in data units) of the plot's ends:
    the +20% label ends at ``right`` above its line, the -30% label starts at
    ``left`` below it. A waterfall sorted from growth to shrinkage has no bar
    there, so the labels never cover data (exports keep them).
    """
    rules = pd.DataFrame({"value": [PR_THRESHOLD, PD_THRESHOLD]})
    rule = alt.Chart(rules).mark_rule(strokeDash=[6, 4], color="#444444", strokeWidth=1.5).encode(y=alt.Y("value:Q"))
    style = dict(fontSize=LABEL_SIZE - 1, color="#444444")
    progression = alt.Chart(pd.DataFrame({"value": [PD_THRESHOLD], "label": ["+20% progression"]})).mark_text(
        align="right", baseline="bottom", dy=-3, **style).encode(y=alt.Y("value:Q"), x=alt.XDatum(right), text=alt.Text("label:N"))
    partial = alt.Chart(pd.DataFrame({"value": [PR_THRESHOLD], "label": ["−30% partial response"]})).mark_text(
        align="left", baseline="top" if left_label_below else "bottom", dy=3 if left_label_below else -3,
        **style).encode(y=alt.Y("value:Q"), x=alt.XDatum(left), text=alt.Text("label:N"))
    return rule + progression + partial


def _response_colour(present: set[str]) -> alt.Color:
    return alt.Color("response:N", scale=response_scale(), title="Best response",
                     legend=alt.Legend(values=[r for r in RESPONSE_ORDER if r in present]))


def waterfall_plot(best: pd.DataFrame, width: int = 760, height: int = 380) -> alt.LayerChart:
    """One bar per patient: the best (lowest) % change of the target lesions from baseline.

    Parameters
    ----------
    best : pandas.DataFrame
        Columns ``patient`` (unique), ``best_change`` (%), ``response``
        (CR/PR/SD/PD/NE: the recorded best overall response). Bars are drawn
        in descending order of change (growth left, shrinkage right).
    width, height : int
        Plot size in pixels.

    Returns
    -------
    altair.LayerChart
        Bars coloured by best response with dashed lines at −30% and +20%
        (RECIST 1.1 thresholds). Patient labels are shown up to
        :data:`MAX_PATIENT_LABELS` bars.
    """
    frame = best.sort_values(["best_change", "patient"], ascending=[False, True]).reset_index(drop=True)
    order = frame["patient"].tolist()
    labelled = len(frame) <= MAX_PATIENT_LABELS
    x_axis = alt.Axis(labelAngle=-60, labelLimit=120) if labelled else alt.Axis(labels=False, ticks=False)
    bars = alt.Chart(frame).mark_bar().encode(
        x=alt.X("patient:N", sort=order, title="Patients (ordered by best change)", axis=x_axis),
        y=alt.Y("best_change:Q", title="Best change from baseline (%)",
                scale=alt.Scale(domain=[min(-100.0, float(frame["best_change"].min()) if len(frame) else -100.0),
                                        max(60.0, float(frame["best_change"].max()) if len(frame) else 60.0)])),
        color=_response_colour(set(frame["response"])),
        tooltip=[alt.Tooltip("patient:N", title="Patient"), alt.Tooltip("best_change:Q", title="Best change (%)",
                                                                        format=".1f"),
                 alt.Tooltip("response:N", title="Best response")],
    )
    labels = _thresholds(order[-1], order[0]) if order else _thresholds(0, 0)
    return alt.layer(bars, labels).properties(width=width, height=height)


def spider_plot(assessments: pd.DataFrame, width: int = 760, height: int = 380) -> alt.LayerChart:
    """% change of the target lesions over time, one line per patient.

    Parameters
    ----------
    assessments : pandas.DataFrame
        Columns ``patient``, ``time_months`` (>= 0), ``pct_change`` (%),
        ``response`` (the patient's best overall response). Include the
        baseline (time 0, change 0) rows to start every line at the origin.
    width, height : int
        Plot size in pixels.

    Returns
    -------
    altair.LayerChart
        Lines and points coloured by best response, dashed lines at −30% and +20%.
    """
    frame = assessments.sort_values(["patient", "time_months"])
    colour = _response_colour(set(frame["response"]))
    tooltip = [alt.Tooltip("patient:N", title="Patient"), alt.Tooltip("time_months:Q", title="Months", format=".1f"),
               alt.Tooltip("pct_change:Q", title="Change (%)", format=".1f"),
               alt.Tooltip("response:N", title="Best response")]
    base = alt.Chart(frame).encode(
        x=alt.X("time_months:Q", title="Months since start of treatment"),
        y=alt.Y("pct_change:Q", title="Change from baseline (%)"),
        color=colour, detail=alt.Detail("patient:N"), tooltip=tooltip,
    )
    lines = base.mark_line(strokeWidth=2, opacity=0.8) + base.mark_point(size=40, filled=True)
    last = float(frame["time_months"].max()) if len(frame) else 1.0
    return alt.layer(lines, _thresholds(last, 0.0)).properties(width=width, height=height)
