"""One renderer for the blocks of :mod:`sarcoma_app.views.blocks`: what a page shows, with its PNG/SVG/CSV
downloads, "Show the code" and "Add to deck"; and the page's controls from its choices."""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import streamlit as st

from sarcoma_app.render import page_views, tools, ui
from sarcoma_app.text import escape_markdown
from sarcoma_app.views.blocks import (
    Block, Cards, Chart, Choice, Columns, Controls, Expander, Heading, Metric, Metrics, Note, PageLink, Pick, Table,
    Tabs, View,
)
from sarcoma_app.viewstate import state
from sarcoma_app.viewstate.url_state import MethodState

_NOTE = {"caption": st.caption, "info": st.info, "warning": st.warning, "markdown": st.markdown}


def show(blocks: Sequence[Block]) -> None:
    """Draw ``blocks`` in order."""
    for block in blocks:
        _show_one(block)


def _show_one(block: Block, key: str = "") -> None:
    if isinstance(block, Heading):
        st.subheader(block.text)
    elif isinstance(block, Note):
        if block.kind in ("info", "warning") and block.icon:
            _NOTE[block.kind](block.text, icon=block.icon)
        else:
            _NOTE[block.kind](block.text)
    elif isinstance(block, Chart):
        ui.show_chart(block.chart, block.name, key=f"{key or block.name}_chart", title=block.title,
                      caption=block.caption or None)
    elif isinstance(block, Table):
        _show_table(block, key)
    elif isinstance(block, View):
        _show_view(block)
    elif isinstance(block, Expander):
        with st.expander(block.label, icon=block.icon):
            show(block.blocks)
    elif isinstance(block, Controls):
        controls(block.choices)
    elif isinstance(block, Pick):
        _pick(block)
    elif isinstance(block, Metrics):
        for column, metric in zip(st.columns(max(1, len(block.items))), block.items):
            _metric(column, metric)
    elif isinstance(block, Columns):
        for column, blocks in zip(st.columns(max(1, len(block.columns))), block.columns):
            with column.container(border=True) if block.border else column:
                show(blocks)
    elif isinstance(block, Tabs):
        for tab, (_, blocks) in zip(st.tabs([label for label, _ in block.tabs]), block.tabs):
            with tab:
                show(blocks)
    elif isinstance(block, PageLink):
        st.page_link(block.page, label=block.label, icon=block.icon)
    elif isinstance(block, Cards):
        _show_cards(block)
    else:  # a builder returned something this renderer does not know: a bug, say it
        raise TypeError(f"not a block: {type(block).__name__}")


def _show_table(block: Table, key: str = "", fold: bool = True) -> None:
    ui.show_table(block.frame, block.name, key=f"{key or block.name}_table", caption=block.caption or None,
                  column_config=block.column_config, height=block.height,
                  styler=block.styler(block.frame) if block.styler is not None else None,
                  download_frame=block.download, fold=fold)


def _show_cards(block: Cards) -> None:
    if not block.cards:
        return
    columns = st.columns(min(len(block.cards), block.columns))
    for index, card in enumerate(block.cards):
        with columns[index % len(columns)].container(border=True):
            st.subheader(card.title)
            if card.caption:
                st.caption(card.caption)
            if not card.metrics:
                continue
            for column, metric in zip(st.columns(len(card.metrics)), card.metrics):
                _metric(column, metric)


def _metric(column, metric: Metric) -> None:
    column.metric(metric.label, metric.value, help=metric.help)
    if metric.caption:
        column.caption(metric.caption)


def _show_view(view: View) -> None:
    n_charts = n_tables = 0
    for part in view.parts:
        if isinstance(part, Chart):
            _show_one(part, key=f"{view.key}" if n_charts == 0 else f"{view.key}_{n_charts}")
            n_charts += 1
        elif isinstance(part, Table):  # the view's first table stays open in presentation mode
            _show_table(part, key=f"{view.key}" if n_tables == 0 else f"{view.key}_{n_tables}", fold=n_tables > 0)
            n_tables += 1
        else:
            _show_one(part)
    if view.tools:
        tools.view_tools(view)


def _kept(key: str) -> str:
    return f"_picked_{key}"


def picked(key: str, default: object = None) -> object:
    """The value of the page's own control ``key`` (a :class:`Pick`), kept across reruns and page switches;
    ``default`` before it was first changed."""
    return st.session_state.get(_kept(key), default)


def _pick(pick: Pick) -> None:
    """Draw a :class:`Pick` showing its resolved value; a change is kept for :func:`picked`."""
    st.session_state[pick.key] = bool(pick.value) if pick.kind == "toggle" else pick.value

    def keep() -> None:
        st.session_state[_kept(pick.key)] = st.session_state[pick.key]

    if pick.kind == "toggle":
        st.toggle(pick.label, key=pick.key, help=pick.help, disabled=pick.disabled, on_change=keep)
    elif pick.kind == "segmented":
        st.segmented_control(pick.label, list(pick.options), key=pick.key, format_func=pick.format, help=pick.help,
                             disabled=pick.disabled, required=True, on_change=keep)
    else:
        st.selectbox(pick.label, list(pick.options), key=pick.key, format_func=pick.format, help=pick.help,
                     disabled=pick.disabled, on_change=keep)


def controls(choices: Sequence[Choice], container=None, widths: Sequence[int] | None = None) -> MethodState:
    """The page's controls in one row of columns; returns the methods the view uses.

    Each control is bound to its field of the view state (and so to the URL). A choice the data cannot
    answer is shown with its note and the view uses the resolved value.
    """
    methods = state.current_state().methods
    if not choices:
        return methods
    if state.current_state().present:  # on a projector: no widgets, one line saying what is shown
        (container or st).caption(" · ".join(f"**{escape_markdown(c.label)}:** {escape_markdown(_shown(c))}"
                                             for c in choices))
        return page_views.resolve(choices, methods)
    columns = (container or st).columns(list(widths) if widths else len(choices))
    used = {}
    for column, choice in zip(columns, choices):
        used[choice.field] = _control(column, choice)
    return replace(state.current_state().methods, **used)


def _shown(choice: Choice) -> str:
    """A choice's value as the reader sees it."""
    if choice.kind == "text":
        return choice.to_text(choice.value) if choice.to_text else str(choice.value)
    if choice.kind == "multiselect":
        return ", ".join(choice.format(v) for v in choice.value) or "none"
    return choice.format(choice.value)


def _control(column, choice: Choice) -> object:
    if choice.kind == "text":
        state.method_text(column, choice.field, choice.label, to_text=choice.to_text, parse=choice.parse,
                          help=choice.help)
        rejected = st.session_state.pop(f"_rejected_{choice.field}", None)
        if rejected is not None:
            st.warning(f"{escape_markdown(choice.label)} “{escape_markdown(rejected)[:60]}” not understood: "
                       f"{choice.invalid_hint or 'the earlier value is kept.'}")
        return getattr(state.current_state().methods, choice.field)
    if choice.kind == "multiselect":
        state.bound_multiselect(column, choice.field, choice.label, choice.options, choice.value, choice.format,
                                help=choice.help)
    else:
        state.bound_selectbox(column, choice.field, choice.label, choice.options, choice.value, choice.format,
                              help=choice.help)
    if choice.note:
        column.caption(escape_markdown(choice.note))
    return choice.value
