"""The view state of a session and its sync with ``st.query_params``.

The canonical :class:`~sarcoma_app.viewstate.url_state.ViewState` lives in
``st.session_state``. Widgets are initialised from it on every run and write
back through ``on_change`` callbacks, so a widget that is not on the current
page keeps its value. After the state is settled the URL is rewritten from it
(Streamlit clears query parameters on a page switch; re-setting them each run
carries them across pages).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

import streamlit as st

from sarcoma_app.viewstate.url_state import (
    DECK_PARAM,
    AllowedValues,
    FilterState,
    Notice,
    ViewState,
    parse_query,
    query_signature,
    source_from_query,
    to_query,
    with_filter,
    with_methods,
)

STATE_KEY = "_view_state"
NOTICES_KEY = "_url_notices"
WRITTEN_KEY = "_written_query"
#: The tumour-board deck (a list of sarcoma_app.exports.deck.SlideSpec; sarcoma_app.render.tools draws it).
DECK_KEY = "_deck"
#: The ``deck`` parameter this session writes into its URL (sarcoma_app.viewstate.deck_link; '' = none).
DECK_LINK_KEY = "_deck_link"
#: The ``deck`` value of an adopted link, waiting for sarcoma_app.render.tools to rebuild its slides.
DECK_PENDING_KEY = "_deck_link_pending"
LINK_KEY = "_link_before_first_sync"

#: Notice parameter of a tab that outlived its server session (restart, expired session).
SESSION_NOTICE = "server session"
RESTARTED = Notice(SESSION_NOTICE, "", "this tab was opened on an earlier server session (the server restarted or "
                                       "the session expired)")


def read_query_params() -> dict[str, list[str]]:
    """Current query parameters, repeated keys as lists."""
    return {key: st.query_params.get_all(key) for key in st.query_params.keys()}


def remember_link() -> None:
    """Keep the link's query before any slow work of a session's first run (call it first in app.py).

    A click on a page while the first run still builds the database or a
    simulated cohort stops that run, and Streamlit clears the query string
    on a page switch: without this copy the link's filters were lost
    without a word.
    """
    if STATE_KEY not in st.session_state and LINK_KEY not in st.session_state:
        raw = read_query_params()
        if raw:
            st.session_state[LINK_KEY] = raw


def _client_had_widgets() -> bool:
    """True when the browser sent widget values the server session never made (an open tab of an earlier session).

    A fresh page load sends none; a click in a tab that outlived a server
    restart sends the widgets of its old page. Streamlit has no public API
    for this, so a private attribute is read, and any change of it only
    turns the notice off (never an error).
    """
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        widgets = get_script_run_ctx().session_state._state._new_widget_state  # noqa: SLF001
        return len(widgets) > 0
    except Exception:  # noqa: BLE001 - a private API: no notice rather than no app
        return False


def _query_to_adopt() -> tuple[dict[str, list[str]], bool]:
    """The query parameters to read this run, and whether they must be adopted (first run, or changed outside)."""
    raw = read_query_params()
    first_run = STATE_KEY not in st.session_state
    if first_run and not raw:
        raw = st.session_state.get(LINK_KEY, {})  # the link of a first run that was cut short
    changed_outside = bool(raw) and query_signature(raw) != st.session_state.get(WRITTEN_KEY)
    return raw, first_run or changed_outside


def sync_from_url(allowed: AllowedValues) -> None:
    """Adopt the URL on a session's first run, or when it changed outside the app.

    An empty query string after the first run is a page switch (Streamlit
    clears the parameters): the session's state is kept. On the first run
    the link kept by :func:`remember_link` stands in for a query string
    already cleared; a first run with neither, from a tab whose widgets the
    session never made, says that the tab's view could not be carried over.
    """
    first_run = STATE_KEY not in st.session_state
    raw, adopt = _query_to_adopt()
    if adopt:
        state, notices = parse_query(raw, allowed)
        if first_run and not raw and _client_had_widgets():
            notices = [RESTARTED] + notices
        st.session_state[STATE_KEY] = state
        st.session_state[NOTICES_KEY] = notices
        if raw.get(DECK_PARAM):  # kept in the URL until its slides are rebuilt (or found wanting)
            st.session_state[DECK_PENDING_KEY] = raw[DECK_PARAM]
            st.session_state[DECK_LINK_KEY] = str(_raw_last(raw[DECK_PARAM]))
    st.session_state.pop(LINK_KEY, None)


def _raw_last(value: object) -> object:
    return value[-1] if isinstance(value, (list, tuple)) and value else value


def source_to_use(sources: Sequence[str]) -> str:
    """The data source of this run, read before the filters (their allowed values depend on it).

    Same rule as :func:`sync_from_url`: the URL's ``source`` on a session's
    first run or when the URL changed outside the app, otherwise the
    session's current source (the default when it is no longer available,
    e.g. after the upload was removed).
    """
    raw, adopt = _query_to_adopt()
    if adopt:
        return source_from_query(raw, sources)
    current = current_state().source
    return current if current in sources else ViewState().source


def write_url() -> None:
    """Rewrite the query string from the state and the deck (only when it differs)."""
    target = to_query(current_state())
    if st.session_state.get(DECK_LINK_KEY):
        target[DECK_PARAM] = st.session_state[DECK_LINK_KEY]
    signature = query_signature(target)
    if query_signature(read_query_params()) != signature:
        st.query_params.from_dict(target)
    st.session_state[WRITTEN_KEY] = signature


def current_state() -> ViewState:
    """The session's view state (defaults before the first sync)."""
    return st.session_state.get(STATE_KEY, ViewState())


