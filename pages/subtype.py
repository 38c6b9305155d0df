"""Subtype across studies: one histology (or histology group), every study's patients with it side by side."""
from dataclasses import replace

from sarcoma_app.render import blocks, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import cohort, db
from sarcoma_app.views import subtype
from sarcoma_app.viewstate import state
from sarcoma_app.viewstate.url_state import FilterState

require_app_frame()
ui.page_header(subtype.TITLE, subtype.QUESTION)
filters = state.current_state().filters
# The page picks the histology itself; the sidebar's other filters (study, pazopanib, ECOG...) still apply.
patients = db.load_patients(replace(filters, histology=(), histology_group=()))
blocks.show(subtype.build(
    patients, state.current_state().methods, every_patient=db.load_patients(FilterState()),
    chosen=blocks.picked(subtype.CHOICE_KEY), pooled=bool(blocks.picked(subtype.POOLED_KEY, False)),
    studies=db.read_table("studies"), histology_filtered=bool(filters.histology or filters.histology_group),
    printed=db.read_table("published_response_by_histology") if cohort.has_published_tables() else None,
    conflicts=db.read_table("source_conflicts") if cohort.has_published_tables() else None))
