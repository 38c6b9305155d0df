"""Response: best response by histology, ORR/DCR by any grouping, subgroup forest plot, Fisher tests.
A large source is counted by the database (views/response_counts.py)."""
from sarcoma_app.render import blocks, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import db
from sarcoma_app.views import response, response_counts
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(response.TITLE, response.QUESTION)
filters = state.current_state().filters
if db.is_large():  # counts only: the patients are never loaded
    methods = blocks.controls(response_counts.choices(db.recorded_counts(), state.current_state().methods))
    counts = {part: db.pattern_counts(filters, columns) for part, columns in response_counts.queries(methods).items()}
    blocks.show(response_counts.build(counts, db.count_patients(filters), methods))
else:
    patients = db.load_patients(filters)
    methods = blocks.controls(response.choices(patients, state.current_state().methods))
    blocks.show(response.build(patients, methods, assessments=db.load_assessments(filters)))
