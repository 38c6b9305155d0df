"""Chart functions: valid specs, the house theme, fixed colours, PNG/SVG export, safe CSV."""
from __future__ import annotations

import csv
import io
import math
import re

import altair as alt
import numpy as np
import pandas as pd
import pytest

import charts
from analysis.survival import kaplan_meier_by_group
from charts.theme import RESPONSE_COLOURS, RESPONSE_ORDER, THEME_NAME
from sarcoma_app.views import prepare
from sarcoma_app.exports.downloads import chart_png, chart_svg, csv_bytes, neutralise_cell, safe_file_stem


def svg_texts(chart: alt.TopLevelMixin) -> list[str]:
    """Text drawn in the SVG export (labels, titles, legends)."""
    svg = chart_svg(chart).decode()
    return [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)]


def test_house_theme_is_registered_and_active():
    assert alt.theme.active == THEME_NAME
    config = alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q").to_dict()["config"]
    assert config["axis"]["labelFontSize"] >= 14  # readable on a tumour-board screen
    # every family name with a space or a digit is quoted, or SVG renderers drop all text
    for family in config["font"].split(","):
        family = family.strip()
        assert family.startswith("'") or re.fullmatch(r"[A-Za-z-]+", family), family


def response_counts() -> pd.DataFrame:
    return pd.DataFrame({
        "study": ["Study A", "Study A", "Study A", "Study B", "Study B"],
        "histology": ["Leiomyosarcoma", "Leiomyosarcoma", "Angiosarcoma", "Leiomyosarcoma", "Osteosarcoma"],
        "response": ["PR", "PD", "CR", "SD", "NE"],
        "n": [1, 2, 1, 4, 1],
    })


def test_best_response_bars_give_each_study_its_own_rows():
    texts = svg_texts(charts.best_response_bars(response_counts()))
    # row labels carry the histology total per study: a panel showing another study's rows would repeat them
    assert texts.count("Leiomyosarcoma (3)") == 1
    assert texts.count("Leiomyosarcoma (4)") == 1
    assert texts.count("Angiosarcoma (1)") == 1 and texts.count("Osteosarcoma (1)") == 1
    assert {"Study A", "Study B"} <= set(texts)


def test_best_response_bars_print_only_counts_that_fit_their_segment():
    counts = pd.DataFrame({"study": "Registry", "histology": ["Leiomyosarcoma"] * 3 + ["Angiosarcoma"],
                           "response": ["PR", "SD", "PD", "SD"], "n": [84, 4500, 1670, 996]})
    spec = charts.best_response_bars(counts).to_dict()
    rows = spec["datasets"][spec["data"]["name"]] if "name" in spec.get("data", {}) else next(
        iter(spec["datasets"].values()))
    labels = {(row["histology"], row["response"]): row["label"] for row in rows}
    assert labels[("Leiomyosarcoma", "SD")] == "4,500" and labels[("Angiosarcoma", "SD")] == "996"
    assert labels[("Leiomyosarcoma", "PR")] == ""  # 84 of 6,254 is ~10 px wide: no room for two digits
    texts = svg_texts(charts.best_response_bars(response_counts()))
    assert texts.count("4") >= 1 and texts.count("2") >= 1  # small cohorts keep every count


def test_response_colours_are_fixed_and_colour_blind_safe():
    spec = charts.best_response_bars(response_counts()).to_dict()
    scales = [layer["encoding"]["color"]["scale"] for layer in spec["spec"]["layer"]
              if "scale" in layer["encoding"].get("color", {}) and layer["encoding"]["color"]["scale"]]
    assert scales[0]["domain"] == list(RESPONSE_ORDER)
    assert scales[0]["range"] == [RESPONSE_COLOURS[r] for r in RESPONSE_ORDER]
    assert len(set(RESPONSE_COLOURS.values())) == len(RESPONSE_ORDER)


def test_single_study_bars_are_not_faceted():
    counts = response_counts()
    spec = charts.best_response_bars(counts[counts["study"] == "Study A"]).to_dict()
    assert "facet" not in spec and "layer" in spec


