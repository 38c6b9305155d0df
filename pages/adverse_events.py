"""Adverse events: the published AE tables as published, and per-patient events for the current filter."""
from sarcoma_app.render import blocks, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import cohort, db
from sarcoma_app.views import adverse_events
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(adverse_events.TITLE, adverse_events.QUESTION)
filters = state.current_state().filters
patients = db.load_patients(filters)
published = db.read_table("published_adverse_events") if cohort.has_published_tables() else None
blocks.show(adverse_events.build(patients, db.load_adverse_events(filters),
                                 untied=db.load_untied_adverse_events(adverse_events.studies_of(patients)),
                                 published=published))
