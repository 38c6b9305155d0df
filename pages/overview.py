"""Overview: the selected cohorts with headline response and PFS, per study (a large source: counted by the
database, views/overview_counts.py)."""
from sarcoma_app.render import blocks, page_views, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.views import overview
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(overview.TITLE, overview.QUESTION)
blocks.show(page_views.overview_page(state.current_state(), blocks.controls, blocks.picked))
