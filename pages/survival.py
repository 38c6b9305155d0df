"""Survival: Kaplan-Meier curves of a time-to-event endpoint by any grouping, numbers at risk, medians,
landmarks, log-rank test. A large source is counted by the database (views/survival_counts.py)."""
from sarcoma_app.render import blocks, page_views, ui
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.views import survival
from sarcoma_app.viewstate import state

require_app_frame()
ui.page_header(survival.TITLE, survival.QUESTION)
blocks.show(page_views.survival_page(state.current_state(), blocks.controls, blocks.picked))
