"""Adverse-event chart: patients (or events) per term, stacked by grade."""
from __future__ import annotations

import altair as alt
import pandas as pd

from charts.theme import OKABE_ITO

GRADE_COLOURS = {
    "1-2": OKABE_ITO["sky_blue"],
    "3-4": OKABE_ITO["vermillion"],
    "1": "#A6D8F2",
    "2": OKABE_ITO["sky_blue"],
    "3": OKABE_ITO["orange"],
    "4": OKABE_ITO["vermillion"],
    "5": OKABE_ITO["black"],
    "not stated": OKABE_ITO["grey"],
}


def adverse_event_bars(counts: pd.DataFrame, value_title: str = "Patients", width: int = 560,
                       side_by_side: bool = False) -> alt.Chart:
    """Horizontal bars per AE term, stacked by grade (band), one panel per panel label.

    Parameters
    ----------
    counts : pandas.DataFrame
        Columns ``panel`` (e.g. study, or study and column of the published
        table), ``term``, ``grade`` (text: "1-2", "3-4", "1".."5" or
        "not stated") and ``value`` (patients or events; rows with missing
        value are dropped - they are listed as "not reported" in the table).
    value_title : str
        Axis title.
    width : int
        Width of each panel.
    side_by_side : bool
        Panels in a row (for a slide's wide shape) instead of one under the other.

    Returns
    -------
    altair.Chart
    """
    frame = counts.dropna(subset=["value"]).copy()
    frame = frame[frame["value"] > 0]
    grades = [g for g in GRADE_COLOURS if g in set(frame["grade"])]
    frame["grade_rank"] = frame["grade"].map({g: i for i, g in enumerate(grades)})
    frame = frame.sort_values(["panel", "term", "grade_rank"])
    frame["x_end"] = frame.groupby(["panel", "term"])["value"].cumsum()
    frame["x_start"] = frame["x_end"] - frame["value"]
    totals = frame.groupby(["panel", "term"])["value"].sum().reset_index().sort_values(["value", "term"],
                                                                                       ascending=[False, True])
    order = list(dict.fromkeys(totals["term"]))
    chart = alt.Chart(frame).mark_bar(stroke="white", strokeWidth=1).encode(
        y=alt.Y("term:N", sort=order, title=None, axis=alt.Axis(labelLimit=300)),
        x=alt.X("x_start:Q", title=value_title, axis=alt.Axis(tickMinStep=1, format="d")),
        x2=alt.X2("x_end:Q"),
        color=alt.Color("grade:N", title="CTCAE grade",
                        scale=alt.Scale(domain=grades, range=[GRADE_COLOURS[g] for g in grades]),
                        # titleLimit: the title scales with the fonts of a slide (Vega's default limit cuts it)
                        legend=alt.Legend(orient="right", titleLimit=200) if side_by_side else
                        alt.Legend(titleLimit=200)),
        tooltip=[alt.Tooltip("panel:N", title="Table"), alt.Tooltip("term:N", title="Term"),
                 alt.Tooltip("grade:N", title="Grade"), alt.Tooltip("value:Q", title=value_title)],
    ).properties(width=width, height=alt.Step(24))
    if frame["panel"].nunique() > 1:
        header = alt.Header(labelAngle=0, labelAlign="left", labelAnchor="start", labelOrient="top")
        panels = alt.Column("panel:N", title=None, header=header) if side_by_side else \
            alt.Row("panel:N", title=None, header=header)
        return chart.facet(**{"column" if side_by_side else "row": panels}).resolve_scale(y="independent")
    return chart
