"""Forest plot of Cox hazard ratios (log scale); scaled Schoenfeld residuals of the proportional-hazards check."""
from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from charts.theme import LABEL_SIZE, OKABE_ITO, resolved, text_panel_width

LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)


def hazard_ratio_forest(rows: pd.DataFrame, width: int = 420, outcome: str | None = None) -> alt.HConcatChart:
    """Hazard ratios with 95% CIs on a log axis, reference line at 1.

    Parameters
    ----------
    rows : pandas.DataFrame
        Columns ``row_label`` (unique, plotting order), ``hr``, ``lower``,
        ``upper`` and ``estimate_text`` (printed to the right). Rows whose
        HR is not estimable (NaN/inf) appear with their text only.
    width : int
        Width of the plotting area.
    outcome : str, optional
        The endpoint's short name (e.g. ``"PFS"``): the sides of the axis read "← longer PFS" (HR < 1) and
        "shorter PFS →" (HR > 1); without it, lower and higher hazard.

    Returns
    -------
    altair.HConcatChart
    """
    frame = rows.copy()
    order = frame["row_label"].tolist()
    finite = frame[[all(math.isfinite(v) and v > 0 for v in (r.hr, r.lower, r.upper))
                    for r in frame.itertuples()]]
    if len(finite):
        low = min(finite["lower"].min(), 0.5)
        high = max(finite["upper"].max(), 2.0)
    else:
        low, high = 0.1, 10.0
    domain = [low / 1.1, high * 1.1]
    x_scale = alt.Scale(type="log", domain=domain, nice=False)
    ticks = [v for v in LOG_TICKS if domain[0] <= v <= domain[1]]
    y = alt.Y("row_label:N", sort=order, title=None, axis=alt.Axis(labelLimit=360))
    tooltip = [alt.Tooltip("row_label:N", title="Term"), alt.Tooltip("estimate_text:N", title="HR (95% CI)")]
    reference = alt.Chart(pd.DataFrame({"one": [1.0]})).mark_rule(strokeDash=[6, 4], color="#555555",
                                                                   strokeWidth=2).encode(x=alt.X("one:Q", scale=x_scale))
    intervals = alt.Chart(finite).mark_rule(strokeWidth=3, color=OKABE_ITO["blue"]).encode(
        y=y, x=alt.X("lower:Q", scale=x_scale, title="Hazard ratio (95% CI, log scale)",
                     axis=alt.Axis(values=ticks, grid=True)), x2=alt.X2("upper:Q"), tooltip=tooltip,
    )
    points = alt.Chart(finite).mark_point(shape="square", filled=True, size=160, color=OKABE_ITO["blue"]).encode(
        y=y, x=alt.X("hr:Q", scale=x_scale), tooltip=tooltip,
    )
    # an invisible layer keeps every row (also the not estimable ones) on the axis
    rows_axis = alt.Chart(frame).mark_point(opacity=0).encode(y=y, x=alt.XValue(0))
    left, right = (f"← longer {outcome}", f"shorter {outcome} →") if outcome else ("← lower hazard",
                                                                                  "higher hazard →")
    sides = alt.layer(
        alt.Chart(pd.DataFrame({"x": [domain[0]], "label": [left]})).mark_text(
            align="left", baseline="bottom", dy=-6, fontSize=LABEL_SIZE, color="#444444"),
        alt.Chart(pd.DataFrame({"x": [domain[1]], "label": [right]})).mark_text(
            align="right", baseline="bottom", dy=-6, fontSize=LABEL_SIZE, color="#444444"),
    ).encode(x=alt.X("x:Q", scale=x_scale), y=alt.YValue(0), text=alt.Text("label:N"))
    # a wider text panel (large counts: "50,660 pts, 42,781 ev") takes its room from the plot, down to 260 px
    text_width = text_panel_width(frame["estimate_text"], 240)
    plot_width = max(min(width, 260), width - max(0, text_width - 240))
    plot = alt.layer(rows_axis, reference, intervals, points, sides).properties(width=plot_width,
                                                                                height=alt.Step(32))
    text = alt.Chart(frame).mark_text(align="left", fontSize=LABEL_SIZE).encode(
        y=alt.Y("row_label:N", sort=order, axis=None), text=alt.Text("estimate_text:N"), x=alt.XValue(4),
    ).properties(width=text_width, height=alt.Step(32))
    return alt.hconcat(plot, text, spacing=8, resolve=resolved(y="shared"))


def moving_average_window(n_points: int) -> int:
    """Points in the centred moving average of :func:`schoenfeld_residual_plot`: about a fifth of them, at least 3
    (about as smooth as R's ``plot(cox.zph(fit))`` spline of 4 df; a fixed window of a few events is noise at
    thousands of events)."""
    return int(max(3, round(n_points / 5)))


