"""Swimmer plot: time on treatment per patient, coloured by best response."""
from __future__ import annotations

import altair as alt
import pandas as pd

from charts.theme import RESPONSE_ORDER, response_scale

MARKER_SHAPES = {
    "best response first seen": "circle",
    "progression": "diamond",
    "ongoing at last report": "triangle-right",
    "died": "cross",
}


def swimmer_plot(lanes: pd.DataFrame, markers: pd.DataFrame, time_label: str, width: int = 760) -> alt.LayerChart:
    """One horizontal bar per patient from 0 to the time on treatment.

    Parameters
    ----------
    lanes : pandas.DataFrame
        Columns ``patient`` (y label, unique), ``duration`` (>= 0),
        ``response`` (CR/PR/SD/PD/NE); rows in plotting order (top first).
    markers : pandas.DataFrame
        Columns ``patient``, ``time``, ``marker`` (a key of
        :data:`MARKER_SHAPES`).
    time_label : str
        Axis title with its unit, e.g. ``"Cycles of nivolumab (last reported)"``.
    width : int
        Plot width.

    Returns
    -------
    altair.LayerChart
    """
    order = lanes["patient"].tolist()
    y = alt.Y("patient:N", sort=order, title=None, axis=alt.Axis(labelLimit=360))
    max_time = float(max(lanes["duration"].max() if len(lanes) else 1.0, markers["time"].max() if len(markers) else 0.0))
    x_scale = alt.Scale(domain=[0, max_time * 1.04 if max_time > 0 else 1], nice=False)
    bars = alt.Chart(lanes).mark_bar(height={"band": 0.7}).encode(
        y=y,
        x=alt.X("duration:Q", scale=x_scale, title=time_label),
        color=alt.Color("response:N", scale=response_scale(), title="Best response",
                        legend=alt.Legend(values=[r for r in RESPONSE_ORDER if r in set(lanes["response"])],
                                          orient="right", direction="vertical", columns=1)),
        tooltip=[alt.Tooltip("patient:N", title="Patient"), alt.Tooltip("response:N", title="Best response"),
                 alt.Tooltip("duration:Q", title=time_label)],
    )
    layers = [bars]
    if len(markers):
        present = [m for m in MARKER_SHAPES if m in set(markers["marker"])]
        layers.append(
            alt.Chart(markers).mark_point(filled=True, size=170, color="black", opacity=1, stroke="white",
                                          strokeWidth=1).encode(
                y=y,
                x=alt.X("time:Q", scale=x_scale),
                shape=alt.Shape("marker:N", title="Event", legend=alt.Legend(orient="right", direction="vertical",
                                                                             columns=1),
                                scale=alt.Scale(domain=present, range=[MARKER_SHAPES[m] for m in present])),
                tooltip=[alt.Tooltip("patient:N", title="Patient"), alt.Tooltip("marker:N", title="Event"),
                         alt.Tooltip("time:Q", title=time_label)],
            )
        )
    return alt.layer(*layers).properties(width=width, height=alt.Step(24)).resolve_scale(color="independent")
