"""Tumour-board deck: slides as data, PPTX and self-contained HTML built from them (pure, no streamlit).

A :class:`SlideSpec` is one view of the app (a chart as PNG bytes and/or its
table, and the footnote facts: filters, n, methods, data source). The
Streamlit glue (:mod:`sarcoma_app.render.tools`) collects them in the session;
:func:`build_pptx` and :func:`build_html` turn a list of them into files.

* PPTX (python-pptx): one 16:9 slide per view; the chart as a picture, the
  table as a native, editable PowerPoint table (never an image), the
  footnote in its own text box (shape name ``Footnote``) and in the notes.
* HTML: one self-contained file (images as base64 ``data:`` URIs, tables as
  HTML), every piece of text escaped.
"""
from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass, field, replace
from datetime import date

import pandas as pd

from sarcoma_app.limits import LIMITS, MAX_DECK_SLIDES
from sarcoma_app.sources.filter_sql import DIMENSIONS
from sarcoma_app.text import (
    CI_METHOD_LABELS, CONF_TYPE_LABELS, DENOMINATOR_LABELS, TIES_LABELS, option_label,
)
from sarcoma_app.viewstate.url_state import FilterState, MethodState

MISSING_TEXT = "–"
#: Charts are rendered at 2x (sarcoma_app.exports.downloads.PNG_SCALE); the HTML report shows them at 1x size.
PNG_PIXEL_RATIO = 2
MEDIAN_RULE = "median by R's print.survfit rule (midpoint where S(t) = 0.5 over an interval; NR = not reached)"

# Slide geometry (16:9), inches.
SLIDE_WIDTH_IN, SLIDE_HEIGHT_IN = 13.333, 7.5
MARGIN_IN = 0.4
TITLE_TOP_IN, TITLE_HEIGHT_IN = 0.25, 0.8
CONTENT_TOP_IN = 1.15
HEADER_FILL = "1F3A5F"
STRIPE_FILL = "EEF3F8"


@dataclass(frozen=True, eq=False)
class SlideSpec:
    """One view of the app, ready for a slide.

    Attributes
    ----------
    title : str
        Slide title (the view's heading).
    page : str
        Page the view comes from.
    chart_png : bytes, optional
        The chart rendered as PNG.
    table : pandas.DataFrame, optional
        The view's table as displayed (text cells).
    filters, n, methods, source : str
        Footnote facts: active filters, patients (and events) behind the
        numbers, statistical methods, data source.
    caption : str
        The view's caption (what the chart shows), plain text.
    key : str
        Identity of the view and its state (page, view, filters, methods):
        the same view added twice has the same key.
    origin : str
        The data the slide was built from (``"bundled"``, a simulated source,
        or ``"uploaded:<token>"`` of one upload): removing an upload removes
        its slides (:func:`without_origin`).
    tables : tuple of (str, pandas.DataFrame)
        Further tables, each on slides of its own headed ``<title> — <name>``
        (e.g. the numbers at risk of a KM plot with many curves).
    """

    title: str
    page: str = ""
    chart_png: bytes | None = None
    table: pd.DataFrame | None = None
    filters: str = ""
    n: str = ""
    methods: str = ""
    source: str = ""
    caption: str = ""
    key: str = ""
    extra: dict = field(default_factory=dict)
    origin: str = ""
    tables: tuple[tuple[str, pd.DataFrame], ...] = ()

    def footnote_parts(self) -> list[tuple[str, str]]:
        """(label, text) pairs of the footnote, in order, empty ones left out."""
        parts = [("Filters", self.filters), ("n", self.n), ("Methods", self.methods), ("Data", self.source)]
        return [(label, text) for label, text in parts if text]

    def footnote(self) -> str:
        """The footnote as one line."""
        return " · ".join(f"{label}: {text}" for label, text in self.footnote_parts())


# --------------------------------------------------------------------------- #
# Footnote text
# --------------------------------------------------------------------------- #
def describe_filters(filters: FilterState) -> str:
    """Readable active filters: 'Pazopanib co-treatment: yes; Study: …' or 'none (all patients)'."""
    parts = []
    for dimension in DIMENSIONS:
        chosen = getattr(filters, dimension.name)
        if chosen:
            parts.append(f"{dimension.label}: {', '.join(option_label(dimension.name, v) for v in chosen)}")
    if filters.evaluable_only:
        parts.append("evaluable for response only")
    return "; ".join(parts) if parts else "none (all patients)"


#: The method families a view may use, for its footnote.
METHOD_FAMILIES = ("rates", "km", "cox")
#: View key prefix -> the methods its numbers use (first match wins); other views list every family.
VIEW_METHODS = (("overview", ("rates", "km")), ("response_measurements", ()), ("response_bars", ()),
                ("response", ("rates",)), ("subtype_km", ("km",)), ("subtype_bars", ()), ("subtype", ("rates", "km")),
                ("survival", ("km",)), ("cox", ("cox",)))


