"""Survival: Kaplan-Meier curves of a time-to-event endpoint by any grouping, numbers at risk, medians,
landmarks, log-rank test."""
from sarcoma_app.render import blocks, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import db
from sarcoma_app.views import survival
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(survival.TITLE, survival.QUESTION)
patients = db.load_patients(state.current_state().filters)
methods = blocks.controls(survival.choices(patients, state.current_state().methods))
blocks.show(survival.build(patients, methods))