def km_inputs(events: list[int] | None = None):
    durations = np.array([1.0, 2.0, 2.5, 3.0, 4.0, 6.0, 1.5, 2.2, 5.0, 8.0])
    events = np.array(events if events is not None else [1, 1, 0, 1, 1, 0, 1, 1, 0, 1])
    groups = np.array(["a"] * 6 + ["b"] * 4)
    result = kaplan_meier_by_group(durations, events, groups)
    grid = prepare.risk_grid(durations.max())
    return (prepare.km_curve_frame(result.fits), prepare.km_censor_frame(result.fits),
            prepare.km_risk_frame(result.fits, grid), [str(g) for g in result.fits])


def test_km_plot_has_steps_bands_censor_marks_and_risk_table():
    curves, censors, at_risk, groups = km_inputs()
    chart = charts.kaplan_meier_plot(curves, censors, at_risk, groups)
    spec = chart.to_dict()
    plot, risk = spec["vconcat"]
    marks = [layer["mark"]["type"] for layer in plot["layer"]]
    assert marks == ["area", "line", "point"]
    assert all(layer["mark"].get("interpolate") == "step-after" for layer in plot["layer"][:2])
    assert risk["mark"]["type"] == "text"
    texts = svg_texts(chart)
    assert "Number at risk" in texts
    assert {"a", "b"} <= set(texts)  # legend and risk table name the groups
    # the risk table prints the numbers at risk at time 0
    assert "6" in texts and "4" in texts


def test_km_plot_without_censoring_or_with_one_group():
    curves, censors, at_risk, groups = km_inputs(events=[1] * 10)
    assert censors.empty
    spec = charts.kaplan_meier_plot(curves, censors, at_risk, groups).to_dict()
    assert [layer["mark"]["type"] for layer in spec["vconcat"][0]["layer"]] == ["area", "line"]
    single = curves[curves["group"] == "a"]
    chart = charts.kaplan_meier_plot(single, censors, at_risk[at_risk["group"] == "a"], ["a"])
    assert chart_png(chart)[:8] == b"\x89PNG\r\n\x1a\n"


def test_forests_keep_not_estimable_rows():
    rows = pd.DataFrame({"row_label": ["A vs B", "C vs B"], "hr": [0.2, math.nan], "lower": [0.06, math.nan],
                         "upper": [0.7, math.nan], "estimate_text": ["0.20 (0.06–0.70)", "not estimable"]})
    texts = svg_texts(charts.hazard_ratio_forest(rows))
    assert "A vs B" in texts and "C vs B" in texts and "not estimable" in texts
    rates = pd.DataFrame({"row_label": ["x", "y"], "subgroup": ["s", "s"], "rate": [0.25, math.nan],
                          "lower": [0.1, math.nan], "upper": [0.45, math.nan], "n": [28, 0], "k": [7, 0],
                          "estimate_text": ["25.0% (10.7–44.9)", "no patients"]})
    texts = svg_texts(charts.rate_forest(rates, overall=0.25))
    assert "25.0% (10.7–44.9)" in texts and "no patients" in texts


def test_schoenfeld_residual_plot_has_a_panel_per_term_and_a_moving_average():
    x = np.linspace(0, 1, 12)
    residuals = pd.DataFrame({"term": ["Age"] * 12 + ["Site"] * 12, "x": np.r_[x, x],
                              "residual": np.r_[np.arange(12.0), np.full(12, 2.0)]})
    chart = charts.schoenfeld_residual_plot(residuals, {"Age": 0.5, "Site": 1.0}, "1 − KM of the event time")
    texts = svg_texts(chart)
    assert {"Age", "Site", "1 − KM of the event time"} <= set(texts)
    data = chart.data.set_index(["term", "x"])
    assert charts.cox.moving_average_window(12) == 3
    assert charts.cox.moving_average_window(160_000) == 32_000  # a fifth at any size: smooth at scale
    assert data.loc[("Age", x[5]), "trend"] == pytest.approx(5.0)  # mean of residuals 4, 5, 6
    assert data.loc[("Age", x[0]), "trend"] == pytest.approx(0.5)  # window shrinks at the ends
    assert set(data.loc["Site", "reference"]) == {1.0}
    many = pd.DataFrame({"term": ["Age"] * 9000, "x": np.linspace(0, 1, 9000), "residual": np.ones(9000)})
    thinned = charts.schoenfeld_residual_plot(many, {"Age": 1.0}, "time")
    assert len(thinned.data) == charts.cox.MAX_RESIDUAL_POINTS_PER_PANEL and thinned.data["x"].iloc[-1] == 1.0
    assert charts.cox.residual_points_per_panel(1) == 600 and charts.cox.residual_points_per_panel(10) == 400
    assert thinned.to_dict()  # within Altair's 5,000-row limit
    assert chart_png(chart)[:4] == b"\x89PNG"


