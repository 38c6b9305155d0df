"""Streamlit glue of the tumour-board tools: "Add to deck" and "Show the code" under each view,
the slide deck in the sidebar, and presentation mode.

The deck is a list of :class:`sarcoma_app.exports.deck.SlideSpec` in ``st.session_state``;
building files from it is pure (:mod:`sarcoma_app.exports.deck`). The URL carries it as view references
(:mod:`sarcoma_app.viewstate.deck_link`): a link opened in a new session rebuilds each slide through its
page's function (:mod:`sarcoma_app.render.page_views`) and :func:`make_slide`, as "Add to deck" does. Snippets come from
:mod:`sarcoma_app.exports.snippets`.
"""
from __future__ import annotations

import dataclasses
import hashlib
from typing import Callable

import altair as alt
import pandas as pd
import streamlit as st

from sarcoma_app.sources import cohort, db
from sarcoma_app.exports import deck, downloads
from sarcoma_app.limits import DECK, LIMITS
from sarcoma_app.exports.snippets import PATIENTS_CSV
from sarcoma_app.render import page_views, ui
from sarcoma_app.views.blocks import View
from sarcoma_app.viewstate import deck_link
from sarcoma_app.viewstate.state import (
    DECK_KEY, DECK_LINK_KEY, DECK_PENDING_KEY, add_url_notices, current_state, set_state, write_url,
)
from sarcoma_app.text import escape_markdown, study_label
from sarcoma_app.viewstate.url_state import DECK_PARAM, Notice, ViewState, shorten, to_query

PAGE_TITLE_KEY = "_page_title"
#: Slide key -> the way back to it (sarcoma_app.viewstate.deck_link.SlideRef), for the link's deck.
DECK_REFS_KEY = "_deck_refs"
PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

#: Presentation mode: a constant stylesheet (no user data in it).
PRESENT_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stSidebarCollapseButton"], header[data-testid="stHeader"], [data-testid="stDownloadButton"] {
    display: none !important;
}
[data-testid="stMainBlockContainer"] {
    zoom: 1.3; padding-top: 1.2rem !important; padding-left: 2rem !important; padding-right: 2rem !important;
}
[data-testid="stMain"] h1 { font-size: 2.1rem; }
[data-testid="stMain"] h3 { font-size: 1.9rem; margin-top: 2.5rem; }
[data-testid="stMain"] p, [data-testid="stMain"] li { font-size: 1.15rem; }
[data-testid="stCaptionContainer"] p { font-size: 1.0rem; }
[data-testid="stVegaLiteChart"] { margin-bottom: 1.5rem; }
/* the headline numbers are the biggest thing on the screen (the paragraph rule above must not shrink them) */
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * { font-size: 2.25rem !important; line-height: 1.2; }
[data-testid="stMetricLabel"] p { font-size: 1.25rem !important; }
</style>
"""


# --------------------------------------------------------------------------- #
# Session deck
# --------------------------------------------------------------------------- #
def current_deck() -> list[deck.SlideSpec]:
    """The session's slides, in order."""
    return list(st.session_state.get(DECK_KEY, []))


def _set_deck(slides: list[deck.SlideSpec]) -> None:
    """Keep ``slides`` and write their references into the URL's ``deck`` parameter (when they fit)."""
    st.session_state[DECK_KEY] = list(slides)
    refs = st.session_state.get(DECK_REFS_KEY, {})
    refs = {slide.key: refs[slide.key] for slide in slides if slide.key in refs}
    st.session_state[DECK_REFS_KEY] = refs
    shared = [refs[slide.key] for slide in slides if slide.key in refs and deck_link.shareable(refs[slide.key])]
    encoded = deck_link.encode_deck(shared[:DECK.link_slides.value])
    st.session_state[DECK_LINK_KEY] = encoded if len(encoded) <= DECK.link_chars.value else ""


