"""Hazard ratios: univariate Cox screening and a multivariable model the user composes."""
from sarcoma_app.render import blocks, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import cohort as data_source
from sarcoma_app.sources import db
from sarcoma_app.views import hazard_ratios
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(hazard_ratios.TITLE, hazard_ratios.QUESTION)
patients = db.load_patients(state.current_state().filters)
methods = blocks.controls(hazard_ratios.choices(patients, state.current_state().methods))
published = db.reconciliation() if data_source.has_published_tables() and methods.survival_endpoint == "pfs" else None
blocks.show(hazard_ratios.build(patients, methods, published))
