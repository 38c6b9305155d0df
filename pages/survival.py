"""Survival: Kaplan-Meier curves of a time-to-event endpoint by any grouping, numbers at risk, medians,
landmarks, log-rank test. A large source is counted by the database (views/survival_counts.py)."""
from sarcoma_app.render import blocks, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import db
from sarcoma_app.views import survival, survival_counts
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(survival.TITLE, survival.QUESTION)
filters = state.current_state().filters
if db.is_large():  # counts only: the patients are never loaded
    methods = blocks.controls(survival_counts.choices(db.recorded_counts(), db.count_studies(filters),
                                                      state.current_state().methods))
    counts = db.survival_counts(filters, methods.survival_endpoint, methods.km_by, methods.stratify == "study")
    blocks.show(survival_counts.build(counts, db.count_patients(filters), methods, methods.km_by))
else:
    patients = db.load_patients(filters)
    methods = blocks.controls(survival.choices(patients, state.current_state().methods))
    blocks.show(survival.build(patients, methods))