def _link_status(slides: list[deck.SlideSpec]) -> str:
    """What the URL carries of the deck, in words (under the deck in the sidebar)."""
    refs = st.session_state.get(DECK_REFS_KEY, {})
    shared = [refs[slide.key] for slide in slides if slide.key in refs and deck_link.shareable(refs[slide.key])]
    left_out = len(slides) - len(shared)
    if shared and not st.session_state.get(DECK_LINK_KEY):
        return (f":orange[This deck is too large for a link (more than {DECK.link_chars.amount}): save the deck "
                "file to share it.]")
    carried = min(len(shared), DECK.link_slides.value)
    text = (f"The page's link (the address bar) carries "
            f"{'this deck' if carried == len(slides) else f'{carried} of its {len(slides)} slides'}"
            ": copy it to share the deck, or to open it again after a reload." if shared else "")
    if len(shared) > carried:
        text += (f" A link carries at most {DECK.link_slides.amount}; the deck file keeps them all.")
    if left_out:
        text += (f" {left_out} slide{'s' if left_out != 1 else ''} (from an uploaded cohort or a deck file) cannot be "
                 "rebuilt from a link: the deck file keeps them.")
    return text.strip()


def _move(index: int, offset: int) -> None:
    _set_deck(deck.move(current_deck(), index, offset))


def _remove(index: int) -> None:
    _set_deck(deck.remove(current_deck(), index))


def _clear() -> None:
    _set_deck([])


def data_source_text(patients: pd.DataFrame | None) -> str:
    """'<study label> (published; <seed file>)' for the studies of the view, or the data source
    (uploaded cohort, simulated registry) when it is not the published papers."""
    if not cohort.is_bundled():
        return cohort.source_description()
    if patients is None or patients.empty or "study_id" not in patients:
        return cohort.source_description()
    try:
        studies = db.read_table("studies")
        seeds = dict(zip(studies["study_id"], studies["seed_file"]))
    except Exception:  # noqa: BLE001 - the footnote must never break a page
        seeds = {}
    parts = []
    for study_id in sorted(patients["study_id"].dropna().unique()):
        seed = seeds.get(study_id)
        parts.append(f"{study_label(study_id)} (published; {seed})" if seed else study_label(study_id))
    return "; ".join(parts)


def _signature(view_key: str, state: ViewState, table: pd.DataFrame | None) -> str:
    """Identity of a view in a given state: the same view added twice is recognised."""
    content = table.to_csv(index=False) if table is not None else ""
    digest = hashlib.sha256(f"{view_key}|{sorted(to_query(state).items())!r}|{content}".encode()).hexdigest()
    return f"{view_key}:{digest[:16]}"


def make_slide(signature: str, title: str, chart: alt.TopLevelMixin | None, table: pd.DataFrame | None,
               n_text: str, methods_text: str | None, source_text: str, caption: str, fallback=None, *,
               state: ViewState, page: str) -> tuple[deck.SlideSpec, list[str]]:
    """The slide of one view: its chart rendered (text >= 14 pt at its size on the slide, else ``fallback``:
    see :func:`sarcoma_app.exports.deck.with_chart`), its table and footnote; and warnings to show (a chart too
    tall to be readable, a chart that could not be rendered)."""
    spec = deck.SlideSpec(
        title=title, page=page,
        table=None if table is None else table.reset_index(drop=True).copy(),
        filters=deck.describe_filters(state.filters), n=n_text,
        methods=methods_text if methods_text is not None else deck.describe_methods(
            state.methods, deck.methods_of_view(signature.rsplit(":", 1)[0])),
        source=source_text, caption=caption, key=signature, origin=cohort.source_token(),
    )
    warnings = []
    if chart is not None:
        try:
            spec, smallest_pt = deck.with_chart(spec, chart, fallback)
            if smallest_pt < deck.MIN_TEXT_PT - 0.5:
                warnings.append(f"This chart is taller than a slide holds at {deck.MIN_TEXT_PT} pt: its smallest "
                                f"text is {smallest_pt:.0f} pt on the slide. Fewer groups (or the plain risk "
                                "table) make it readable.")
        except Exception:  # noqa: BLE001 - keep the table slide even if rendering fails
            warnings.append("The chart could not be rendered; the slide has its table only.")
    return spec, warnings


