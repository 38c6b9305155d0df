"""Response: best response by histology, ORR/DCR by any grouping, subgroup forest plot, Fisher tests (a large
source: counted by the database, views/response_counts.py)."""
from sarcoma_app.render import blocks, page_views, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.views import response
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(response.TITLE, response.QUESTION)
blocks.show(page_views.response_page(state.current_state(), blocks.controls, blocks.picked))
