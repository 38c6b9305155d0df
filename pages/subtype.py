"""Subtype across studies: one histology (or histology group), every study's patients with it side by side."""
from sarcoma_app.render import blocks, page_views, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.views import subtype
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(subtype.TITLE, subtype.QUESTION)
blocks.show(page_views.subtype_page(state.current_state(), blocks.controls, blocks.picked))
