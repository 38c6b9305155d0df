"""Forest plot of Cox hazard ratios (log scale)."""
from __future__ import annotations

import math

import altair as alt
import pandas as pd

from charts.theme import LABEL_SIZE, OKABE_ITO

LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)


def hazard_ratio_forest(rows: pd.DataFrame, width: int = 420) -> alt.HConcatChart:
    """Hazard ratios with 95% CIs on a log axis, reference line at 1.

    Parameters
    ----------
    rows : pandas.DataFrame
        Columns ``row_label`` (unique, plotting order), ``hr``, ``lower``,
        ``upper`` and ``estimate_text`` (printed to the right). Rows whose
        HR is not estimable (NaN/inf) appear with their text only.
    width : int
        Width of the plotting area.

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
                     axis=alt.Axis(values=ticks, grid=True)), x2="upper:Q", tooltip=tooltip,
    )
    points = alt.Chart(finite).mark_point(shape="square", filled=True, size=160, color=OKABE_ITO["blue"]).encode(
        y=y, x=alt.X("hr:Q", scale=x_scale), tooltip=tooltip,
    )
    # an invisible layer keeps every row (also the not estimable ones) on the axis
    rows_axis = alt.Chart(frame).mark_point(opacity=0).encode(y=y, x=alt.value(0))
    plot = alt.layer(rows_axis, reference, intervals, points).properties(width=width, height=alt.Step(32))
    text = alt.Chart(frame).mark_text(align="left", fontSize=LABEL_SIZE).encode(
        y=alt.Y("row_label:N", sort=order, axis=None), text="estimate_text:N", x=alt.value(4),
    ).properties(width=240, height=alt.Step(32))
    return alt.hconcat(plot, text, spacing=8).resolve_scale(y="shared")
