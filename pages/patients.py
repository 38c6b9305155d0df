"""Patients: swimmer plot of time on treatment and the per-patient table with the source of every value."""
from sarcoma_app.render import blocks, cohort_exports, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import cohort, db
from sarcoma_app.views import patients as patients_view
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(patients_view.TITLE, patients_view.QUESTION)
filters = state.current_state().filters
patients = db.load_patients(filters)
blocks.show(patients_view.build(
    patients, state.current_state().methods, value_sources=db.load_value_sources(filters),
    studies=db.read_table("studies"), published_tables=cohort.has_published_tables(),
    chosen=blocks.picked(patients_view.PROVENANCE_KEY)))
cohort_exports.show(patients)
