"""Sarcoma response & survival explorer: entry point.

Page config, navigation, the shared sidebar (filters + patient caption), URL
sync, then the selected page. Run with ``streamlit run app.py``.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from sarcoma_app.viewstate import state

state.remember_link()  # first: a page click during a cold start (even the icon's loading) must not lose the link

st.set_page_config(
    page_title="Sarcoma response & survival explorer",
    page_icon=str(Path(__file__).parent / "sarcoma_app" / "assets" / "icon.png"),  # local: no network needed
    layout="wide",
    initial_sidebar_state="expanded",
    menu_items={"About": "Open-source explorer of published sarcoma immunotherapy cohorts. "
                         "Numbers follow R `survival` conventions; see Data & methods."},
)

import charts  # noqa: E402,F401  (registers the house chart theme once)
from dataclasses import replace  # noqa: E402

from sarcoma_app.sources import cohort, db  # noqa: E402
from sarcoma_app.render import memory, sidebar, tools  # noqa: E402
from sarcoma_app.render.navigation import app_pages, run_page_in_frame  # noqa: E402
from sarcoma_app.text import escape_markdown  # noqa: E402

memory.freeze_long_lived()  # once per process: the modules and chart schema out of every rerun's full GC pass

page = st.navigation(app_pages())

# The data source first (published cohorts, this session's upload, a simulated registry):
# the filters' allowed values come from it.
sources = cohort.available_sources()
cohort.activate(state.source_to_use(sources))
try:
    allowed = replace(db.allowed_values(), sources=sources)
except Exception as error:  # the database could not be opened or built
    st.error("The database could not be opened. Run `python data/build.py` and reload.", icon=":material/error:")
    st.caption(type(error).__name__)
    st.stop()

state.sync_from_url(allowed)
cohort.settle(allowed)
cohort.render_source_picker(sources)
sidebar.render_sidebar(allowed)
state.write_url()
tools.render_sidebar_deck()  # tumour-board slide deck (Add to deck under each view)
tools.guard_reload()  # the browser asks before a reload empties the deck or an upload
tools.render_presentation_controls()  # ?present=1: projector view, or the sidebar toggle to enter it
st.sidebar.divider()
st.sidebar.caption(f"Data: {escape_markdown(cohort.source_description())}. Abbreviations and methods: "
                   "see **Data & methods**. The URL holds the whole view: copy it to share.")

run_page_in_frame(page)
