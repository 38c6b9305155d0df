"""Download payloads: injection-safe CSV, PNG and SVG of Altair charts (pure, no streamlit)."""
from __future__ import annotations

import re
from typing import NamedTuple

import altair as alt
import pandas as pd
import vl_convert

#: A cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PNG_SCALE = 2.0


def neutralise_cell(value: object) -> object:
    """Prefix an apostrophe to text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with BOM, for Excel) of ``frame`` with formula injection neutralised.

    Text cells and column names starting with ``= + - @`` (or tab / carriage
    return) get a leading apostrophe; numbers are written as numbers.
    """
    safe = frame.copy()
    safe.columns = [neutralise_cell(str(column)) for column in safe.columns]
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]) or pd.api.types.is_bool_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise_cell)
    return safe.to_csv(index=False).encode("utf-8-sig")


_NUMBER = r"-?\d[\d,]*(?:\.\d+)?"
#: '60.0% (14.7–94.7)', '2.25 (1.80–NR)', '0.20 (0.06–0.70)': an estimate with its CI.
_ESTIMATE_CI = re.compile(rf"^({_NUMBER}|NR)%? \(({_NUMBER}|NR)%?\s*[–-]\s*({_NUMBER}|NR)%?\)$")
#: '7/28': a count of a denominator.
_COUNT = re.compile(r"^(\d[\d,]*)/(\d[\d,]*)$")
#: A number printed as text: '28', '0.012', '1,234'.
_PLAIN = re.compile(rf"^{_NUMBER}%?$")
#: Cells that mean "no number" in a shown table (not reported, not reached, not estimable).
_NO_NUMBER = {"", "–", "-", "NR", "not estimable", "not reported", "nan", "None"}


def _to_number(text: str) -> float:
    return float("nan") if text in _NO_NUMBER else float(text.replace(",", "").rstrip("%"))