def slide_inputs(view: View, state: ViewState) -> tuple:
    """The arguments of :func:`make_slide` for ``view`` shown in ``state`` (but the state and page): the slide
    takes the view's first chart and its slide table (default: its first table)."""
    chart, table = view.chart, view.table
    slide_table = view.slide_table if view.slide_table is not None else table.frame if table else None
    patients = view.patients
    n_text = view.n_text if view.n_text is not None else (f"{len(patients)} patients" if patients is not None else "")
    caption = view.caption or (chart.caption if chart else table.caption if table else "")
    return (_signature(view.key, state, slide_table), view.title, chart.chart if chart else None, slide_table,
            n_text, view.methods_text, data_source_text(patients), caption, view.slide_fallback)


def _reference(view_key: str, state: ViewState, page_title: str, title: str) -> deck_link.SlideRef | None:
    """The way back to a view added on the current page (None on a page without slides)."""
    page = page_views.page_id(page_title)
    if page is None:
        return None
    from sarcoma_app.render.blocks import picked  # blocks draws through this module

    picks = tuple((key, value) for key in page_views.PAGES[page].picks
                  if isinstance(value := picked(key), (str, bool)))
    return deck_link.SlideRef(page, view_key, dataclasses.replace(state, present=False), picks, title)


def _add_slide(*inputs) -> None:
    """Callback of 'Add to deck': render the slide, append it and remember the way back to it (for the link)."""
    state, page = current_state(), st.session_state.get(PAGE_TITLE_KEY, "")
    spec, warnings = make_slide(*inputs, state=state, page=page)
    for warning in warnings:
        st.toast(warning, icon=":material/warning:")
    ref = _reference(spec.key.rsplit(":", 1)[0], state, page, spec.title)
    if ref is not None:
        st.session_state.setdefault(DECK_REFS_KEY, {})[spec.key] = ref
    slides = deck.add(current_deck(), spec)
    _set_deck(slides)
    st.toast(f"Added “{escape_markdown(spec.title)}” to the slide deck ({len(slides)} slide"
             f"{'s' if len(slides) != 1 else ''}; see the sidebar).", icon=":material/slideshow:")


# --------------------------------------------------------------------------- #
# The deck of a shared link
# --------------------------------------------------------------------------- #
def rebuild_slide(ref: deck_link.SlideRef, built: dict | None = None
                  ) -> tuple[deck.SlideSpec | None, deck_link.SlideRef | str]:
    """The slide ``ref`` points to, rebuilt by its page's function on the active data, with its reference as
    rebuilt (the page's picks as resolved, the slide's title); or None and why not.

    ``built`` caches the page's blocks per (page, state, picks) across the slides of one deck.
    """
    page = page_views.PAGES.get(ref.page)
    if page is None:
        return None, "its page has no slides"
    ref = dataclasses.replace(ref, picks=tuple((key, value) for key, value in ref.picks if key in page.picks))
    if ref.state.source != cohort.active_source():
        return None, (f"it was built from {cohort.source_description(ref.state.source)}, and this link opens "
                      f"{cohort.source_description()}")
    picks = dict(ref.picks)
    cache_key = (ref.page, ref.state, ref.picks)
    built = {} if built is None else built
    try:
        if cache_key not in built:
            built[cache_key] = page.build(ref.state, lambda choices: page_views.resolve(choices, ref.state.methods),
                                          lambda key, default=None: picks.get(key, default))
        view = page_views.find_view(built[cache_key], ref.view)
        if view is None or not view.tools:
            return None, "this view does not exist for these data and choices"
        spec, _ = make_slide(*slide_inputs(view, ref.state), state=ref.state, page=page.title)
    except Exception as error:  # noqa: BLE001 - one slide that fails must not cost the others (or the page)
        return None, f"it could not be rebuilt ({type(error).__name__})"
    # the picks the link named, as the page resolved them (a pick not named stays at the page's default)
    named = tuple(key for key, _ in ref.picks)
    return spec, dataclasses.replace(ref, picks=page_views.shown_picks(built[cache_key], named), title=spec.title)


