"""Data & methods: studies, source conflicts, data dictionary, glossaries and the exact methods."""
from sarcoma_app.render import blocks, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import cohort, db
from sarcoma_app.views import data_methods
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(data_methods.TITLE, data_methods.QUESTION)
blocks.show(data_methods.build(
    state.current_state().methods, studies=db.read_table("studies"), conflicts=db.read_table("source_conflicts"),
    dictionary=db.read_table("data_dictionary"), glossary=db.read_table("histology_glossary"),
    bundled=cohort.is_bundled(), published_tables=cohort.has_published_tables()))
