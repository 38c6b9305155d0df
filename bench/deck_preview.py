"""Measure the tumour-board deck: build it from the bundled papers' views (as 'Add to deck' does), write it as
PPTX and print the smallest text in points on each slide (chart text at the size the slide shows the picture,
and every text run of tables, captions and footnotes).

Usage (from the repository root)::

    PYTHONPATH=. .venv/bin/python bench/deck_preview.py tests/artifacts/deck/deck.pptx
    cd tests/artifacts/deck && soffice --headless --convert-to pdf deck.pptx && pdftoppm -png -r 60 deck.pdf slide

then look at the slide images. Prints figures; asserts nothing (tests/test_deck_readable.py does).
"""
from __future__ import annotations

import io
import math
import sys

import duckdb

import charts  # noqa: F401  (house theme)
from data.build import ensure_database
from sarcoma_app.exports import deck
from sarcoma_app.sources import filter_sql
from sarcoma_app.views import adverse_events, hazard_ratios, overview, survival
from sarcoma_app.views.blocks import views_of
from sarcoma_app.viewstate.url_state import FilterState, MethodState


def _read(sql: str, parameters=()):
    with duckdb.connect(str(ensure_database()), read_only=True) as con:
        return con.execute(sql, list(parameters)).df()


def slide_of(view, methods: MethodState, filters: FilterState) -> tuple[deck.SlideSpec, float]:
    """The slide 'Add to deck' makes of ``view`` (as sarcoma_app.render.blocks._show_view and
    sarcoma_app.render.tools._add_slide), and its chart's smallest text in points (``nan``: no chart)."""
    chart, table = view.chart, view.table
    frame = view.slide_table if view.slide_table is not None else table.frame if table else None
    spec = deck.SlideSpec(
        title=view.title, table=None if frame is None else frame.reset_index(drop=True), key=view.key,
        filters=deck.describe_filters(filters), n=view.n_text or f"{len(view.patients)} patients",
        methods=view.methods_text or deck.describe_methods(methods, deck.methods_of_view(view.key)),
        source="the bundled papers", caption=view.caption or (chart.caption if chart else table.caption if table else ""))
    if chart is None:
        return spec, math.nan
    return deck.with_chart(spec, chart.chart, view.slide_fallback)


def preview_views() -> list[tuple[str, object, MethodState]]:
    """(name, view, methods) of the measured views: KM of one curve and by histology (8 curves), univariate
    and adjusted hazard ratios, the AE charts (as published, tied to patients) and the Overview."""
    filters = FilterState()
    sql, parameters = filter_sql.patients_sql(filters)
    patients = _read(sql, parameters)
    found = []
    for name, km_by in (("KM, one curve", "none"), ("KM by pazopanib", "pazopanib"),
                        ("KM by histology", "histology_group")):
        methods = MethodState(km_by=km_by)
        found.append((name, views_of(survival.build(patients, methods))[0], methods))
    methods = MethodState()
    names = {"cox_univariate": "Hazard ratios univariate", "cox_multivariable": "Hazard ratios adjusted"}
    for view in views_of(hazard_ratios.build(patients[patients["study_id"] == "nab_paclitaxel_sintilimab"], methods)):
        if view.key in names:
            found.append((names[view.key], view, methods))
    events = _read("SELECT * FROM adverse_events WHERE patient_id IS NOT NULL")
    names = {"ae_published_chart": "AE as published (chart)", "ae_patient_chart": "AE tied to patients"}
    for view in views_of(adverse_events.build(patients, events, published=_read("SELECT * FROM published_adverse_events"))):
        found.append((names.get(view.key, view.title), view, methods))
    studies = _read("SELECT * FROM studies")
    found.append(("Overview", views_of(overview.build(patients, methods, studies))[0], methods))
    return found


def smallest_run_pt(slide) -> float:
    """The smallest text run (tables, title, caption, footnote) of a python-pptx slide, in points."""
    sizes = []
    for shape in slide.shapes:
        frames = ([cell.text_frame for row in shape.table.rows for cell in row.cells] if shape.has_table
                  else [shape.text_frame] if shape.has_text_frame else [])
        sizes += [run.font.size.pt for frame in frames for paragraph in frame.paragraphs for run in paragraph.runs
                  if run.text.strip()]
    return min(sizes, default=math.nan)


def main(path: str) -> None:
    from pptx import Presentation

    slides, chart_pt = [], {}
    for name, view, methods in preview_views():
        spec, smallest = slide_of(view, methods, FilterState())
        slides.append(spec)
        if spec.chart_png:
            chart_pt[spec.chart_png] = smallest
        print(f"{name}: chart {'none on the slide' if math.isnan(smallest) or math.isinf(smallest) else f'{smallest:.1f} pt'}")
    data = deck.build_pptx(slides)
    with open(path, "wb") as out:
        out.write(data)
    print(f"{len(slides)} views -> {path}")
    for number, slide in enumerate(Presentation(io.BytesIO(data)).slides, start=1):
        charts_pt = [chart_pt[shape.image.blob] for shape in slide.shapes if shape.shape_type == 13]
        chart_text = f", chart {min(charts_pt):.1f} pt" if charts_pt else ""
        print(f"slide {number:2d}: text {smallest_run_pt(slide):.0f} pt{chart_text} · {slide.shapes.title.text}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "deck_preview.pptx")