def restore_deck_from_link() -> None:
    """Rebuild the slides of an adopted link's ``deck`` into an empty deck; name each slide left out."""
    raw = st.session_state.pop(DECK_PENDING_KEY, None)
    if raw is None:
        return
    if current_deck():  # the session's own deck wins; the URL is rewritten from it
        add_url_notices([Notice(DECK_PARAM, "", "this tab has a deck already; the link's deck was not loaded")])
        _set_deck(current_deck())
        write_url()
        return
    refs, notices = deck_link.decode_deck(raw, db.allowed_values(), tuple(page_views.PAGES))
    slides, known, built = [], {}, {}
    if refs:
        with st.sidebar, st.spinner(f"Rebuilding the {len(refs)} slide{'s' if len(refs) != 1 else ''} of the link…"):
            for number, ref in enumerate(refs, start=1):
                spec, outcome = rebuild_slide(ref, built)
                if spec is None:
                    notices.append(Notice(DECK_PARAM, f"slide {number} {shorten(ref.label, 120)}",
                                          f"not rebuilt: {outcome}"))
                elif all(slide.key != spec.key for slide in slides):
                    slides.append(spec)
                    known[spec.key] = outcome
    st.session_state[DECK_REFS_KEY] = known
    _set_deck(slides)
    write_url()
    add_url_notices(notices)
    if slides:
        st.toast(f"Rebuilt {len(slides)} slide{'s' if len(slides) != 1 else ''} of the link's deck (see the sidebar).",
                 icon=":material/slideshow:")


# --------------------------------------------------------------------------- #
# Under each view
# --------------------------------------------------------------------------- #
def view_tools(view: View) -> None:
    """'Show the code' and 'Add to deck' for one view (nothing in presentation mode).

    The slide gets the view's first chart (as PNG) and its table (a native table), a footnote with the
    filters, n (default: the number of ``view.patients``), methods and data source (see :func:`slide_inputs`);
    the code's CSV files are offered beside it.
    """
    state = current_state()
    if state.present:
        return
    inputs = slide_inputs(view, state)
    signature = inputs[0]
    in_deck = any(slide.key == signature for slide in current_deck())
    row = ui.caption_row(st)  # the code on the free width, the deck button on the right
    with row:
        if view.code is not None:
            _code_expander(view.key, lambda: view, bool(view.code.r))
        elif view.code_view is not None:
            _code_expander(view.key, view.code_view)
    row.button(
        "In deck" if in_deck else "Add to deck", key=f"{view.key}_deck", width="content",
        icon=":material/check:" if in_deck else ":material/add_to_queue:", disabled=in_deck,
        help="This view, with its current filters and methods, is already in the slide deck." if in_deck else
        "Add this view (chart, table and a footnote with filters, n, methods and source) to the slide deck "
        "in the sidebar; download the deck as PowerPoint or HTML.",
        on_click=_add_slide, args=inputs,
    )


def code_expander_key(view_key: str) -> str:
    """The session-state key of a view's "Show the code" expander (True while it is open)."""
    return f"{view_key}_code_expander"


def _code_expander(key: str, code_view: Callable[[], View | str], with_r: bool | None = None) -> None:
    """"Show the code" of the view keyed ``key``: ``code_view()`` (the view with its code, or why there is none,
    in Markdown) is called only while it is open. ``with_r``: whether the code has R too (None: not known
    before it is built)."""
    languages = "" if with_r is None else " (Python and R)" if with_r else " (Python)"
    with st.expander(f"Show the code{languages}", icon=":material/code:", key=code_expander_key(key),
                     on_change="rerun") as expander:
        if not expander.open:  # filled when opened (a rerun): closed, its code and CSV buttons cost no redraw
            return
        try:
            view = code_view()
        except Exception as error:  # noqa: BLE001 - the code of one view must not break the page
            view = f"The code of this view could not be built ({type(error).__name__})."
        if isinstance(view, str):
            st.info(view, icon=":material/database:")
            return
        code = view.code
        if code is None:
            st.info("This view has no code for these data.", icon=":material/code_off:")
            return
        st.caption("Recomputes this view's numbers with the project's `analysis` package (pandas + the API of "
                   "README.md)" + (", and the same with R `survival`" if code.r else "") + ". Save the CSV in the "
                   "root of the project repository and run the Python there" + (" (R needs only the CSV)" if code.r
                                                                                  else "") + ".")
        files = dict(view.data_files or {})
        if PATIENTS_CSV in code.data_files and view.patients is not None:
            files.setdefault(PATIENTS_CSV, view.patients)
        columns = st.columns(max(len(files), 1))
        for column, (name, frame) in zip(columns, files.items()):
            column.download_button(
                name, data=lambda frame=frame: downloads.csv_bytes(frame), file_name=name, mime="text/csv",
                key=f"{key}_{downloads.safe_file_stem(name)}", icon=":material/download:", on_click="ignore",
                help="The patients behind this view (all columns), as the code reads them." if name == PATIENTS_CSV
                else "The table the code reads.",
            )
        st.code(code.python, language="python", wrap_lines=True)
        if code.r:
            st.markdown("**R** (`survival` package) — the same numbers:")
            st.code(code.r, language="r", wrap_lines=True)


