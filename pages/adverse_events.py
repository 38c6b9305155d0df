"""Adverse events: the published AE tables as published, and per-patient events for the current filter.
A large source is counted by the database (views/adverse_events_counts.py)."""
from sarcoma_app.render import blocks, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import cohort, db
from sarcoma_app.views import adverse_events, adverse_events_counts, common
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(adverse_events.TITLE, adverse_events.QUESTION)
filters = state.current_state().filters
if db.is_large():  # counts only: neither the patients nor their events are loaded
    blocks.show([common.not_available("The published AE tables")]
                + adverse_events_counts.build(db.adverse_event_counts(filters), db.count_patients(filters)))
else:
    patients = db.load_patients(filters)
    published = db.read_table("published_adverse_events") if cohort.has_published_tables() else None
    blocks.show(adverse_events.build(patients, db.load_adverse_events(filters),
                                     untied=db.load_untied_adverse_events(adverse_events.studies_of(patients)),
                                     published=published))
