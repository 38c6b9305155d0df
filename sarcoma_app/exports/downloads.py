"""Download payloads: injection-safe CSV, PNG and SVG of Altair charts (pure, no streamlit)."""
from __future__ import annotations

import re

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


def chart_spec(chart: alt.TopLevelMixin) -> str:
    """Vega-Lite JSON of ``chart`` with the house theme merged in."""
    return chart.to_json()


def chart_png(chart: alt.TopLevelMixin, scale: float = PNG_SCALE) -> bytes:
    """PNG of ``chart`` rendered by vl-convert (``scale`` 2 for slides)."""
    return bytes(vl_convert.vegalite_to_png(chart_spec(chart), scale=scale))


def chart_svg(chart: alt.TopLevelMixin) -> bytes:
    """SVG of ``chart`` rendered by vl-convert."""
    return vl_convert.vegalite_to_svg(chart_spec(chart)).encode("utf-8")


def safe_file_stem(text: str) -> str:
    """A file name stem made of letters, digits, '-' and '_'."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower()
    return stem or "download"