def test_schoenfeld_residual_plot_does_not_depend_on_the_order_of_tied_events():
    rng = np.random.default_rng(1)
    x = np.repeat(np.linspace(0, 1, 300), 20)  # 20 events tied at each time, as counted tables give them
    residuals = pd.DataFrame({"term": pd.Categorical(np.repeat(["Age", "Site"], x.size)), "x": np.r_[x, x],
                              "residual": rng.normal(size=2 * x.size)})
    chart = charts.schoenfeld_residual_plot(residuals, {"Age": 0.5, "Site": 1.0}, "time", max_points=1000)
    shuffled = charts.schoenfeld_residual_plot(residuals.sample(frac=1.0, random_state=2), {"Age": 0.5, "Site": 1.0},
                                               "time", max_points=1000)
    pd.testing.assert_frame_equal(shuffled.data, chart.data)
    assert len(chart.data) == 1000 and list(dict.fromkeys(chart.data["term"])) == ["Age", "Site"]  # 500 a panel
    first = chart.data[chart.data["term"] == "Age"]
    assert first["x"].is_monotonic_increasing and first["trend"].between(-1, 1).all()


def test_swimmer_plot_marks_events():
    lanes = pd.DataFrame({"patient": ["P1", "P2"], "duration": [10.0, 4.0], "response": ["PR", "PD"]})
    markers = pd.DataFrame({"patient": ["P1", "P2", "P2"], "time": [10.0, 4.0, 4.0],
                            "marker": ["ongoing at last report", "progression", "died"]})
    chart = charts.swimmer_plot(lanes, markers, "Cycles (last reported)")
    texts = svg_texts(chart)
    assert "Cycles (last reported)" in texts
    assert {"ongoing at last report", "progression", "died"} <= set(texts)


def test_adverse_event_bars_leave_out_unreported_cells():
    counts = pd.DataFrame({"panel": ["S"] * 3, "term": ["Rash", "Rash", "Fever"], "grade": ["1-2", "3-4", "3-4"],
                           "value": [4.0, math.nan, 1.0]})
    chart = charts.adverse_event_bars(counts)
    assert len(chart.data) == 2
    assert chart_png(chart)[:4] == b"\x89PNG"


def test_png_and_svg_exports():
    chart = charts.best_response_bars(response_counts())
    png = chart_png(chart)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000
    svg = chart_svg(chart).decode()
    assert svg.lstrip().startswith("<svg") and "<text" in svg


@pytest.mark.parametrize("cell", ["=1+1", "+41", "-2", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\")"])
def test_formula_cells_are_neutralised(cell):
    assert neutralise_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Angiosarcoma", "25.0% (10.7–44.9)", "", " =1", 3, -2.5, None])
def test_other_cells_are_left_alone(cell):
    assert neutralise_cell(cell) == cell


def test_csv_bytes_neutralises_text_but_keeps_numbers():
    frame = pd.DataFrame({"=evil": ["=cmd|' /C calc'!A0", "ok", "-1"], "value": [-1.5, 2.0, 3.0]})
    raw = csv_bytes(frame)
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["'=evil", "value"]
    assert rows[1] == ["'=cmd|' /C calc'!A0", "-1.5"]
    assert rows[3] == ["'-1", "3.0"]


def test_file_stems_are_safe():
    assert safe_file_stem("km-pfs-by-histology_group") == "km-pfs-by-histology_group"
    assert safe_file_stem("../../etc/passwd") == "etc-passwd"
    assert safe_file_stem("***") == "download"


