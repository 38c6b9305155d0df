"""Adverse events: the published AE tables as published, and per-patient events for the current filter.
A large source is counted by the database (views/adverse_events_counts.py)."""
from sarcoma_app.render import blocks, page_views, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.views import adverse_events
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(adverse_events.TITLE, adverse_events.QUESTION)
blocks.show(page_views.adverse_events_page(state.current_state(), blocks.controls, blocks.picked))
