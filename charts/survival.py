"""Kaplan-Meier chart with confidence bands, censor marks and a number-at-risk table."""
from __future__ import annotations

import altair as alt
import pandas as pd

from charts.theme import GROUP_PALETTE, LABEL_SIZE, resolved


def group_colour_scale(groups: list[str]) -> alt.Scale:
    """Fixed colours for ``groups`` in order (palette cycled when longer)."""
    colours = [GROUP_PALETTE[i % len(GROUP_PALETTE)] for i in range(len(groups))]
    return alt.Scale(domain=list(groups), range=colours)


def kaplan_meier_plot(
    curves: pd.DataFrame,
    censors: pd.DataFrame,
    at_risk: pd.DataFrame,
    groups: list[str],
    time_label: str = "Months",
    y_label: str = "Progression-free survival",
    width: int = 600,
    show_bands: bool = True,
    risk_table: str = "at_risk",
    with_risk_table: bool = True,
) -> alt.VConcatChart | alt.LayerChart:
    """Step KM curves with pointwise CI bands, censor marks and numbers at risk.

    Parameters
    ----------
    curves : pandas.DataFrame
        Columns ``group``, ``time``, ``survival``, ``lower``, ``upper``: one
        row per step, starting with (0, 1) for each group. Limits may be NaN
        (not defined where S = 0); the band has a gap there.
    censors : pandas.DataFrame
        Columns ``group``, ``time``, ``survival``: one row per censored time.
    at_risk : pandas.DataFrame
        Columns ``group``, ``time``, ``n_risk`` on a common grid of times (and ``events``, ``censored``,
        cumulative, for the KMunicate table).
    groups : list of str
        Group labels in legend order.
    time_label, y_label : str
        Axis titles (say the unit).
    width : int
        Plot width.
    show_bands : bool
        Draw the confidence bands.
    risk_table : {"at_risk", "kmunicate"}
        One row per group with the number at risk, or three (at risk, cumulative events, cumulative
        censored) as KMunicate (Morris et al., BMJ Open 2019).
    with_risk_table : bool
        False for the curves alone (a slide whose risk table goes on slides of its own, as a table); the
        time axis keeps the risk table's ticks.

    Returns
    -------
    altair.VConcatChart or altair.LayerChart
        The curves above the number-at-risk table, sharing the time axis (the curves alone without it).
    """
    max_time = float(max(curves["time"].max(), at_risk["time"].max() if len(at_risk) else 0.0))
    x_scale = alt.Scale(domain=[0, max_time], nice=False)
    colour = alt.Color("group:N", scale=group_colour_scale(groups), title=None,
                       legend=alt.Legend(orient="top", direction="horizontal", columns=3, symbolType="stroke",
                                         symbolStrokeWidth=4, symbolOpacity=1) if len(groups) > 1 else None)
    tick_values = sorted(at_risk["time"].unique().tolist()) if len(at_risk) else None
    x_axis = alt.Axis(values=tick_values, title=time_label, grid=True)
    y_axis = alt.Axis(format="%", title=y_label, values=[0, 0.25, 0.5, 0.75, 1])
    y_scale = alt.Scale(domain=[0, 1])

    base = alt.Chart().encode(color=colour)  # the curves' data on the layer (a shared frame on each layer is hashed)
    layers = []
    if show_bands:
        layers.append(
            base.mark_area(interpolate="step-after", opacity=0.15).encode(
                x=alt.X("time:Q", scale=x_scale, axis=x_axis),
                y=alt.Y("lower:Q", scale=y_scale, axis=y_axis),
                y2=alt.Y2("upper:Q"),
            )
        )
    tooltip = [
        alt.Tooltip("group:N", title="Group"),
        alt.Tooltip("time:Q", title=time_label, format=".2f"),
        alt.Tooltip("survival:Q", title="S(t)", format=".1%"),
        alt.Tooltip("lower:Q", title="95% CI lower", format=".1%"),
        alt.Tooltip("upper:Q", title="95% CI upper", format=".1%"),
    ]
    layers.append(
        base.mark_line(interpolate="step-after", strokeWidth=3).encode(
            x=alt.X("time:Q", scale=x_scale, axis=x_axis),
            y=alt.Y("survival:Q", scale=y_scale, axis=y_axis),
            tooltip=tooltip,
        )
    )
    if len(censors):
        layers.append(
            alt.Chart(censors).mark_point(shape="cross", size=180, filled=True, opacity=1).encode(
                x=alt.X("time:Q", scale=x_scale),
                y=alt.Y("survival:Q", scale=y_scale),
                color=colour,
                tooltip=[alt.Tooltip("group:N", title="Group"),
                         alt.Tooltip("time:Q", title=f"Censored at ({time_label})", format=".2f")],
            )
        )
    plot = alt.layer(*layers, data=curves).properties(width=width, height=400)
    if not with_risk_table:
        return plot

    # the count at time 0 is centred on the axis: leave room for half of its digits (100000 at risk is wide)
    digits = len(f"{int(at_risk['n_risk'].max()):,}") if len(at_risk) else 1
    label_padding = max(18, 8 + 5 * digits)
    rows, row_order, risk_title = at_risk.assign(row=at_risk["group"], value=at_risk["n_risk"]), list(groups), \
        "Number at risk"
    if risk_table == "kmunicate":
        measures = {"n_risk": "at risk", "events": "events", "censored": "censored"}
        rows = pd.concat([at_risk.assign(row=at_risk["group"].astype(str) + " · " + label, value=at_risk[column])
                          for column, label in measures.items()], ignore_index=True)
        row_order = [f"{group} · {label}" for group in groups for label in measures.values()]
        risk_title = "Number at risk, and events and censored up to each time (KMunicate)"
    risk = alt.Chart(rows).mark_text(fontSize=LABEL_SIZE).encode(
        x=alt.X("time:Q", scale=x_scale, axis=None),
        y=alt.Y("row:N", sort=row_order, title=None,
                axis=alt.Axis(domain=False, ticks=False, labelLimit=260, labelPadding=label_padding)),
        text=alt.Text("value:Q", format=",d"),  # 100,000 at risk, not 100000
        color=alt.Color("group:N", scale=group_colour_scale(groups)),
    ).properties(width=width, height=alt.Step(26 if risk_table != "kmunicate" else 20),
                 title=alt.TitleParams(risk_title, fontSize=LABEL_SIZE, fontWeight="normal"))
    return alt.vconcat(plot, risk, spacing=14, resolve=resolved(x="shared", color="shared"))
