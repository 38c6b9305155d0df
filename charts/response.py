"""Response charts: best response by histology, forest plot of response rates."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from charts.theme import LABEL_SIZE, OKABE_ITO, RESPONSE_ORDER, resolved, response_scale, text_panel_width

#: Width of one digit of a bold segment label, in pixels (at LABEL_SIZE).
LABEL_PX_PER_DIGIT = 9
#: Plot width assumed for the label rule: Streamlit shrinks a wide chart to the page (seen: ~400 px of 720).
NARROWEST_PLOT_PX = 400

RESPONSE_TITLES = {
    "CR": "CR complete response",
    "PR": "PR partial response",
    "SD": "SD stable disease",
    "PD": "PD progressive disease",
    "NE": "NE not evaluable",
}


def best_response_bars(counts: pd.DataFrame, width: int = 720) -> alt.Chart:
    """Stacked horizontal bars: patients per histology, coloured by best response.

    Parameters
    ----------
    counts : pandas.DataFrame
        Columns ``study`` (label), ``histology`` (label), ``response``
        (CR/PR/SD/PD/NE) and ``n`` (patients). Rows with n = 0 are dropped.
    width : int
        Width of the plotting area in pixels (exports use it as is).

    Returns
    -------
    altair.Chart
        One panel per study (histologies differ between studies), bars
        sorted by number of patients, counts printed in each segment wide
        enough to hold them (the tooltip always has the count).
    """
    frame = counts[counts["n"] > 0].copy()
    frame["response_rank"] = frame["response"].map({r: i for i, r in enumerate(RESPONSE_ORDER)})
    frame = frame.sort_values(["study", "histology", "response_rank"])
    frame["x_end"] = frame.groupby(["study", "histology"])["n"].cumsum()
    frame["x_start"] = frame["x_end"] - frame["n"]
    frame["x_mid"] = (frame["x_start"] + frame["x_end"]) / 2
    frame["response_title"] = frame["response"].map(RESPONSE_TITLES)
    # dark text on the light colours (PR sky blue, SD orange), white on the dark ones
    frame["label_colour"] = frame["response"].map(lambda r: "#111111" if r in ("PR", "SD") else "white")
    totals = frame.groupby(["study", "histology"])["n"].transform("sum")
    frame["histology_total"] = frame["histology"] + " (" + totals.map("{:,}".format) + ")"
    frame = frame.sort_values(["study", "n"], ascending=[True, False])
    order = (
        frame.groupby(["study", "histology_total"])["n"].sum().reset_index()
        .sort_values(["n", "histology_total"], ascending=[False, True])["histology_total"].tolist()
    )
    max_total = int(frame["x_end"].max()) if len(frame) else 1
    # a count is printed only where its segment is wide enough for its digits (large cohorts: thin segments);
    # judged at the narrowest width the app may draw the plot (it shrinks to fit a narrow page)
    segment_px = frame["n"] / max_total * min(width, NARROWEST_PLOT_PX)
    frame["label"] = [f"{n:,}" if px >= LABEL_PX_PER_DIGIT * len(f"{n:,}") + 6 else ""
                      for n, px in zip(frame["n"], segment_px)]

    # no data on the layers: the facet (or the layer) supplies it, so each panel gets its own rows
    base = alt.Chart().encode(
        y=alt.Y("histology_total:N", sort=order, title=None, axis=alt.Axis(labelLimit=360)),
    )
    bars = base.mark_bar(stroke="white", strokeWidth=1.5).encode(
        x=alt.X("x_start:Q", title="Patients", scale=alt.Scale(domain=[0, max_total]),
                axis=alt.Axis(tickMinStep=1, format=",d", labelOverlap="greedy", labelSeparation=8,
                              tickCount=min(max_total, 8))),
        x2=alt.X2("x_end:Q"),
        color=alt.Color("response:N", scale=response_scale(), title="Best response",
                        legend=alt.Legend(columns=5, orient="top", direction="horizontal")),
        tooltip=[alt.Tooltip("study:N", title="Study"), alt.Tooltip("histology:N", title="Histology"),
                 alt.Tooltip("response_title:N", title="Best response"), alt.Tooltip("n:Q", title="Patients")],
    )
    labels = base.mark_text(fontWeight="bold", fontSize=LABEL_SIZE).encode(
        x=alt.X("x_mid:Q"), text=alt.Text("label:N"), color=alt.Color("label_colour:N", scale=None),
    )
    if frame["study"].nunique() > 1:
        return alt.layer(bars, labels).properties(width=width, height=alt.Step(30)).facet(
            row=alt.Row("study:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left",
                                                                 labelAnchor="start", labelOrient="top")),
            data=frame,
        ).resolve_scale(y="independent")
    return alt.layer(bars, labels, data=frame).properties(width=width, height=alt.Step(30))


def size_legend_values(denominators: pd.Series, most: int = 3) -> list[int]:
    """Denominators of the data for the square-size legend: all of them when few, else the smallest, a middle
    one and the largest (real n, so a reader can match a square to a row).

    A 28-patient cohort gets e.g. [3, 12, 28], a registry e.g. [3000, 45000, 100000].
    """
    values = pd.to_numeric(denominators, errors="coerce").dropna()
    values = sorted({int(v) for v in values if v > 0})
    if not values:
        return [1]
    if len(values) <= most:
        return values
    picks = np.unique(np.round(np.linspace(0, len(values) - 1, most)).astype(int))
    return [values[i] for i in picks]


#: Part of the 0–100% range left empty beyond each end of a rate forest plot.
RATE_MARGIN = 0.06


def rate_forest(rates: pd.DataFrame, overall: float | None = None, endpoint_label: str = "ORR",
                width: int = 420) -> alt.Chart:
    """Forest plot of response rates by subgroup.

    Parameters
    ----------
    rates : pandas.DataFrame
        One row per subgroup level with columns ``row_label`` (unique text
        for the y axis, in plotting order), ``subgroup`` (label of the
        grouping variable), ``rate``, ``lower``, ``upper`` (0-1 scale),
        ``n`` and ``k``, and ``estimate_text`` (printed to the right).
        Rows without an estimate (``rate`` NaN) are shown with text only.
    overall : float, optional
        Rate in all patients, drawn as a dashed reference line.
    endpoint_label : str
        Axis title, e.g. ``"ORR"``.
    width : int
        Width of the plotting area.

    Returns
    -------
    altair.Chart
    """
    frame = rates.copy()
    order = frame["row_label"].tolist()
    y = alt.Y("row_label:N", sort=order, title=None, axis=alt.Axis(labelLimit=360, labelPadding=6))
    # room either side of 0% and 100%: a square at a zero rate stays clear of the row labels
    x_scale = alt.Scale(domain=[-RATE_MARGIN, 1 + RATE_MARGIN], nice=False, zero=False)
    base = alt.Chart(frame).encode(y=y)
    tooltip = [alt.Tooltip("subgroup:N", title="Subgroup"), alt.Tooltip("row_label:N", title="Level"),
               alt.Tooltip("estimate_text:N", title=endpoint_label)]
    intervals = base.mark_rule(strokeWidth=3, color=OKABE_ITO["blue"]).encode(
        x=alt.X("lower:Q", scale=x_scale, title=f"{endpoint_label} (95% CI)",
                axis=alt.Axis(format="%", values=[0, 0.2, 0.4, 0.6, 0.8, 1.0])),
        x2=alt.X2("upper:Q"),
        tooltip=tooltip,
    )
    points = base.mark_point(shape="square", filled=True, color=OKABE_ITO["blue"]).encode(
        x=alt.X("rate:Q", scale=x_scale),
        size=alt.Size("n:Q", title="Denominator (patients)", scale=alt.Scale(range=[60, 400], zero=True),
                      legend=alt.Legend(orient="bottom", direction="horizontal", format=",d",
                                        values=size_legend_values(frame["n"]))),
        tooltip=tooltip,
    )
    layers = [intervals, points]
    if overall is not None:
        reference = alt.Chart(pd.DataFrame({"overall": [overall]})).mark_rule(
            strokeDash=[6, 4], color="#555555", strokeWidth=2
        ).encode(x=alt.X("overall:Q", scale=x_scale))
        layers.insert(0, reference)
    plot = alt.layer(*layers).properties(width=width, height=alt.Step(30))
    text = base.mark_text(align="left", fontSize=LABEL_SIZE).encode(
        text=alt.Text("estimate_text:N"), x=alt.XValue(4),
    ).properties(width=text_panel_width(frame["estimate_text"], 210), height=alt.Step(30))
    return alt.hconcat(plot, text.encode(y=alt.Y("row_label:N", sort=order, axis=None)), spacing=8,
                      resolve=resolved(y="shared"))


#: The three estimates of :func:`borrowing_intervals`, in drawing order, with their colours.
BORROWING_ESTIMATES = {"Independent (exact CI)": OKABE_ITO["grey"], "Pooled (exact CI)": OKABE_ITO["orange"],
                       "Hierarchical (95% CrI)": OKABE_ITO["blue"]}


def borrowing_intervals(frame: pd.DataFrame, threshold: float | None = None, endpoint_label: str = "ORR",
                        width: int = 460) -> alt.Chart:
    """Per subtype, the independent, pooled and hierarchical estimates with their 95% intervals, dodged.

    Parameters
    ----------
    frame : pandas.DataFrame
        Long form, one row per subtype and estimate: ``group`` (text, in plotting order), ``estimate`` (a key
        of :data:`BORROWING_ESTIMATES`), ``rate``, ``lower``, ``upper`` (0-1 scale), ``text`` (tooltip).
    threshold : float, optional
        The rate of the exceedance probability, drawn as a dashed line.
    endpoint_label : str
        The endpoint's short name, on the axis and in the tooltip (e.g. ``"DCR"``).
    width : int
        Plot width in pixels (labels and legend come on top).

    Returns
    -------
    altair.Chart
        One row per subtype, the three intervals dodged within it.
    """
    order = list(dict.fromkeys(frame["group"]))
    estimates = list(BORROWING_ESTIMATES)
    x_scale = alt.Scale(domain=[0, 1])
    colour = alt.Color("estimate:N", title=None, sort=estimates,
                       scale=alt.Scale(domain=estimates, range=list(BORROWING_ESTIMATES.values())),
                       legend=alt.Legend(orient="top", direction="horizontal"))
    base = alt.Chart(frame).encode(
        y=alt.Y("group:N", sort=order, title=None, axis=alt.Axis(labelLimit=300)),
        yOffset=alt.YOffset("estimate:N", sort=estimates, scale=alt.Scale(paddingOuter=0.5)),
        color=colour,
        tooltip=[alt.Tooltip("group:N", title="Subtype"), alt.Tooltip("estimate:N", title="Estimate"),
                 alt.Tooltip("text:N", title=endpoint_label)],
    )
    rules = base.mark_rule(strokeWidth=2.5).encode(
        x=alt.X("lower:Q", scale=x_scale, title=f"{endpoint_label} (95% interval)",
                axis=alt.Axis(format="%", values=[0, 0.2, 0.4, 0.6, 0.8, 1.0])),
        x2=alt.X2("upper:Q"),
    )
    points = base.mark_point(filled=True, size=70, opacity=1).encode(x=alt.X("rate:Q", scale=x_scale))
    layers = [rules, points]
    if threshold is not None:
        layers.insert(0, alt.Chart(pd.DataFrame({"threshold": [threshold]})).mark_rule(
            strokeDash=[6, 4], color="#555555", strokeWidth=1.5).encode(x=alt.X("threshold:Q", scale=x_scale)))
    # pad: ``width`` is the plot's, labels and legend come on top (Streamlit's default "fit" squeezes the plot)
    return alt.layer(*layers).properties(width=width, height=max(120, 48 * len(order)),
                                         autosize=alt.AutoSizeParams(type="pad", contains="padding"))
