"""Overview: the selected cohorts with headline response and PFS, per study.
A large source is counted by the database (views/overview_counts.py)."""
from sarcoma_app.render import blocks, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import cohort as data_source
from sarcoma_app.sources import db
from sarcoma_app.views import overview, overview_counts
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(overview.TITLE, overview.QUESTION)
filters = state.current_state().filters
published = db.reconciliation() if data_source.has_published_tables() else None
if db.is_large():  # counts only: the patients are never loaded
    counts = {part: db.pattern_counts(filters, columns) for part, columns in overview_counts.QUERIES.items()}
    blocks.show(overview_counts.build(counts, state.current_state().methods, db.read_table("studies"), published))
else:
    patients = db.load_patients(filters)
    methods = blocks.controls(overview.choices(patients, state.current_state().methods))
    blocks.show(overview.build(patients, methods, db.read_table("studies"), published))
