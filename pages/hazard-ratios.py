"""Hazard ratios: univariate Cox screening and a multivariable model the user composes."""
from sarcoma_app.render import blocks, page_views, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.views import hazard_ratios
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(hazard_ratios.TITLE, hazard_ratios.QUESTION)
blocks.show(page_views.hazard_ratios_page(state.current_state(), blocks.controls, blocks.picked))
