"""Published vs recomputed: every published number beside the one recomputed from the patient table."""
from sarcoma_app.render import blocks, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import cohort, db
from sarcoma_app.views import published
from sarcoma_app.viewstate import state
from sarcoma_app.viewstate.url_state import FilterState

require_app_frame()
ui.page_header(published.TITLE, published.QUESTION)
if cohort.has_published_tables():
    blocks.show(published.build(
        db.load_patients(FilterState()), state.current_state().methods,  # the papers' numbers: whole cohorts
        comparison=db.reconciliation(), published_results=db.read_table("published_results"),
        conflicts=db.read_table("source_conflicts"), value_sources=db.read_table("patient_value_sources"),
        studies=db.read_table("studies"), status=blocks.picked(published.STATUS_KEY),
        detail=blocks.picked(published.DETAIL_KEY)))
else:
    blocks.show([published.UNAVAILABLE])
