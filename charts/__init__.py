"""Pure Altair chart functions (DataFrame -> alt.Chart); no streamlit here.

Importing the package registers and enables the house theme once, and spares Altair's compound charts their
copies of subcharts without parameters (charts/composition.py).
"""
from charts import composition as _composition
from charts import theme as _theme  # noqa: F401  (registers the theme)
from charts.adverse_events import adverse_event_bars
from charts.assessments import spider_plot, waterfall_plot
from charts.cox import hazard_ratio_forest, schoenfeld_residual_plot
from charts.patients import swimmer_plot
from charts.response import best_response_bars, borrowing_intervals, rate_forest
from charts.survival import kaplan_meier_plot

_composition.install()

__all__ = [
    "adverse_event_bars",
    "best_response_bars",
    "borrowing_intervals",
    "hazard_ratio_forest",
    "kaplan_meier_plot",
    "rate_forest",
    "schoenfeld_residual_plot",
    "spider_plot",
    "swimmer_plot",
    "waterfall_plot",
]