@pytest.mark.parametrize("denominators, expected", [
    ([3, 7, 12, 28], [3, 12, 28]), ([3000, 45_000, 100_000], [3000, 45_000, 100_000]), ([1], [1]), ([6, 7], [6, 7]),
    ([5, 5, 28, 28, 9], [5, 9, 28]),
])
def test_forest_size_legend_shows_denominators_of_the_data(denominators, expected):
    from charts.response import size_legend_values

    assert size_legend_values(pd.Series(denominators)) == expected
    rates = pd.DataFrame({"row_label": [f"level {i}" for i in range(len(denominators))], "subgroup": "s",
                          "rate": 0.3, "lower": 0.1, "upper": 0.5, "n": denominators, "k": 1, "estimate_text": "x"})
    spec = charts.rate_forest(rates).to_dict()
    legends = [layer["encoding"]["size"]["legend"]["values"] for layer in spec["hconcat"][0]["layer"]
               if "size" in layer.get("encoding", {})]
    assert legends == [expected]


def test_response_axis_of_a_large_cohort_has_separated_labels_that_do_not_collide():
    """100,000 patients: axis labels '80,000', never '80009000' (collided labels without separators)."""
    counts = pd.DataFrame({"study": "Registry", "histology": ["Leiomyosarcoma", "Leiomyosarcoma", "Angiosarcoma"],
                           "response": ["PR", "PD", "SD"], "n": [30_000, 60_000, 10_000]})
    texts = svg_texts(charts.best_response_bars(counts))
    ticks = [t for t in texts if t.replace(",", "").isdigit()]
    assert ticks and all(int(t.replace(",", "")) < 1000 or "," in t for t in ticks)
    assert "Leiomyosarcoma (90,000)" in texts
    axis = charts.best_response_bars(counts).to_dict()["layer"][0]["encoding"]["x"]["axis"]
    assert axis["format"] == ",d" and axis["labelOverlap"]  # labels that would touch are dropped, not overlaid


def test_hazard_ratio_forest_names_the_sides_and_keeps_its_text_inside():
    rows = pd.DataFrame({"row_label": ["Angiosarcoma vs other subtypes", "ECOG 1 or more vs 0"], "hr": [0.2, 1.5],
                         "lower": [0.06, 0.7], "upper": [0.7, 3.1],
                         "estimate_text": ["0.20 (0.06–0.70) p 0.012 · 12,345 pts, 10,001 ev", "1.50 (0.70–3.10) p 0.3 · 1 pt, 1 ev"]})
    chart = charts.hazard_ratio_forest(rows, outcome="PFS")
    texts = svg_texts(chart)
    assert "← longer PFS" in texts and "shorter PFS →" in texts
    text_panel = chart.to_dict()["hconcat"][1]
    assert text_panel["width"] >= len(rows["estimate_text"].iloc[0]) * 8
    # the longer text takes its room from the plot: together no wider than short texts and the full plot
    short = charts.hazard_ratio_forest(rows.assign(estimate_text=["0.20 (0.06–0.70)", "1.50"]), outcome="PFS")
    plot, short_plot = chart.to_dict()["hconcat"][0], short.to_dict()["hconcat"][0]
    assert short_plot["width"] == 420 and plot["width"] == 260  # 405 px of text: the plot at its narrowest
    medium = charts.hazard_ratio_forest(rows.assign(estimate_text=["0.20 (0.06–0.70) p 0.012 · 12,345 pts", "1"]))
    medium_plot, medium_text = (part["width"] for part in medium.to_dict()["hconcat"])
    assert medium_plot + medium_text == 420 + 240 and medium_plot < 420


def test_rate_forest_leaves_room_for_a_square_at_zero_or_one():
    rates = pd.DataFrame({"row_label": ["ORR", "DCR"], "subgroup": "s", "rate": [0.0, 1.0], "lower": [0.0, 0.6],
                          "upper": [0.8, 1.0], "n": [2, 7], "k": [0, 7], "estimate_text": ["0.0%", "100.0%"]})
    layer = charts.rate_forest(rates).to_dict()["hconcat"][0]["layer"][0]
    low, high = layer["encoding"]["x"]["scale"]["domain"]
    assert low < 0 and high > 1  # the squares at 0% and 100% do not sit on the row labels or the edge
    assert layer["encoding"]["x"]["axis"]["values"] == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
