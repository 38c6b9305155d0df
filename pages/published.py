"""Published vs recomputed: every published number beside the one recomputed from the patient table."""
from sarcoma_app.render import blocks, page_views, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.views import published
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(published.TITLE, published.QUESTION)
blocks.show(page_views.published_page(state.current_state(), blocks.controls, blocks.picked))
