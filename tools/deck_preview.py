"""Build a tumour-board deck from the bundled papers' views (as 'Add to deck' does) and write it as PPTX,
for looking at it: ``PYTHONPATH=. python tools/deck_preview.py out.pptx``, then
``soffice --headless --convert-to pdf out.pptx`` and ``pdftoppm -png -r 60 out.pdf slide``.

Not a test (it needs no LibreOffice to run; looking at the slides does).
"""
from __future__ import annotations

import sys

import duckdb

import charts  # noqa: F401  (house theme)
from data.build import ensure_database
from sarcoma_app.exports import deck, downloads
from sarcoma_app.sources import filter_sql
from sarcoma_app.views import adverse_events, hazard_ratios, overview, survival
from sarcoma_app.views.blocks import views_of
from sarcoma_app.viewstate.url_state import FilterState, MethodState


def _read(sql: str, parameters=()):
    with duckdb.connect(str(ensure_database()), read_only=True) as con:
        return con.execute(sql, list(parameters)).df()


def slide_of(view, methods: MethodState, filters: FilterState) -> deck.SlideSpec:
    """The slide 'Add to deck' makes of ``view`` (see sarcoma_app.render.tools._add_slide)."""
    chart, table = view.chart, view.table
    frame = view.slide_table if view.slide_table is not None else table.frame if table else None
    spec = deck.SlideSpec(
        title=view.title, table=None if frame is None else frame.reset_index(drop=True),
        filters=deck.describe_filters(filters), n=view.n_text or f"{len(view.patients)} patients",
        methods=view.methods_text or deck.describe_methods(methods, deck.methods_of_view(view.key)),
        source="the bundled papers", caption=view.caption or (chart.caption if chart else table.caption if table else ""))
    if chart is not None:
        rendered = downloads.slide_chart_png(chart.chart, *deck.chart_box(spec), min_pt=deck.MIN_TEXT_PT)
        print(f"{view.key}: smallest chart text {rendered.smallest_pt:.1f} pt (fonts x{rendered.font_scale:.2f})")
        spec = deck.SlideSpec(**{**spec.__dict__, "chart_png": rendered.png})
    return spec


def main(path: str) -> None:
    filters = FilterState()
    sql, parameters = filter_sql.patients_sql(filters)
    patients = _read(sql, parameters)
    slides = []
    for km_by in ("pazopanib", "histology_group"):
        methods = MethodState(km_by=km_by)
        slides.append(slide_of(views_of(survival.build(patients, methods))[0], methods, filters))
    methods = MethodState()
    for view in views_of(hazard_ratios.build(patients[patients["study_id"] == "nab_paclitaxel_sintilimab"], methods)):
        if view.key in ("cox_univariate", "cox_multivariable"):
            slides.append(slide_of(view, methods, filters))
    events = _read("SELECT * FROM adverse_events WHERE patient_id IS NOT NULL")
    for view in views_of(adverse_events.build(patients, events, published=_read("SELECT * FROM published_adverse_events"))):
        slides.append(slide_of(view, methods, filters))
    studies = _read("SELECT * FROM studies")
    slides.append(slide_of(views_of(overview.build(patients, methods, studies))[0], methods, filters))
    with open(path, "wb") as out:
        out.write(deck.build_pptx(slides))
    print(f"{len(slides)} views -> {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "deck_preview.pptx")