def with_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the numbers of its formatted text columns beside them, for a CSV a spreadsheet or R
    reads as numbers.

    A text column whose every cell (missing ones aside) is an estimate with its CI gets ``<column>:
    estimate``, ``: lower`` and ``: upper`` (in the unit shown, e.g. percent; NR = empty); a column of
    ``k/n`` counts gets ``<column>: n`` and ``: N`` (integers); a column of numbers printed as text becomes
    numbers. The numbers are those shown (rounded as printed); the view's code has them unrounded.
    """
    out = frame.copy()
    for column in list(frame.columns):
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        text = series.map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v).strip())
        present = text[~text.isin(_NO_NUMBER)]
        if present.empty:
            continue
        at = list(out.columns).index(column) + 1
        if present.map(lambda t: bool(_ESTIMATE_CI.match(t))).all():
            parts = text.map(lambda t: _ESTIMATE_CI.match(t).groups() if _ESTIMATE_CI.match(t) else ("", "", ""))
            for offset, name in enumerate(("estimate", "lower", "upper")):
                out.insert(at + offset, f"{column}: {name}", parts.map(lambda g, i=offset: _to_number(g[i])))
        elif present.map(lambda t: bool(_COUNT.match(t))).all():
            parts = text.map(lambda t: _COUNT.match(t).groups() if _COUNT.match(t) else ("", ""))
            for offset, name in enumerate(("n", "N")):
                out.insert(at + offset, f"{column}: {name}",
                           parts.map(lambda g, i=offset: _to_number(g[i])).astype("Int64"))
        elif present.map(lambda t: bool(_PLAIN.match(t))).all() and not present.str.endswith("%").any():
            numbers = text.map(_to_number)
            whole = numbers.dropna()
            out[column] = numbers.astype("Int64") if len(whole) and (whole == whole.round()).all() \
                and not present.str.contains(r"\.").any() else numbers
    return out


def chart_spec(chart: alt.TopLevelMixin) -> str:
    """Vega-Lite JSON of ``chart`` with the house theme merged in."""
    return chart.to_json()


def chart_png(chart: alt.TopLevelMixin, scale: float = PNG_SCALE) -> bytes:
    """PNG of ``chart`` rendered by vl-convert (``scale`` 2 for slides)."""
    return bytes(vl_convert.vegalite_to_png(chart_spec(chart), scale=scale))


#: Keys of a Vega-Lite spec holding a font size (config, marks, titles, axes, legends, headers).
_FONT_KEY = "fontsize"
#: A slide chart is widened at most this much towards the slide's shape.
MAX_WIDEN = 1.8
#: Fonts of a slide chart are scaled at most this much (a taller chart than a slide holds stays smaller).
MAX_FONT_SCALE = 2.5
#: Fixed plot heights of a slide chart are lowered at most to this fraction (for a slide's wide shape).
MIN_HEIGHT_SCALE = 0.6


class SlideChart(NamedTuple):
    """A chart rendered for a slide."""

    png: bytes
    font_scale: float
    smallest_pt: float


def _font_sizes(node: object) -> list[float]:
    """Every font size in a Vega-Lite spec (dict/list tree)."""
    found: list[float] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key.lower().endswith(_FONT_KEY) and isinstance(value, (int, float)) and not isinstance(value, bool):
                found.append(float(value))
            else:
                found.extend(_font_sizes(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_font_sizes(item))
    return found


def _scaled(node: object, font: float, width: float, row: float = 0.0, height: float = 1.0) -> object:
    """A copy of a spec tree with every font size times ``font``, every fixed view width times ``width`` and
    height times ``height``, and each band step at least ``row`` pixels (rows of text keep their line)."""
    if isinstance(node, dict):
        out = {}
        mark = node.get("mark")
        text_view = mark == "text" or (isinstance(mark, dict) and mark.get("type") == "text")
        for key, value in node.items():
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if number and key.lower().endswith(_FONT_KEY):
                out[key] = round(value * font, 2)
            elif number and key == "width":  # a panel of text (beside a forest plot) grows with its font
                out[key] = round(value * width * (font if text_view else 1.0), 1)
            elif number and key == "height":
                out[key] = round(value * height, 1)
            elif number and (key.lower().endswith("limit") or key == "labelPadding"):  # room for the bigger text
                out[key] = round(value * font, 1)  # (a risk table's first count clears its row label)
            elif number and key == "step":  # rows of text (risk table, forest plot) hold their bigger font
                out[key] = round(max(value, row), 1)
            elif key in ("data", "datasets"):
                out[key] = value
            else:
                out[key] = _scaled(value, font, width, row, height)
        return out
    if isinstance(node, list):
        return [_scaled(item, font, width, row, height) for item in node]
    return node


def slide_chart_png(chart: alt.TopLevelMixin, box_w_in: float, box_h_in: float, min_pt: float = 14.0,
                    scale: float = PNG_SCALE) -> "SlideChart":
    """PNG of ``chart`` for a slide box of ``box_w_in`` x ``box_h_in`` inches, the factor its font sizes
    were multiplied by, and its smallest text in points at the size the slide shows it (below ``min_pt``
    only for a chart taller than a slide holds at that size).

    A chart narrower than the box's shape is widened (its fixed widths, at most :data:`MAX_WIDEN` times), then
    every font size is scaled so that the smallest text (tick labels included) is at least ``min_pt`` once
    the picture is fitted in the box (a few renders: bigger labels enlarge the picture).
    """
    import json

    spec = json.loads(chart_spec(chart))
    sizes = _font_sizes(spec) or [11.0]  # Vega's default label size when none is set
    smallest = min(sizes)
    box_ratio = box_w_in / box_h_in
    w, h = _svg_size(spec)
    # towards the box's shape: wider (at most MAX_WIDEN) and, for a tall chart, fixed heights lower
    ratio = box_ratio / (w / h)
    widen = min(max(ratio, 1.0), MAX_WIDEN)
    lower = max(min(1.0, widen / ratio), MIN_HEIGHT_SCALE)

    def scaled(font: float, widen: float) -> dict:
        return _scaled(spec, font, widen, row=smallest * font * 1.2, height=lower)

    font, tried = 1.0, []
    for _ in range(8):
        w, h = _svg_size(scaled(font, widen))
        shown = smallest * font * min(box_w_in * 72 / w, box_h_in * 72 / h)
        readable = shown >= min_pt - 1e-6
        fill = min(w / h, box_ratio) / box_ratio  # 1 = the chart uses the box's whole width
        # the best: readable and filling the width most; else the largest text reached
        tried.append(((readable, fill if readable else shown), shown, font, widen))
        if readable and fill > 0.98:
            break
        if not readable:
            if font >= MAX_FONT_SCALE and widen <= 1.0:
                break  # text rows (risk table) grow with the font: a chart taller than the slide stops here
            font = min(font * min_pt * 1.04 / shown, MAX_FONT_SCALE)
        # keep the chart's shape near the box's: wider while the height limits it, narrower when the width does
        widen = min(max(widen * box_ratio / (w / h), 1.0), MAX_WIDEN)
    _, shown, font, widen = max(tried, key=lambda t: t[0])
    return SlideChart(bytes(vl_convert.vegalite_to_png(scaled(font, widen), scale=scale)), font, shown)


def _svg_size(spec: dict) -> tuple[float, float]:
    """Width and height in CSS pixels of the rendered spec (from its SVG, cheaper than a PNG)."""
    svg = vl_convert.vegalite_to_svg(spec)
    match = re.search(r'<svg[^>]*?width="([0-9.]+)"[^>]*?height="([0-9.]+)"', svg)
    return float(match.group(1)), float(match.group(2))


def _png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def chart_svg(chart: alt.TopLevelMixin) -> bytes:
    """SVG of ``chart`` rendered by vl-convert."""
    return vl_convert.vegalite_to_svg(chart_spec(chart)).encode("utf-8")


def safe_file_stem(text: str) -> str:
    """A file name stem made of letters, digits, '-' and '_'."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower()
    return stem or "download"
