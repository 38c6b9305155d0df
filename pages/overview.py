"""Overview: the selected cohorts with headline response and PFS, per study."""
from sarcoma_app.render import blocks, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import cohort as data_source
from sarcoma_app.sources import db
from sarcoma_app.views import overview
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(overview.TITLE, overview.QUESTION)
patients = db.load_patients(state.current_state().filters)
methods = blocks.controls(overview.choices(patients, state.current_state().methods))
published = db.reconciliation() if data_source.has_published_tables() else None
blocks.show(overview.build(patients, methods, db.read_table("studies"), published))