def url_notices() -> list[Notice]:
    """Query parameters ignored when the link was opened."""
    return list(st.session_state.get(NOTICES_KEY, []))


def add_url_notices(notices: Sequence[Notice]) -> None:
    """Add notices about the link (e.g. slides of its deck that could not be rebuilt) to those shown."""
    st.session_state[NOTICES_KEY] = url_notices() + list(notices)


def set_state(state: ViewState) -> None:
    """Replace the view state (a user action: clears the URL notices)."""
    st.session_state[STATE_KEY] = state
    st.session_state[NOTICES_KEY] = []


def reset_filters() -> None:
    """Callback: clear every filter, keep the method choices (and presentation mode)."""
    set_state(replace(current_state(), filters=FilterState()))  # keeps methods, presentation mode, data source


def _widget_key(field: str) -> str:
    return f"w_{field}"


def _filter_callback(field: str) -> Callable[[], None]:
    def callback() -> None:
        value = st.session_state[_widget_key(field)]
        value = bool(value) if field == "evaluable_only" else tuple(value or ())
        set_state(with_filter(current_state(), **{field: value}))

    return callback


def _method_callback(field: str, convert: Callable[[object], object]) -> Callable[[], None]:
    def callback() -> None:
        set_state(with_methods(current_state(), **{field: convert(st.session_state[_widget_key(field)])}))

    return callback


def filter_multiselect(container, field: str, label: str, options: Sequence[str],
                       format_func: Callable[[str], str], help: str | None = None) -> None:
    """A multiselect bound to one filter of the view state."""
    key = _widget_key(field)
    st.session_state[key] = list(getattr(current_state().filters, field))
    container.multiselect(label, list(options), key=key, format_func=format_func, help=help,
                          on_change=_filter_callback(field), placeholder="all")


def filter_toggle(container, field: str, label: str, help: str | None = None) -> None:
    """A toggle bound to a boolean filter of the view state."""
    key = _widget_key(field)
    st.session_state[key] = bool(getattr(current_state().filters, field))
    container.toggle(label, key=key, help=help, on_change=_filter_callback(field))


def bound_selectbox(container, field: str, label: str, options: Sequence[str], value: str,
                     format_func: Callable[[str], str] = str, help: str | None = None) -> None:
    """A selectbox bound to method ``field`` showing ``value`` (the value the view uses, resolved against the
    data; see :class:`sarcoma_app.views.blocks.Choice`)."""
    key = _widget_key(field)
    st.session_state[key] = value
    container.selectbox(label, list(options), key=key, format_func=format_func, help=help,
                        on_change=_method_callback(field, str))


def bound_multiselect(container, field: str, label: str, options: Sequence[str], value: Sequence[str],
                      format_func: Callable[[str], str] = str, help: str | None = None) -> None:
    """A multiselect bound to tuple-valued method ``field`` showing ``value`` (resolved, as above)."""
    key = _widget_key(field)
    st.session_state[key] = list(value)
    container.multiselect(label, list(options), key=key, format_func=format_func, help=help,
                          on_change=_method_callback(field, lambda v: tuple(o for o in options if o in set(v or ()))))


def method_text(container, field: str, label: str, to_text: Callable[[object], str],
                parse: Callable[[str], object], help: str | None = None) -> None:
    """A text input bound to a method choice through ``to_text`` / ``parse``.

    ``parse`` returns the new value, or None to keep the current one.
    """
    key = _widget_key(field)
    st.session_state[key] = to_text(getattr(current_state().methods, field))

    def callback() -> None:
        parsed = parse(st.session_state[key])
        if parsed is not None:
            set_state(with_methods(current_state(), **{field: parsed}))
        else:
            st.session_state["_rejected_" + field] = st.session_state[key]

    container.text_input(label, key=key, help=help, on_change=callback)