def methods_of_view(key: str) -> tuple[str, ...]:
    """The method families behind view ``key`` (its footnote lists only those)."""
    return next((uses for prefix, uses in VIEW_METHODS if key.startswith(prefix)), METHOD_FAMILIES)


def describe_methods(methods: MethodState, uses: tuple[str, ...] = METHOD_FAMILIES) -> str:
    """The methods of ``uses`` (``rates``: CI method and denominator; ``km``: Kaplan–Meier CI type, median
    rule and landmarks; ``cox``: ties and Wald CI), or "counts only" when a view uses none."""
    landmarks = ", ".join(f"{t:g}" for t in methods.landmarks) or "none"
    parts = {
        "rates": f"95% CI of rates {CI_METHOD_LABELS[methods.ci]}, denominator "
                 f"{DENOMINATOR_LABELS[methods.denominator]}",
        "km": f"Kaplan–Meier CI {CONF_TYPE_LABELS[methods.conf_type]}, {MEDIAN_RULE}, landmarks {landmarks} months",
        "cox": f"Cox ties {TIES_LABELS[methods.ties]}, Wald CI",
    }
    return "; ".join(parts[use] for use in uses) if uses else "counts of patients as recorded (no estimate)"


# --------------------------------------------------------------------------- #
# Tables
# --------------------------------------------------------------------------- #
def cell_text(value: object) -> str:
    """Text of one table cell ('–' for a missing value)."""
    if value is None or value is pd.NA:
        return MISSING_TEXT
    if isinstance(value, float):
        if math.isnan(value):
            return MISSING_TEXT
        return f"{value:g}"
    return str(value)