# --------------------------------------------------------------------------- #
# Reload guard
# --------------------------------------------------------------------------- #
#: The browser asks before a reload or a closed tab loses the deck or an upload (``beforeunload``). Constant
#: script (no data in it), run in a component frame of the app's own origin; ``__ON__`` is true or false.
RELOAD_GUARD_JS = """<script>
const app = window.parent;
if (!app.__sarcomaReloadGuard) {
  app.__sarcomaReloadGuard = true;
  app.addEventListener("beforeunload", (event) => {
    if (app.__sarcomaGuardOn) { event.preventDefault(); event.returnValue = ""; }
  });
}
app.__sarcomaGuardOn = __ON__;
</script>"""
GUARD_KEY = "_reload_guard_on"


def guard_reload() -> None:
    """While the session holds a deck or an uploaded cohort, the browser asks before a reload empties them
    (nothing is drawn before; once, to switch the question off, after)."""
    needed = bool(current_deck()) or cohort.uploaded_cohort() is not None
    if needed or st.session_state.get(GUARD_KEY):
        import streamlit.components.v1 as components

        with st.sidebar:
            components.html(RELOAD_GUARD_JS.replace("__ON__", "true" if needed else "false"), height=0)
        st.session_state[GUARD_KEY] = needed


# --------------------------------------------------------------------------- #
# Sidebar deck
# --------------------------------------------------------------------------- #
def render_sidebar_deck() -> None:
    """The deck in the sidebar (first rebuilt from the link's deck, if any): count, order, remove, clear,
    download as PPTX or HTML; what the link carries of it."""
    restore_deck_from_link()
    slides = current_deck()
    sidebar = st.sidebar
    label = f"Slide deck ({len(slides)})"
    # no key: a new count is a new expander, opened when the deck has slides (so an added slide shows)
    with sidebar.expander(label, icon=":material/slideshow:", expanded=bool(slides)):
        if not slides:
            st.caption("Empty. Press **Add to deck** under a chart or table to collect views for a tumour board, "
                       "then download them here as PowerPoint or as an HTML report. The page's link carries the deck "
                       "(its views, filters and methods) to share it; a deck of an uploaded cohort is kept only by its "
                       "deck file.")
        for index, slide in enumerate(slides):
            kind = ("chart + table" if slide.chart_png and slide.table is not None
                    else "chart" if slide.chart_png else "table")
            origin = f" · {escape_markdown(slide.page)}" if slide.page else ""
            st.markdown(f"**{index + 1}\\.** {escape_markdown(slide.title)}  \n:gray[{kind}{origin}]")
            row = st.container(horizontal=True, gap="small")
            row.button("", key=f"deck_up_{index}", icon=":material/arrow_upward:", help="Move up",
                       on_click=_move, args=(index, -1), disabled=index == 0)
            row.button("", key=f"deck_down_{index}", icon=":material/arrow_downward:", help="Move down",
                       on_click=_move, args=(index, 1), disabled=index == len(slides) - 1)
            row.button("", key=f"deck_remove_{index}", icon=":material/delete:", help="Remove from the deck",
                       on_click=_remove, args=(index,))
        frozen = tuple(slides)
        pptx_column, html_column = st.columns(2)
        pptx_column.download_button(
            "PPTX", data=lambda: deck.build_pptx(frozen), file_name="tumour-board.pptx", mime=PPTX_MIME,
            key="deck_pptx", icon=":material/slideshow:", on_click="ignore", disabled=not slides, width="stretch",
            help="PowerPoint, 16:9, every text at least 14 pt: each chart over the slide's width, its editable table "
                 "under it or on slides of its own (long tables go on over slides), a footnote with filters, n, "
                 "methods and source.",
        )
        html_column.download_button(
            "HTML", data=lambda: deck.build_html(frozen).encode("utf-8"), file_name="tumour-board-report.html",
            mime="text/html", key="deck_html", icon=":material/description:", on_click="ignore", disabled=not slides,
            width="stretch", help="One self-contained HTML file with the same content (full tables).",
        )
        st.download_button(
            "Deck file (to load again)", data=lambda: deck.deck_file(frozen), file_name="tumour-board.deck.json",
            mime="application/json", key="deck_file", icon=":material/save:", on_click="ignore", disabled=not slides,
            width="stretch", help="The deck as a file to keep: load it again below, in this or a later session "
                                  "(the deck lives in this browser session only; a reload empties it).",
        )
        if slides:
            st.caption(_link_status(slides) or ":orange[A reload or a closed tab empties the deck (and an uploaded "
                                                "cohort): save the deck file to keep it.]")
        st.button("Clear deck", key="deck_clear", icon=":material/delete_sweep:", on_click=_clear,
                  disabled=not slides, width="stretch")
        st.file_uploader("Load a deck file", type=["json"], key=f"deck_upload_{_deck_upload_generation()}",
                         on_change=_load_deck_file, max_upload_size=LIMITS.file_mb.value,
                         help=f"A deck file saved with “Deck file” above, at most {LIMITS.file_mb.amount}; its "
                              "slides are added to this deck.")
        for problem in st.session_state.pop(DECK_PROBLEMS_KEY, []):
            st.warning(escape_markdown(problem), icon=":material/warning:")


