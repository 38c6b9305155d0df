"""Response: best response by histology, ORR/DCR by any grouping, subgroup forest plot, Fisher tests."""
from sarcoma_app.render import blocks, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import db
from sarcoma_app.views import response
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(response.TITLE, response.QUESTION)
filters = state.current_state().filters
patients = db.load_patients(filters)
methods = blocks.controls(response.choices(patients, state.current_state().methods))
blocks.show(response.build(patients, methods, assessments=db.load_assessments(filters)))