#: Points a residual plot draws at most over its panels (Altair embeds at most 5,000 rows).
MAX_RESIDUAL_POINTS = 4000
#: Points one panel draws at most: two per pixel of its 300-pixel width (beyond, the dots only cost the
#: browser: 4,000 dots in two panels took 0.1 s longer to redraw after a filter change than 1,000).
MAX_RESIDUAL_POINTS_PER_PANEL = 600


def residual_points_per_panel(n_panels: int, max_points: int = MAX_RESIDUAL_POINTS) -> int:
    """Events one panel of :func:`schoenfeld_residual_plot` draws at most (the trend uses them all)."""
    return max(2, min(MAX_RESIDUAL_POINTS_PER_PANEL, max_points // max(1, n_panels)))


def schoenfeld_residual_plot(residuals: pd.DataFrame, reference: dict, time_title: str,
                             width: int = 300, max_points: int = MAX_RESIDUAL_POINTS) -> alt.FacetChart:
    """Scaled Schoenfeld residuals against transformed time, one panel per term.

    Parameters
    ----------
    residuals : pandas.DataFrame
        Long format: ``term`` (panel label; panels in order of first
        appearance, or of the categories of a categorical, which is
        cheapest), ``x`` (transformed event time) and ``residual`` (scaled
        Schoenfeld residual, an estimate of ``beta(t)``). Rows in any order.
    reference : dict
        Term -> the constant coefficient (fitted ``beta``, or 1 for a factor
        term), drawn as a dashed line: under proportional hazards the
        residuals scatter around it with no trend.
    time_title : str
        Title of the x axis (the time transform).
    width : int
        Width of each panel.
    max_points : int
        Points drawn at most over all panels, and at most
        :data:`MAX_RESIDUAL_POINTS_PER_PANEL` in each: beyond, evenly spaced
        events in time order are drawn (the moving average still uses every
        event).

    Returns
    -------
    altair.FacetChart
        Points, a solid line = centred moving average over
        :func:`moving_average_window` neighbouring events (in time order, tied
        events by value, so the order of the rows does not matter; averaged
        over events tied at the same time) and the dashed reference line.
    """
    terms = residuals["term"]
    if isinstance(terms.dtype, pd.CategoricalDtype):  # panels in the order of the categories
        codes, order = terms.cat.codes.to_numpy(), terms.cat.categories
    else:  # or of first appearance
        codes, order = pd.factorize(terms, sort=False)
    times, values = residuals["x"].to_numpy(dtype=float), residuals["residual"].to_numpy(dtype=float)
    complete = (codes >= 0) & ~np.isnan(times) & ~np.isnan(values)
    per_term = residual_points_per_panel(len(order), max_points)
    panels = []
    for code, term in enumerate(order):  # arrays per panel: a term's events in time order, tied ones by value
        rows = np.flatnonzero(complete & (codes == code))
        by_time = np.lexsort((values[rows], times[rows]))
        x_values, residual = times[rows][by_time], values[rows][by_time]
        trend = pd.Series(residual).rolling(moving_average_window(len(residual)), center=True,
                                            min_periods=1).mean().to_numpy()
        position = np.arange(len(residual))
        step = max(1.0, (len(residual) - 1) / (per_term - 1))  # evenly spaced events, the trend from all of them
        kept = (np.floor(position / step) != np.floor((position - 1) / step)) | (position == len(residual) - 1)
        panels.append(pd.DataFrame({"term": term, "x": x_values[kept], "residual": residual[kept],
                                    "trend": trend[kept], "reference": float(reference.get(term, np.nan))}))
    frame = pd.concat(panels, ignore_index=True) if panels else pd.DataFrame(
        columns=["term", "x", "residual", "trend", "reference"])
    order = list(order)
    x = alt.X("x:Q", title=time_title, axis=alt.Axis(tickCount=5))
    points = alt.Chart().mark_circle(size=40, opacity=0.55, color=OKABE_ITO["blue"]).encode(
        x=x, y=alt.Y("residual:Q", title="Scaled Schoenfeld residual (beta(t))"),
        tooltip=[alt.Tooltip("x:Q", title=time_title, format=".3g"),
                 alt.Tooltip("residual:Q", title="Residual", format=".3g")])
    trend = alt.Chart().mark_line(strokeWidth=3, color=OKABE_ITO["vermillion"]).encode(
        x=x, y=alt.Y("mean(trend):Q"))  # one value per distinct time: tied events share it
    constant = alt.Chart().mark_rule(strokeDash=[6, 4], color="#555555", strokeWidth=2).encode(
        y=alt.Y("mean(reference):Q"))
    return alt.layer(points, trend, constant, data=frame).properties(width=width, height=220).facet(
        facet=alt.Facet("term:N", sort=order, title=None, header=alt.Header(labelFontSize=LABEL_SIZE)),
        columns=2, resolve=resolved(y="independent"))