DECK_PROBLEMS_KEY = "_deck_file_problems"
_DECK_UPLOAD_GENERATION = "_deck_upload_generation"


def _deck_upload_generation() -> int:
    return int(st.session_state.get(_DECK_UPLOAD_GENERATION, 0))


def _load_deck_file() -> None:
    """Callback of the deck-file uploader: add the file's slides once, then clear the uploader."""
    uploaded = st.session_state.get(f"deck_upload_{_deck_upload_generation()}")
    if uploaded is None:
        return
    if uploaded.size > deck.MAX_DECK_FILE_BYTES:  # before reading it
        slides, problems = [], [f"The file is larger than {deck.MAX_DECK_FILE_BYTES // 2**20} MB."]
    else:
        slides, problems = deck.read_deck_file(uploaded.getvalue())
    merged = current_deck()
    for slide in slides:
        merged = deck.add(merged, slide)
    _set_deck(merged)
    if slides:
        st.toast(f"Loaded {len(slides)} slide{'s' if len(slides) != 1 else ''} from the deck file.",
                 icon=":material/slideshow:")
    st.session_state[DECK_PROBLEMS_KEY] = problems
    st.session_state[_DECK_UPLOAD_GENERATION] = _deck_upload_generation() + 1  # a fresh, empty uploader


# --------------------------------------------------------------------------- #
# Presentation mode
# --------------------------------------------------------------------------- #
def _set_present(value: bool) -> None:
    from dataclasses import replace

    set_state(replace(current_state(), present=bool(value)))


def _toggle_present() -> None:
    _set_present(bool(st.session_state.get("w_present")))


def render_presentation_controls() -> None:
    """Presentation mode: the stylesheet and a 'Leave' button; otherwise the sidebar toggle to enter it."""
    if current_state().present:
        st.markdown(PRESENT_CSS, unsafe_allow_html=True)
        left, right = st.columns([3, 1], vertical_alignment="center")
        # the sidebar is hidden: say what the audience is looking at
        source = "" if cohort.is_bundled() else f" · Data: {escape_markdown(cohort.source_description())}"
        left.markdown(f":gray[**Filters:** {escape_markdown(deck.describe_filters(current_state().filters))}"
                      f"{source}]")
        right.button("Leave presentation", key="leave_present", icon=":material/close_fullscreen:",
                     on_click=_set_present, args=(False,), width="stretch",
                     help="Back to the normal view with the sidebar.")
        return
    st.session_state["w_present"] = False
    st.sidebar.toggle("Presentation mode", key="w_present", on_change=_toggle_present,
                      help="For a projector: larger type, no sidebar, tables folded under each chart. "
                           "The link keeps it (?present=1).")