def table_cells(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Header and body of ``frame`` as text."""
    header = [str(column) for column in frame.columns]
    body = [[cell_text(value) for value in row] for row in frame.itertuples(index=False, name=None)]
    return header, body


# --------------------------------------------------------------------------- #
# PPTX
# --------------------------------------------------------------------------- #
def png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels of a PNG (from its IHDR chunk)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _fit(image_w: float, image_h: float, box_w: float, box_h: float) -> tuple[float, float]:
    """Largest size with the image's aspect ratio inside the box."""
    scale = min(box_w / image_w, box_h / image_h)
    return image_w * scale, image_h * scale


#: Table font sizes tried, largest first: never below 14 pt (read from the back of a tumour-board room).
FONT_SIZES = (16, 14)
#: Smallest text anywhere on a slide (tables, captions, footnotes, the chart's tick labels), points.
MIN_TEXT_PT = 14
TITLE_PT = 28
NOTE_HEIGHT_IN = 0.3
CELL_MARGIN_IN = 0.05
GAP_IN = 0.15
#: A view's table is spread over at most this many slides (the HTML report has the rest).
MAX_TABLE_SLIDES = 12
#: Average character width as a fraction of the font size, for wrapping estimates (generous: LibreOffice
#: draws Calibri as the wider Carlito or DejaVu Sans).
CHAR_EM = 0.6


def _line_height(size: float) -> float:
    """Height in inches of one line of table text at ``size`` points (with the cell's margins)."""
    return size * 1.25 / 72


def _minimum_width(title: str, cells: list[str], size: float) -> float:
    """Narrowest a column may be: its header's longest word (bold) and cells of up to 18 characters."""
    char = size * CHAR_EM / 72
    longest_cell = max([len(cell) for cell in cells] + [0])
    longest_word = max((len(word) for word in title.split()), default=1)
    return max((longest_word + 1) * char * 1.15, min(longest_cell, 18) * char) + 2 * CELL_MARGIN_IN


def _column_widths(header: list[str], body: list[list[str]], size: float, width: float) -> list[float]:
    """Column widths (inches) summing to ``width``.

    Each column wants room for its longest cell (capped at 36 characters);
    its minimum is the longest word of its (bold) header and cells of up to
    18 characters, so headers wrap between words and short values do not
    wrap. When the wants exceed ``width``, only the room above the minimum
    is shrunk.
    """
    char = size * CHAR_EM / 72
    minimums, wants = [], []
    for index, title in enumerate(header):
        cells = [row[index] for row in body]
        minimum = _minimum_width(title, cells, size)
        minimums.append(minimum)
        longest_cell = max([len(cell) for cell in cells] + [0])
        wants.append(max(min(max(longest_cell, len(title)), 36) * char + 2 * CELL_MARGIN_IN, minimum))
    if sum(wants) <= width:
        return [width * want / sum(wants) for want in wants]
    if sum(minimums) >= width:
        return [width * minimum / sum(minimums) for minimum in minimums]
    extra = [want - minimum for want, minimum in zip(wants, minimums)]
    scale = (width - sum(minimums)) / sum(extra)
    return [minimum + room * scale for minimum, room in zip(minimums, extra)]


def _lines(text: str, width: float, size: float) -> int:
    """Estimated number of wrapped lines of ``text`` in a box ``width`` inches wide (2 cell margins): words
    wrap whole; a word longer than a line breaks."""
    per_line = max(int((width - 2 * CELL_MARGIN_IN) / (size * CHAR_EM / 72)), 1)
    lines = 0
    for part in text.split("\n"):
        lines += 1
        used = 0
        for word in part.split():
            need = len(word) + (1 if used else 0)
            if used and used + need > per_line:
                lines += 1
                used, need = 0, len(word)
            if need > per_line:  # broken inside the word
                lines += (need - 1) // per_line
                need = need % per_line or per_line
            used += need
    return max(lines, 1)


@dataclass(frozen=True)
class TableFit:
    """How (a part of) a table is drawn on a slide: font size, column widths, row heights (header first),
    the body rows and columns shown, and the note under it."""

    size: int
    widths: list[float]
    heights: list[float]
    rows: tuple[int, int]
    columns: tuple[int, ...]
    note: str = ""

    @property
    def n_body_rows(self) -> int:
        return self.rows[1] - self.rows[0]

    @property
    def height(self) -> float:
        return sum(self.heights) + (NOTE_HEIGHT_IN if self.note else 0)


def column_groups(header: list[str], body: list[list[str]], width: float, size: int = MIN_TEXT_PT) -> list[tuple[int, ...]]:
    """Columns per slide: as many as fit ``width`` at ``size`` pt, the first (label) column repeated on each."""
    minimums = [_minimum_width(title, [row[i] for row in body], size) for i, title in enumerate(header)]
    groups: list[list[int]] = [[0]]
    for index in range(1, len(header)):
        if len(groups[-1]) > 1 and sum(minimums[i] for i in groups[-1]) + minimums[index] > width:
            groups.append([0])
        groups[-1].append(index)
    return [tuple(group) for group in groups]


def fit_table(frame: pd.DataFrame, width: float, height: float) -> list[TableFit]:
    """``frame`` laid out in ``width`` x ``height`` inches, over as many slides as it needs: the largest
    font of :data:`FONT_SIZES` at which it fits one slide, else 14 pt with the rows (and, when too wide,
    the columns) split, the header repeated on each slide. Every row is shown (up to
    :data:`MAX_TABLE_SLIDES` slides)."""
    header, body = table_cells(frame)
    groups = column_groups(header, body, width)
    for size in FONT_SIZES:
        if len(column_groups(header, body, width, size)) > 1:
            continue
        widths = _column_widths(header, body, size, width)
        heights = [max(_lines(cell, w, size) for cell, w in zip(row, widths)) * _line_height(size) + 0.06
                   for row in [header, *body]]
        if sum(heights) <= height:
            return [TableFit(size, widths, heights, (0, len(body)), tuple(range(len(header))))]
    size = MIN_TEXT_PT
    pages: list[TableFit] = []
    for group in groups:
        sub_header = [header[i] for i in group]
        sub_body = [[row[i] for i in group] for row in body]
        widths = _column_widths(sub_header, sub_body, size, width)
        heights = [max(_lines(cell, w, size) for cell, w in zip(row, widths)) * _line_height(size) + 0.06
                   for row in [sub_header, *sub_body]]
        start = 0
        while start < len(body) or (start == 0 and not body):
            used, stop = heights[0], start
            while stop < len(body) and used + heights[stop + 1] + NOTE_HEIGHT_IN <= height:
                used += heights[stop + 1]
                stop += 1
            stop = max(stop, start + 1) if body else 0
            pages.append(TableFit(size, widths, [heights[0], *heights[start + 1: stop + 1]], (start, stop), group))
            if not body:
                break
            start = stop
    shown = pages[:MAX_TABLE_SLIDES]
    notes = [_page_note(frame, fit, len(groups)) for fit in shown]
    if len(pages) > len(shown):
        notes[-1] += f" The table goes on over {len(pages) - len(shown)} more slides: the HTML report has it all."
    return [replace(fit, note=note) for fit, note in zip(shown, notes)]


def _page_note(frame: pd.DataFrame, fit: TableFit, n_groups: int) -> str:
    parts = [f"Rows {fit.rows[0] + 1}–{fit.rows[1]} of {len(frame)}"] if fit.n_body_rows < len(frame) else []
    if n_groups > 1:
        parts.append(f"columns {fit.columns[1] + 1}–{fit.columns[-1] + 1} of {frame.shape[1]}")
    return "; ".join(parts) + "." if parts else ""


def _add_table(slide, frame: pd.DataFrame, left: float, top: float, width: float, fit: TableFit):
    from pptx.dml.color import RGBColor
    from pptx.util import Inches, Pt

    part = frame.iloc[fit.rows[0]: fit.rows[1], list(fit.columns)]
    header, body = table_cells(part)
    n_rows, n_columns = len(body) + 1, len(header)
    shape = slide.shapes.add_table(n_rows, n_columns, Inches(left), Inches(top), Inches(width),
                                   Inches(sum(fit.heights)))
    shape.name = "Table"
    table = shape.table
    for index, column_width in enumerate(fit.widths):
        table.columns[index].width = Inches(column_width)
    for row_index in range(n_rows):
        table.rows[row_index].height = Inches(fit.heights[row_index])
        values = header if row_index == 0 else body[row_index - 1]
        for column_index, value in enumerate(values):
            cell = table.cell(row_index, column_index)
            cell.text = value
            cell.margin_left = cell.margin_right = Inches(CELL_MARGIN_IN)
            cell.margin_top = cell.margin_bottom = Inches(0.03)
            for paragraph in cell.text_frame.paragraphs:
                paragraph.font.size = Pt(fit.size)
                # an empty cell's line height comes from the end-of-paragraph properties (18 pt by default)
                paragraph._p.get_or_add_endParaRPr().set("sz", str(int(fit.size * 100)))
                for run in paragraph.runs:
                    run.font.size = Pt(fit.size)
                    run.font.bold = row_index == 0
                    if row_index == 0:
                        run.font.color.rgb = RGBColor.from_string("FFFFFF")
            cell.fill.solid()
            cell.fill.fore_color.rgb = RGBColor.from_string(
                HEADER_FILL if row_index == 0 else (STRIPE_FILL if row_index % 2 == 0 else "FFFFFF"))
    if fit.note:
        _text_box(slide, "Table note", fit.note, left, top + sum(fit.heights) + 0.02, width,
                  NOTE_HEIGHT_IN - 0.02, italic=True)
    return shape


def _text_box(slide, name: str, text: str, left: float, top: float, width: float, height: float,
              size: int = MIN_TEXT_PT, italic: bool = False):
    from pptx.util import Inches, Pt

    box = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
    box.name = name
    box.text_frame.word_wrap = True
    box.text_frame.text = text
    for paragraph in box.text_frame.paragraphs:
        for run in paragraph.runs:
            run.font.size = Pt(size)
            run.font.italic = italic
    return box


def _text_height(text: str, width: float, size: int = MIN_TEXT_PT) -> float:
    """Height in inches of wrapped ``text`` at ``size`` pt in a text box ``width`` inches wide."""
    return _lines(text, width - 0.2, size) * size * 1.2 / 72 + 0.1 if text else 0.0


def footnote_height(spec: SlideSpec) -> float:
    """Height of the slide's footnote (one paragraph per part, 14 pt)."""
    return _text_height("\n".join(f"{label}: {text}" for label, text in spec.footnote_parts()), CONTENT_WIDTH_IN)


CONTENT_WIDTH_IN = SLIDE_WIDTH_IN - 2 * MARGIN_IN


def content_box(spec: SlideSpec) -> tuple[float, float]:
    """Top and height (inches) of the room between the title (and caption) and the footnote."""
    top = CONTENT_TOP_IN + (_text_height(spec.caption, CONTENT_WIDTH_IN) if spec.caption else 0)
    bottom = SLIDE_HEIGHT_IN - footnote_height(spec) - 0.15
    return top, max(bottom - top, 1.0)


def chart_box(spec: SlideSpec) -> tuple[float, float]:
    """Width and height (inches) a chart of ``spec`` gets on its slide: the whole content area (a table
    that does not fit under the chart goes on slides of its own)."""
    return CONTENT_WIDTH_IN, content_box(spec)[1]


def _add_footnote(slide, spec: SlideSpec) -> None:
    from pptx.dml.color import RGBColor
    from pptx.util import Inches, Pt

    height = footnote_height(spec)
    box = slide.shapes.add_textbox(Inches(MARGIN_IN), Inches(SLIDE_HEIGHT_IN - height - 0.1),
                                   Inches(CONTENT_WIDTH_IN), Inches(height))
    box.name = "Footnote"
    frame = box.text_frame
    frame.word_wrap = True
    for index, (label, text) in enumerate(spec.footnote_parts()):
        paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        bold = paragraph.add_run()
        bold.text = f"{label}: "
        bold.font.bold = True
        plain = paragraph.add_run()
        plain.text = text
        for run in (bold, plain):
            run.font.size = Pt(MIN_TEXT_PT)
            run.font.color.rgb = RGBColor.from_string("444444")


def _new_slide(presentation, spec: SlideSpec, title: str):
    """A slide with its title, caption and footnote; returns (slide, content top, content height)."""
    from pptx.util import Inches, Pt

    slide = presentation.slides.add_slide(presentation.slide_layouts[5])  # "Title Only"
    shape = slide.shapes.title
    shape.left, shape.top = Inches(MARGIN_IN), Inches(TITLE_TOP_IN)
    shape.width, shape.height = Inches(CONTENT_WIDTH_IN), Inches(TITLE_HEIGHT_IN)
    shape.text = title
    size = TITLE_PT if _lines(title, CONTENT_WIDTH_IN, TITLE_PT * 1.1) == 1 else TITLE_PT * 3 // 4  # one line
    for paragraph in shape.text_frame.paragraphs:
        paragraph.alignment = 1  # left
        for run in paragraph.runs:
            run.font.size = Pt(size)
            run.font.bold = True
    if spec.caption:
        _text_box(slide, "Caption", spec.caption, MARGIN_IN, CONTENT_TOP_IN - 0.1, CONTENT_WIDTH_IN,
                  _text_height(spec.caption, CONTENT_WIDTH_IN))
    _add_footnote(slide, spec)
    slide.notes_slide.notes_text_frame.text = "\n".join(f"{label}: {text}" for label, text in spec.footnote_parts())
    top, height = content_box(spec)
    return slide, top, height


#: A table's column of per-row notes. On a slide, notes longer than :data:`NOTE_INLINE_CHARS` are replaced by
#: their numbers and listed on slides of their own, so the table stays compact.
NOTE_COLUMN = "Note"
NOTE_INLINE_CHARS = 30


def split_notes(frame: pd.DataFrame | None) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """``frame`` with its per-row notes (column :data:`NOTE_COLUMN`) replaced by numbers "1", "2", … (a note
    repeated keeps its number; a row without a note stays empty), and the notes as a table ("No.", "Note");
    ``frame`` unchanged and None when it has no note longer than :data:`NOTE_INLINE_CHARS` characters."""
    if frame is None or NOTE_COLUMN not in frame.columns:
        return frame, None
    texts = ["" if text == MISSING_TEXT else text.strip() for text in map(cell_text, frame[NOTE_COLUMN])]
    if max(map(len, texts), default=0) <= NOTE_INLINE_CHARS:
        return frame, None
    numbers = {text: number for number, text in enumerate(dict.fromkeys(t for t in texts if t), start=1)}
    numbered = frame.copy()
    numbered[NOTE_COLUMN] = [str(numbers[text]) if text else "" for text in texts]
    return numbered, pd.DataFrame({"No.": [str(n) for n in numbers.values()], NOTE_COLUMN: list(numbers)})


def slide_tables(spec: SlideSpec) -> tuple[pd.DataFrame | None, list[tuple[str, pd.DataFrame]]]:
    """The slide's main table (long notes numbered) and the tables on slides of their own after it, with
    their names: ``spec.tables``, then the notes."""
    table, notes = split_notes(spec.table)
    return table, [*spec.tables, *([("notes", notes)] if notes is not None else [])]


def _add_slide(presentation, spec: SlideSpec) -> None:
    """The slides of one view: the chart over the whole width, its table under it when the table fits
    there at 14 pt, otherwise on slides of its own (split by rows and columns, header repeated); then each
    further table (:func:`slide_tables`) on slides of its own."""
    table, more = slide_tables(spec)
    has_table = table is not None and not table.empty
    slide, top, height = _new_slide(presentation, spec, spec.title)
    width = CONTENT_WIDTH_IN
    if spec.chart_png:
        image_w, image_h = png_size(spec.chart_png)
        full_width_h = width * image_h / image_w
        room = height - full_width_h - GAP_IN
        under = fit_table(table, width, room) if has_table and room > 0.5 else []
        if len(under) == 1 and not under[0].note and under[0].height <= room:
            _add_picture(slide, spec.chart_png, MARGIN_IN, top, width, full_width_h)
            _add_table(slide, table, MARGIN_IN, top + full_width_h + GAP_IN, width, under[0])
            slide = None
        else:
            _add_picture(slide, spec.chart_png, MARGIN_IN, top, width, height)
            slide = None
            if has_table:
                _table_slides(presentation, spec, table, f"{spec.title} — table")
    elif has_table:
        _table_slides(presentation, spec, table, f"{spec.title} — table", slide)
        slide = None
    for name, frame in more:
        if frame is not None and not frame.empty:
            _table_slides(presentation, spec, frame, f"{spec.title} — {name}", slide)
            slide = None


def _table_slides(presentation, spec: SlideSpec, table: pd.DataFrame, title: str, slide=None) -> None:
    """``table`` over as many slides as it needs, titled ``title (k of n)``; the first page on ``slide``
    (already titled) when given."""
    top, height = content_box(spec)
    pages = fit_table(table, CONTENT_WIDTH_IN, height)
    for number, fit in enumerate(pages, start=1):
        if slide is None:
            suffix = f" ({number} of {len(pages)})" if len(pages) > 1 else ""
            slide, top, height = _new_slide(presentation, spec, f"{title}{suffix}")
        _add_table(slide, table, MARGIN_IN, top, CONTENT_WIDTH_IN, fit)
        slide = None


def with_chart(spec: SlideSpec, chart, fallback=None) -> tuple[SlideSpec, float]:
    """``spec`` with ``chart`` rendered for its slide, and the chart's smallest text in points there.

    The chart's fonts are scaled so that its smallest text is at least :data:`MIN_TEXT_PT` at the size the
    slide shows it (:func:`sarcoma_app.exports.downloads.slide_chart_png`). When it cannot get there and
    the view has a ``fallback`` (:class:`sarcoma_app.views.blocks.SlideFallback`, or a function of no
    arguments returning one: called only then), the slide takes the fallback's chart (or no chart; the
    smallest text is then ``inf``), its table, if any, on slides of its own (the slide's table when it has
    none), and its note, if any, at the end of the caption.
    """
    from sarcoma_app.exports import downloads

    rendered = downloads.slide_chart_png(chart, *chart_box(spec), min_pt=MIN_TEXT_PT)
    if fallback is None or rendered.smallest_pt >= MIN_TEXT_PT - 1e-6:
        return replace(spec, chart_png=rendered.png), rendered.smallest_pt
    if callable(fallback):
        fallback = fallback()
    spec = replace(spec, caption=f"{spec.caption} {fallback.note}".strip(), chart_png=None)
    if fallback.table is not None and spec.table is None:
        spec = replace(spec, table=fallback.table.reset_index(drop=True))
    elif fallback.table is not None:
        spec = replace(spec, tables=(*spec.tables, (fallback.name, fallback.table)))
    if fallback.chart is None:
        return spec, math.inf
    rendered = downloads.slide_chart_png(fallback.chart, *chart_box(spec), min_pt=MIN_TEXT_PT)
    return replace(spec, chart_png=rendered.png), rendered.smallest_pt


def _add_picture(slide, png: bytes, left: float, top: float, box_w: float, box_h: float) -> None:
    from pptx.util import Inches

    image_w, image_h = png_size(png)
    w, h = _fit(image_w, image_h, box_w, box_h)
    picture = slide.shapes.add_picture(io.BytesIO(png), Inches(left + (box_w - w) / 2), Inches(top),
                                       Inches(w), Inches(h))
    picture.name = "Chart"


def build_pptx(slides: list[SlideSpec] | tuple[SlideSpec, ...], title: str = "Tumour board") -> bytes:
    """A 16:9 PowerPoint file with one slide per :class:`SlideSpec`.

    Parameters
    ----------
    slides : sequence of SlideSpec
    title : str
        Document title (file properties).

    Returns
    -------
    bytes
        The .pptx file.
    """
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    presentation.slide_width = Inches(SLIDE_WIDTH_IN)
    presentation.slide_height = Inches(SLIDE_HEIGHT_IN)
    presentation.core_properties.title = title
    presentation.core_properties.author = "Sarcoma response & survival explorer"
    for spec in slides:
        _add_slide(presentation, spec)
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- #
# HTML report
# --------------------------------------------------------------------------- #
REPORT_CSS = """
body { font-family: 'Source Sans Pro', 'Liberation Sans', Arial, sans-serif; color: #222; margin: 2rem auto;
       max-width: 1200px; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.8rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.35rem; border-top: 2px solid #1F3A5F; padding-top: 0.8rem; margin-top: 2.2rem; }
.meta, .page { color: #555; font-size: 0.9rem; }
img { max-width: 100%; height: auto; display: block; margin: 0.8rem 0; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.8rem 0; }
th { background: #1F3A5F; color: white; text-align: left; }
th, td { border: 1px solid #c8d2de; padding: 0.25rem 0.5rem; vertical-align: top; }
tr:nth-child(even) td { background: #EEF3F8; }
.footnote { font-size: 0.85rem; color: #444; border-left: 3px solid #c8d2de; padding-left: 0.6rem; }
.footnote dt { font-weight: bold; display: inline; }
.footnote dd { display: inline; margin: 0; }
.footnote div { margin: 0.15rem 0; }
"""


def _escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def table_html(frame: pd.DataFrame) -> str:
    """The whole table as escaped HTML."""
    header, body = table_cells(frame)
    head = "".join(f"<th>{_escape(value)}</th>" for value in header)
    rows = "".join("<tr>" + "".join(f"<td>{_escape(value)}</td>" for value in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def build_html(slides: list[SlideSpec] | tuple[SlideSpec, ...], title: str = "Tumour board report",
               generated: date | None = None) -> str:
    """A self-contained HTML report with the content of the deck.

    Images are embedded as base64 ``data:`` URIs; tables are HTML; all text
    (titles, cells, footnotes) is escaped, so data such as a histology named
    ``<script>`` is shown, never run.
    """
    day = (generated or date.today()).isoformat()
    sections = []
    for index, spec in enumerate(slides, start=1):
        parts = [f"<section><h2>{index}. {_escape(spec.title)}</h2>"]
        if spec.page:
            parts.append(f"<p class=\"page\">From the {_escape(spec.page)} page</p>")
        if spec.caption:
            parts.append(f"<p>{_escape(spec.caption)}</p>")
        if spec.chart_png:
            encoded = base64.b64encode(spec.chart_png).decode("ascii")
            width = png_size(spec.chart_png)[0] // PNG_PIXEL_RATIO  # shown at its CSS size, sharp on HiDPI
            parts.append(f"<img alt=\"{_escape(spec.title)}\" width=\"{width}\" "
                         f"src=\"data:image/png;base64,{encoded}\">")
        if spec.table is not None and not spec.table.empty:
            parts.append(table_html(spec.table))
        for name, frame in spec.tables:
            parts.append(f"<h3>{_escape(name[:1].upper() + name[1:])}</h3>{table_html(frame)}")
        notes = "".join(f"<div><dt>{_escape(label)}:</dt> <dd>{_escape(text)}</dd></div>"
                        for label, text in spec.footnote_parts())
        parts.append(f"<dl class=\"footnote\">{notes}</dl></section>")
        sections.append("".join(parts))
    body = "\n".join(sections) if sections else "<p>The deck is empty.</p>"
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_escape(title)}</title><style>{REPORT_CSS}</style></head><body>"
            f"<h1>{_escape(title)}</h1><p class=\"meta\">{len(slides)} view(s) · generated {day} by the sarcoma "
            f"response &amp; survival explorer. Numbers are recomputed from the published per-patient data; "
            f"small cohorts, exploratory.</p>\n{body}\n</body></html>\n")


# --------------------------------------------------------------------------- #
# The deck as a list (pure operations used by the session glue)
# --------------------------------------------------------------------------- #
def add(deck: list[SlideSpec], spec: SlideSpec, limit: int = MAX_DECK_SLIDES) -> list[SlideSpec]:
    """``deck`` with ``spec`` appended (oldest dropped beyond ``limit``)."""
    return (list(deck) + [spec])[-limit:]


def move(deck: list[SlideSpec], index: int, offset: int) -> list[SlideSpec]:
    """``deck`` with slide ``index`` moved by ``offset`` (-1 up, +1 down), clamped to the ends."""
    slides = list(deck)
    if not 0 <= index < len(slides):
        return slides
    target = min(max(index + offset, 0), len(slides) - 1)
    slides.insert(target, slides.pop(index))
    return slides


def remove(deck: list[SlideSpec], index: int) -> list[SlideSpec]:
    """``deck`` without slide ``index``."""
    return [spec for position, spec in enumerate(deck) if position != index]


def without_origin(deck: list[SlideSpec], origin: str) -> list[SlideSpec]:
    """The deck without the slides built from ``origin`` (e.g. an upload that was removed)."""
    return [slide for slide in deck if slide.origin != origin]


# --------------------------------------------------------------------------- #
# The deck as a file the user keeps (download, then load again in a new session)
# --------------------------------------------------------------------------- #
DECK_FILE_KIND = "sarcoma-dashboard-deck"
DECK_FILE_VERSION = 1
#: Bounds of a loaded deck file, checked before anything is decoded (the file comes from a visitor).
MAX_DECK_FILE_BYTES = LIMITS.file_mb.value * 1024 * 1024  # as any uploaded file
MAX_FILE_TABLE_ROWS = 1_000
MAX_FILE_TABLE_COLUMNS = 40
MAX_FILE_TEXT = 2_000
MAX_FILE_PNG_BYTES = 4 * 1024 * 1024
#: Further tables of one slide in a deck file (:attr:`SlideSpec.tables`).
MAX_FILE_TABLES = 4
#: Text fields of a slide in the file.
_TEXT_FIELDS = ("title", "page", "filters", "n", "methods", "source", "caption", "key")
#: Origin of a slide loaded from a file (it belongs to no upload of this session).
FILE_ORIGIN = "deck-file"


def deck_file(slides: list[SlideSpec] | tuple[SlideSpec, ...]) -> bytes:
    """The deck as JSON (charts as base64 PNG, tables as text cells), for :func:`read_deck_file`."""
    import json

    records = []
    for slide in slides:
        record = {name: getattr(slide, name) for name in _TEXT_FIELDS}
        record["chart_png"] = base64.b64encode(slide.chart_png).decode("ascii") if slide.chart_png else None
        if slide.table is not None:
            header, body = table_cells(slide.table)
            record["table"] = {"columns": header, "rows": body}
        else:
            record["table"] = None
        record["tables"] = [{"name": name, **dict(zip(("columns", "rows"), table_cells(frame)))}
                            for name, frame in slide.tables]
        records.append(record)
    return json.dumps({"kind": DECK_FILE_KIND, "version": DECK_FILE_VERSION, "slides": records},
                      ensure_ascii=False).encode("utf-8")


def _file_text(value: object, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{what} is not text")
    if len(value) > MAX_FILE_TEXT:
        raise ValueError(f"{what} is longer than {MAX_FILE_TEXT:,} characters")
    return value


def _file_png(value: object) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_FILE_PNG_BYTES * 4 // 3 + 4:
        raise ValueError(f"the chart is not a PNG of at most {MAX_FILE_PNG_BYTES // 2**20} MB")
    png = base64.b64decode(value, validate=True)
    width, height = png_size(png)
    if not (0 < width <= 10_000 and 0 < height <= 10_000):
        raise ValueError("the chart's size is not plausible")
    return png


def _file_table(value: object) -> pd.DataFrame | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("columns"), list) or not isinstance(
            value.get("rows"), list):
        raise ValueError("the table is not columns and rows")
    columns, rows = value["columns"], value["rows"]
    if len(columns) > MAX_FILE_TABLE_COLUMNS or len(rows) > MAX_FILE_TABLE_ROWS:
        raise ValueError(f"the table has more than {MAX_FILE_TABLE_ROWS:,} rows or {MAX_FILE_TABLE_COLUMNS} columns")
    header = [_file_text(c, "a column name") for c in columns]
    if len(set(header)) != len(header):
        raise ValueError("the table repeats a column name")
    body = []
    for row in rows:
        if not isinstance(row, list) or len(row) != len(header):
            raise ValueError("a table row does not match the columns")
        body.append([_file_text(cell, "a table cell") for cell in row])
    return pd.DataFrame(body, columns=header, dtype=object)


def _file_tables(value: object) -> tuple[tuple[str, pd.DataFrame], ...]:
    if value is None:  # files written before slides had further tables
        return ()
    if not isinstance(value, list) or len(value) > MAX_FILE_TABLES:
        raise ValueError(f"its further tables are not a list of at most {MAX_FILE_TABLES}")
    tables = []
    for item in value:
        if not isinstance(item, dict):
            raise ValueError("a further table is not a table")
        tables.append((_file_text(item.get("name"), "a table's name"), _file_table(item)))
    return tuple(tables)


def read_deck_file(data: bytes) -> tuple[list[SlideSpec], list[str]]:
    """Slides of a deck file written by :func:`deck_file`, and what was wrong with it (never raises).

    A slide with a problem is left out and named; the text is kept as text (never interpreted).
    """
    import json

    if len(data) > MAX_DECK_FILE_BYTES:
        return [], [f"The file is larger than {MAX_DECK_FILE_BYTES // 2**20} MB."]
    try:
        content = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return [], ["The file is not a deck file of this app (it is not JSON text)."]
    if not isinstance(content, dict) or content.get("kind") != DECK_FILE_KIND:
        return [], ["The file is not a deck file of this app (download one with “Deck file” under the deck)."]
    if content.get("version") != DECK_FILE_VERSION:
        return [], [f"The deck file is of version {str(content.get('version'))[:20]}; this app reads version "
                    f"{DECK_FILE_VERSION}."]
    records = content.get("slides")
    if not isinstance(records, list):
        return [], ["The deck file has no list of slides."]
    slides, problems = [], []
    if len(records) > MAX_DECK_SLIDES:
        problems.append(f"The file has {len(records):,} slides; the first {MAX_DECK_SLIDES} are loaded.")
    for number, record in enumerate(records[:MAX_DECK_SLIDES], start=1):
        try:
            if not isinstance(record, dict):
                raise ValueError("it is not a slide")
            texts = {name: _file_text(record.get(name), name) for name in _TEXT_FIELDS}
            if not texts["title"].strip():
                raise ValueError("it has no title")
            png, table = _file_png(record.get("chart_png")), _file_table(record.get("table"))
            tables = _file_tables(record.get("tables"))
            if png is None and table is None:
                raise ValueError("it has neither a chart nor a table")
        except (ValueError, TypeError) as error:  # binascii.Error is a ValueError
            problems.append(f"Slide {number} was left out: {error}.")
            continue
        slides.append(SlideSpec(chart_png=png, table=table, origin=FILE_ORIGIN, tables=tables, **texts))
    return slides, problems
