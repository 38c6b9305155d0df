"""Small rendering helpers shared by the pages: headers, tables and charts with downloads."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
from altair.utils import schemapi

from sarcoma_app.sources import cohort, db
from sarcoma_app.exports import deck, downloads
from sarcoma_app.render import vega
from sarcoma_app.render.sidebar import applicability_notes
from sarcoma_app.viewstate.state import SESSION_NOTICE, current_state, url_notices
from sarcoma_app.text import escape_markdown
from sarcoma_app.viewstate.url_state import DECK_PARAM, UPLOADED_SOURCE, allowed_for


# Altair's debug mode validates every schema object as it is made: about half the cost of building a chart (the
# KM chart: 30 ms of 60). The tests validate each chart whole when it is shown (render/vega.py).
schemapi.disable_debug_mode()

ROW_HEIGHT_PX = 35
#: Shown in tables for a missing (not reported) value.
MISSING_TEXT = "–"
MAX_ROWS_WITHOUT_SCROLL = 40
#: Rows a table shows at most (its CSV has them all); a 100,000-patient source stays responsive.
MAX_TABLE_ROWS = cohort.MAX_TABLE_ROWS


def page_header(title: str, question: str) -> None:
    """Page title with its question as the subtitle, then the notices about the view.

    Notices: link parameters that were ignored, and filters that leave out
    patients whose value is not reported.
    """
    st.title(title)
    st.markdown(f"##### {question}")
    cohort.show_source_banner()  # simulated / uploaded data say so on every page
    st.session_state["_page_title"] = title  # the page a slide of the deck comes from (sarcoma_app.render.tools)
    show_view_notices()


#: Shown when a link asks for an upload this server session does not hold.
UPLOAD_MISSING_TEXT = (
    "**Your uploaded cohort is not on this server session.** The link asks for an uploaded cohort "
    "(`source=uploaded`), but an upload lives only in the browser session that loaded it: a server restart, "
    "a new tab or a shared link starts without it. Upload the file again on **Upload a cohort**; until then "
    "this page shows the published cohorts.")
#: Shown when a tab outlived its server session and its view could not be carried over.
RESTARTED_TEXT = (
    "**This tab was opened before the server restarted (or its session expired).** Filters and any uploaded "
    "cohort of the earlier view are not on this server session, so the view starts again from the published "
    "cohorts with no filters. Open your link again to restore its filters, and upload your cohort again on "
    "**Upload a cohort**.")
#: Shown once after the database file failed and was rebuilt (sarcoma_app.sources.db).
REBUILT_TEXT = ("**The database file could not be read and was rebuilt** from `data/sources` (it was damaged or "
                "removed while the app ran). The numbers below come from the rebuilt copy.")


def show_view_notices() -> None:
    """Warnings about the view: lost uploads or sessions, ignored link parameters, filters dropping unknowns."""
    if db.take_rebuilt_notice():
        st.warning(REBUILT_TEXT, icon=":material/build:")
    allowed = db.allowed_values()
    for notice in url_notices():
        if notice.parameter == SESSION_NOTICE:
            st.warning(RESTARTED_TEXT, icon=":material/restart_alt:")
            st.page_link("pages/upload.py", label="Upload a cohort", icon=":material/upload_file:")
            continue
        if notice.parameter == "source" and notice.value.strip().lower() == UPLOADED_SOURCE:
            st.warning(UPLOAD_MISSING_TEXT, icon=":material/cloud_off:")
            st.page_link("pages/upload.py", label="Upload a cohort", icon=":material/upload_file:")
            continue
        if notice.parameter == DECK_PARAM:  # a slide of the link's deck: named with its number and title
            where = f", {escape_markdown(notice.value)}" if notice.value else ""
            st.warning(f"**Deck of the link**{where}: {escape_markdown(notice.reason)}.",
                       icon=":material/slideshow:")
            continue
        allowed_values = allowed_for(notice.parameter, allowed)
        hint = f" Allowed: {escape_markdown(', '.join(allowed_values))}." if allowed_values else ""
        value = f" = “{escape_markdown(notice.value)}”" if notice.value else ""
        st.warning(f"Link parameter **{escape_markdown(notice.parameter)}**{value} ignored: {notice.reason}.{hint}",
                   icon=":material/link_off:")
    notes = applicability_notes(current_state().filters)
    if notes:
        st.warning("\n".join(f"- {note}" for note in notes), icon=":material/filter_alt:")


def filter_summary() -> str:
    """The active filters in words, and the data source when it is not the papers (for exported figures)."""
    text = f"Patients: {deck.describe_filters(current_state().filters)}"
    return text if cohort.is_bundled() else f"{text} · Data: {cohort.source_description()}"


#: Column widths (pixels) the renderer gives a table's columns: room for the header and cells up to
#: :data:`WIDE_CELL_CHARS` characters; longer text gets :data:`MAX_COLUMN_PX` (the cell shows it on hover).
HEADER_CHAR_PX, CELL_CHAR_PX, COLUMN_PADDING_PX = 8.5, 7.5, 30
WIDE_CELL_CHARS = 56
MIN_COLUMN_PX, MAX_COLUMN_PX = 60, 460


def column_widths(frame: pd.DataFrame, column_config: dict | None = None) -> dict:
    """``column_config`` with a width for every unsized column whose header is longer than its cells (the grid
    sizes a column to its cells and cuts the header: "p adjuste"): wide enough for the whole header."""
    config = dict(column_config or {})
    sample = frame.head(300)
    for column in frame.columns:
        given = config.get(column)
        if isinstance(given, dict) and given.get("width") is not None or (given is not None and not isinstance(given, dict)):
            continue
        label = str(given.get("label", column)) if isinstance(given, dict) else str(column)
        cells = sample[column].map(lambda v: len(str(v)) if v is not None else 0)
        longest = int(cells.max()) if len(cells) else 0
        if len(label) * HEADER_CHAR_PX <= min(longest, WIDE_CELL_CHARS) * CELL_CHAR_PX:
            continue  # the grid sizes a column to its cells: only a header longer than them gets cut
        width = max(len(label) * HEADER_CHAR_PX, min(longest, WIDE_CELL_CHARS) * CELL_CHAR_PX) + COLUMN_PADDING_PX
        config[column] = {**(given or {}), "width": int(min(max(width, MIN_COLUMN_PX), MAX_COLUMN_PX))}
    return config


def _with_thousands(frame: pd.DataFrame, config: dict) -> dict:
    """Integer columns reaching 1,000 shown with thousands separators (the browser's locale)."""
    for column in frame.columns:
        series = frame[column]
        if not (pd.api.types.is_integer_dtype(series) and not pd.api.types.is_bool_dtype(series)):
            continue
        largest = series.abs().max()  # NA for an empty or all-missing nullable column
        given = config.get(column, {})
        if pd.notna(largest) and largest >= 1000 and isinstance(given, dict):  # not a column config of the view's
            config[column] = st.column_config.NumberColumn(given.get("label"), width=given.get("width"),
                                                           help=given.get("help"), format="localized")
    return config


def show_table(frame: pd.DataFrame, name: str, key: str, caption: str | None = None,
               column_config: dict | None = None, height: int | str = "auto", styler=None,
               download_frame: pd.DataFrame | None = None, fold: bool = True) -> None:
    """A table with a CSV download (formula injection neutralised).

    Parameters
    ----------
    frame : pandas.DataFrame
        Table as shown and downloaded.
    name : str
        File name stem of the download.
    key : str
        Stable widget key prefix.
    caption : str, optional
        Markdown caption under the table (constant text, or escaped).
    column_config : dict, optional
        ``st.dataframe`` column configuration.
    height : int or "auto"
    styler : pandas Styler, optional
        Styled version of ``frame`` to display (the CSV is always ``frame``).
    download_frame : pandas.DataFrame, optional
        The whole table when ``frame`` shows only its first rows (the CSV).
    fold : bool
        In presentation mode, fold the table under "Show the table" (a view's key table stays open).

    Notes
    -----
    At most :data:`MAX_TABLE_ROWS` rows are displayed, with a note; the CSV
    always has every row.
    """
    full = frame if download_frame is None else download_frame
    if len(frame) > MAX_TABLE_ROWS:
        frame = frame.iloc[:MAX_TABLE_ROWS]
        styler = None
    if len(full) > len(frame):
        note = (f"Showing the first {len(frame):,} of {len(full):,} rows; the CSV has all {len(full):,}.")
        caption = f"{caption} {note}" if caption else note
    if height == "auto" and len(frame) <= MAX_ROWS_WITHOUT_SCROLL:
        height = ROW_HEIGHT_PX * (len(frame) + 1) + 3  # every row visible, no inner scrolling
    # presentation mode (?present=1): secondary tables folded, so each chart and its key table get the screen
    folded = current_state().present and fold
    target = st.expander("Show the table", icon=":material/table:") if folded else st
    target.dataframe(styler if styler is not None else frame, hide_index=True,
                     column_config=_with_thousands(frame, column_widths(frame, column_config)),
                     height=height, width="stretch", placeholder=MISSING_TEXT)
    row = caption_row(target, caption)
    row.download_button(
        "CSV", data=lambda: downloads.csv_bytes(downloads.with_numbers(full)),  # built when pressed, not each rerun
        file_name=f"{downloads.safe_file_stem(name)}.csv",
        mime="text/csv", key=f"{key}_csv", icon=":material/download:", on_click="ignore",
        help="Download this table as CSV: the text as shown, with its numbers (estimate, CI, counts) in "
             "columns of their own",
    )


def caption_row(target, caption: str | None = None):
    """One row under a chart, a table or a view: ``caption`` (grey, over the free width) and then, on the right,
    what the caller adds (its downloads). One flex container, not a column per part: a page has dozens of
    these, and each block is work for the browser on every rerun."""
    row = target.container(horizontal=True, horizontal_alignment="right", vertical_alignment="top", gap="small",
                           wrap=False)
    if caption:
        row.caption(caption, width="stretch")
    return row


def show_chart(chart: alt.TopLevelMixin, name: str, key: str, title: str, caption: str | None = None) -> None:
    """A chart with PNG and SVG downloads.

    The downloaded figure carries ``title`` and the active filters as a
    subtitle so it can go onto a slide as it is.
    """
    st.vega_lite_chart(vega.vega_lite_spec(chart), theme=None, width="content")
    subtitle = filter_summary()

    def exported() -> alt.TopLevelMixin:  # built only when a download is pressed (a copy of the chart costs)
        return chart.properties(title=alt.TitleParams(title, subtitle=[subtitle]))

    stem = downloads.safe_file_stem(name)
    row = caption_row(st, caption)
    row.download_button(
        "PNG", data=lambda: downloads.chart_png(exported()), file_name=f"{stem}.png", mime="image/png",
        key=f"{key}_png", icon=":material/image:", on_click="ignore", help="Download the chart as PNG (2x, for slides)",
    )
    row.download_button(
        "SVG", data=lambda: downloads.chart_svg(exported()), file_name=f"{stem}.svg", mime="image/svg+xml",
        key=f"{key}_svg", icon=":material/draw:", on_click="ignore", help="Download the chart as SVG (vector)",
    )


def text(value: object) -> str:
    """Data text made safe for markdown."""
    return escape_markdown(value)
