"""Patients: swimmer plot of time on treatment and the per-patient table with the source of every value."""
from sarcoma_app.render import blocks, cohort_exports, page_views, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import db
from sarcoma_app.views import patients as patients_view
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(patients_view.TITLE, patients_view.QUESTION)
patients = db.load_patients(state.current_state().filters)
blocks.show(page_views.patients_page(state.current_state(), blocks.controls, blocks.picked, patients))
cohort_exports.show(patients)
