"""Slide deck: PPTX opened with python-pptx (slides, titles, native tables, footnotes) and the HTML report."""
from __future__ import annotations

import base64
import dataclasses
import json
import io
import re

import altair as alt
import pandas as pd
import pytest
from pptx import Presentation

import charts  # noqa: F401  (house theme)
from sarcoma_app.exports import deck, downloads
from sarcoma_app.viewstate.url_state import FilterState, MethodState

HOSTILE = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def png() -> bytes:
    chart = alt.Chart(pd.DataFrame({"x": [1, 2, 3], "y": [3, 1, 2]})).mark_line().encode(x="x:Q", y="y:Q")
    return downloads.chart_png(chart)


def make_slides(png: bytes) -> list[deck.SlideSpec]:
    response = pd.DataFrame({
        "Group": ["Leiomyosarcoma", HOSTILE, "All"],
        "Patients": [9, 1, 10],
        "ORR % (95% CI)": ["0.0% (0.0–33.6)", "100.0% (2.5–100.0)", "10.0% (0.3–44.5)"],
    })
    medians = pd.DataFrame({"Group": ["All patients"], "Median, months (95% CI)": ["2.25 (1.80–3.00)"],
                            "Events": [28], "Note": [None]})
    filters = deck.describe_filters(FilterState(pazopanib=("yes",), histology=(HOSTILE,)))
    methods = deck.describe_methods(MethodState(ci="wilson", conf_type="log-log", ties="breslow"))
    return [
        deck.SlideSpec("ORR by histology", page="Response", table=response, filters=filters, n="10 patients",
                       methods=methods, source="Nivolumab ± pazopanib (published; 000_x.txt)", key="a"),
        deck.SlideSpec("Progression-free survival", page="Survival", chart_png=png, table=medians,
                       filters="none (all patients)", n="28 patients, 28 events", methods=methods,
                       source="Nab-paclitaxel + sintilimab (published; 002_y.txt)", key="b"),
        deck.SlideSpec("Chart only", chart_png=png, filters="none (all patients)", n="56 patients", methods=methods,
                       source="both studies", key="c"),
    ]


def open_pptx(data: bytes):
    return Presentation(io.BytesIO(data))


def shapes_named(slide, name):
    return [shape for shape in slide.shapes if shape.name == name]


def table_values(shape) -> list[list[str]]:
    table = shape.table
    return [[table.cell(r, c).text for c in range(len(table.columns))] for r in range(len(table.rows))]


def test_pptx_has_a_slide_per_view_and_the_table_of_a_tall_chart_on_its_own(png):
    slides = make_slides(png)
    presentation = open_pptx(deck.build_pptx(slides))
    assert [s.shapes.title.text for s in presentation.slides] == [
        "ORR by histology", "Progression-free survival", "Progression-free survival — table", "Chart only"]
    assert presentation.slide_width / presentation.slide_height == pytest.approx(16 / 9, rel=1e-3)


def test_pptx_tables_are_native_tables_with_the_cells(png):
    slides = make_slides(png)
    presentation = open_pptx(deck.build_pptx(slides))
    first, second, second_table, third = presentation.slides
    tables = [shape for shape in first.shapes if shape.has_table]
    assert len(tables) == 1  # a real, editable table, not a picture
    assert not [shape for shape in first.shapes if shape.shape_type == 13]  # no picture on a table-only slide
    assert table_values(tables[0]) == [
        ["Group", "Patients", "ORR % (95% CI)"],
        ["Leiomyosarcoma", "9", "0.0% (0.0–33.6)"],
        [HOSTILE, "1", "100.0% (2.5–100.0)"],  # data text stays text in PowerPoint
        ["All", "10", "10.0% (0.3–44.5)"],
    ]
    assert not [shape for shape in second.shapes if shape.has_table]  # the chart has the whole slide
    medians = [shape for shape in second_table.shapes if shape.has_table]
    assert table_values(medians[0]) == [["Group", "Median, months (95% CI)", "Events", "Note"],
                                        ["All patients", "2.25 (1.80–3.00)", "28", "–"]]
    assert len(shapes_named(second, "Chart")) == 1
    assert not [shape for shape in third.shapes if shape.has_table]
    assert len(shapes_named(third, "Chart")) == 1


def test_pptx_chart_is_the_png(png):
    presentation = open_pptx(deck.build_pptx(make_slides(png)))
    picture = shapes_named(presentation.slides[1], "Chart")[0]
    assert picture.image.blob == png
    # inside the slide, aspect ratio kept
    width, height = deck.png_size(png)
    assert picture.width / picture.height == pytest.approx(width / height, rel=0.01)
    assert picture.left + picture.width <= presentation.slide_width
    assert picture.top + picture.height <= presentation.slide_height


def test_pptx_footnote_has_filters_n_methods_and_source(png):
    slides = make_slides(png)
    presentation = open_pptx(deck.build_pptx(slides))
    for spec, slide in zip([slides[0], slides[1], slides[1], slides[2]], presentation.slides):
        footnote = shapes_named(slide, "Footnote")
        assert len(footnote) == 1
        text = footnote[0].text_frame.text
        for label, value in spec.footnote_parts():
            assert f"{label}: {value}" in text
        assert "Filters:" in text and "n:" in text and "Methods:" in text and "Data:" in text
        assert slide.notes_slide.notes_text_frame.text.startswith("Filters: ")
    first = shapes_named(presentation.slides[0], "Footnote")[0].text_frame.text
    assert "Pazopanib co-treatment: yes" in first
    assert "Wilson score" in first and "log-log" in first and "Breslow" in first and "print.survfit" in first


def test_long_table_goes_on_over_slides_with_every_row(png):
    frame = pd.DataFrame({"Patient": [f"P{i:02d}" for i in range(80)], "Value": range(80)})
    presentation = open_pptx(deck.build_pptx([deck.SlideSpec("Long", table=frame)]))
    shown = []
    for slide in presentation.slides:
        (table,) = [shape for shape in slide.shapes if shape.has_table]
        rows = table_values(table)
        assert rows[0] == ["Patient", "Value"]  # the header on every slide
        shown += rows[1:]
    assert shown == [[f"P{i:02d}", str(i)] for i in range(80)]
    assert len(presentation.slides) > 1
    assert presentation.slides[1].shapes.title.text.startswith("Long — table (2 of ")
    assert "Rows 1–" in shapes_named(presentation.slides[0], "Table note")[0].text_frame.text


def test_wide_table_is_split_by_columns_with_the_label_column_repeated():
    frame = pd.DataFrame({"Adverse event": ["Fatigue", "Nausea"],
                          **{f"Grade {g} in study {s} (n = 28)": ["3 (10.7%)", "1 (3.6%)"] for g in range(1, 5)
                             for s in "ABCD"}})
    presentation = open_pptx(deck.build_pptx([deck.SlideSpec("Wide", table=frame)]))
    columns = []
    for slide in presentation.slides:
        (table,) = [shape for shape in slide.shapes if shape.has_table]
        rows = table_values(table)
        assert rows[0][0] == "Adverse event" and [r[0] for r in rows[1:]] == ["Fatigue", "Nausea"]
        columns += rows[0][1:]
    assert columns == list(frame.columns[1:]) and len(presentation.slides) > 1


def all_runs(slide):
    for shape in slide.shapes:
        frames = ([cell.text_frame for row in shape.table.rows for cell in row.cells] if shape.has_table
                  else [shape.text_frame] if shape.has_text_frame else [])
        for frame in frames:
            for paragraph in frame.paragraphs:
                yield from paragraph.runs


def test_every_text_on_every_slide_is_at_least_14_pt(png):
    frame = pd.DataFrame({"Group": [f"Group {i}" for i in range(30)], "n": range(30),
                          "Median (95% CI)": ["2.25 (1.80–3.00)"] * 30})
    slides = make_slides(png) + [deck.SlideSpec("Long", table=frame, caption="What the table shows.",
                                                filters="none", n="30", methods=deck.describe_methods(MethodState()))]
    presentation = open_pptx(deck.build_pptx(slides))
    sizes = [run.font.size.pt for slide in presentation.slides for run in all_runs(slide)]
    assert sizes and min(sizes) >= deck.MIN_TEXT_PT


def survival_chart() -> alt.TopLevelMixin:
    """The Survival page's KM chart of PFS by pazopanib co-treatment (3 groups with its KMunicate risk table)."""
    from sarcoma_app.views import survival
    from sarcoma_app.views.blocks import views_of
    from tests.test_snippets import load_patients
    view = views_of(survival.build(load_patients(FilterState()), MethodState(km_by="pazopanib")))[0]
    return view.chart.chart


def test_km_chart_fills_the_slide_width_with_text_of_at_least_14_pt():
    chart = survival_chart()
    spec = deck.SlideSpec("PFS by histology", table=pd.DataFrame({"Group": ["a"], "n": [1]}), filters="none",
                          n="56 patients", methods=deck.describe_methods(MethodState(), ("km",)))
    box_w, box_h = deck.chart_box(spec)
    png, font, smallest_pt = downloads.slide_chart_png(chart, box_w, box_h)
    presentation = open_pptx(deck.build_pptx([dataclasses.replace(spec, chart_png=png)]))
    (picture,) = shapes_named(presentation.slides[0], "Chart")
    assert picture.image.blob == png
    assert picture.width >= 0.75 * presentation.slide_width
    # the smallest font of the chart (tick labels included), at the size the slide shows the picture
    points_per_px = picture.width / 12700 / (deck.png_size(png)[0] / downloads.PNG_SCALE)  # 12700 EMU per pt
    smallest_px = min(downloads._font_sizes(json.loads(downloads.chart_spec(chart))))
    assert smallest_px * font * points_per_px >= 14
    assert smallest_pt == pytest.approx(smallest_px * font * points_per_px, rel=0.02)
    # the plain export placed as large would show it smaller: the scaling did the work
    plain_w, plain_h = (v / downloads.PNG_SCALE for v in deck.png_size(downloads.chart_png(chart)))
    assert smallest_px * min(box_w * 72 / plain_w, box_h * 72 / plain_h) < 14


def test_footnote_lists_only_the_methods_of_the_view():
    methods = MethodState(ci="wilson", ties="breslow")
    km = deck.describe_methods(methods, deck.methods_of_view("survival_km"))
    assert "Kaplan–Meier" in km and "Wilson" not in km and "Cox" not in km
    cox = deck.describe_methods(methods, deck.methods_of_view("cox_univariate"))
    assert "Breslow" in cox and "Kaplan–Meier" not in cox
    rates = deck.describe_methods(methods, deck.methods_of_view("response_table"))
    assert "Wilson" in rates and "Cox" not in rates
    assert "no estimate" in deck.describe_methods(methods, deck.methods_of_view("response_bars"))


@pytest.mark.parametrize("n_rows, with_chart", [(3, True), (9, True), (20, True), (20, False)])
def test_content_stays_above_the_footnote(png, n_rows, with_chart):
    frame = pd.DataFrame({
        "Group": [f"Undifferentiated pleomorphic sarcoma {i}" for i in range(n_rows)],
        "Median, months (95% CI)": ["2.25 (1.80–3.00)"] * n_rows,
        "PFS at 4 mo (95% CI) · at risk": ["17.9% (8.1–39.5) · 6 at risk"] * n_rows,
        "Note": ["only 4.0 events per covariate term (28 events, 7 terms); fewer than 10"] * n_rows,
    })
    spec = deck.SlideSpec("Fit", table=frame, chart_png=png if with_chart else None, filters="none")
    presentation = open_pptx(deck.build_pptx([spec]))
    for slide in presentation.slides:
        footnote_top = shapes_named(slide, "Footnote")[0].top
        for shape in slide.shapes:
            if shape.name in ("Chart", "Table", "Table note"):
                height = sum(row.height for row in shape.table.rows) if shape.has_table else shape.height
                assert shape.top + height <= footnote_top, shape.name
                assert shape.left + shape.width <= presentation.slide_width


def test_empty_deck_gives_a_valid_file():
    assert len(open_pptx(deck.build_pptx([])).slides) == 0
    assert "The deck is empty" in deck.build_html([])


def test_html_report_is_self_contained_and_escaped(png):
    slides = make_slides(png)
    report = deck.build_html(slides, title="Board <b>1</b>")
    assert report.startswith("<!DOCTYPE html>")
    assert "<script" not in report.lower()  # the hostile histology never becomes markup
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in report
    assert "Board &lt;b&gt;1&lt;/b&gt;" in report
    # images embedded as base64 (no external resource)
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', report)
    assert len(images) == 2 and base64.b64decode(images[0]) == png
    assert not re.search(r'(src|href)="(?!data:)', report)
    # the same content as the deck: titles, every table cell, footnotes
    for index, spec in enumerate(slides, start=1):
        assert f"<h2>{index}. {spec.title}</h2>" in report
    tables = pd.read_html(io.StringIO(report))
    assert len(tables) == 2
    assert tables[0]["Group"].tolist() == ["Leiomyosarcoma", HOSTILE, "All"]
    assert "Pazopanib co-treatment: yes" in report and "28 patients, 28 events" in report
    assert "Nab-paclitaxel + sintilimab (published; 002_y.txt)" in report


def test_html_report_keeps_the_whole_table():
    frame = pd.DataFrame({"Patient": [f"P{i:02d}" for i in range(30)]})
    report = deck.build_html([deck.SlideSpec("Long", table=frame)])
    assert len(pd.read_html(io.StringIO(report))[0]) == 30


def test_deck_list_operations():
    a, b, c = (deck.SlideSpec(t, key=t) for t in "abc")
    slides = deck.add(deck.add(deck.add([], a), b), c)
    assert [s.title for s in slides] == ["a", "b", "c"]
    assert [s.title for s in deck.move(slides, 2, -1)] == ["a", "c", "b"]
    assert [s.title for s in deck.move(slides, 0, -1)] == ["a", "b", "c"]  # already first
    assert [s.title for s in deck.move(slides, 0, 1)] == ["b", "a", "c"]
    assert [s.title for s in deck.remove(slides, 1)] == ["a", "c"]
    assert [s.title for s in deck.move(slides, 9, 1)] == ["a", "b", "c"]
    assert len(deck.add(slides, a, limit=2)) == 2


def test_footnote_texts():
    assert deck.describe_filters(FilterState()) == "none (all patients)"
    text = deck.describe_filters(FilterState(study=("nab_paclitaxel_sintilimab",), response=("CR", "PR"),
                                             evaluable_only=True))
    assert "Study: Nab-paclitaxel + sintilimab" in text and "CR – complete response" in text
    assert text.endswith("evaluable for response only")
    methods = deck.describe_methods(MethodState())
    assert "Clopper–Pearson" in methods and "log (R default)" in methods and "Efron" in methods
    assert "landmarks 4, 6 months" in methods


def test_png_size_rejects_other_data():
    with pytest.raises(ValueError):
        deck.png_size(b"GIF89a....")



# --------------------------------------------------------------------------- #
# The deck file
# --------------------------------------------------------------------------- #
def _png(width: int = 120, height: int = 80) -> bytes:
    return downloads.chart_png(alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
                               .properties(width=width, height=height))


def test_deck_file_round_trip_keeps_every_slide_fact():
    slides = [deck.SlideSpec("KM *of* PFS", page="Survival", chart_png=_png(),
                             table=pd.DataFrame({"Group": ["All", None], "n": [28, 3]}), filters="Study: N",
                             n="28 patients", methods="log CI", source="seed", caption="c", key="k1", origin="bundled"),
              deck.SlideSpec("Table only", table=pd.DataFrame({"a": ["x"]}), key="k2")]
    loaded, problems = deck.read_deck_file(deck.deck_file(slides))
    assert problems == []
    for before, after in zip(slides, loaded):
        for name in ("title", "page", "filters", "n", "methods", "source", "caption", "key"):
            assert getattr(after, name) == getattr(before, name), name
        assert after.chart_png == before.chart_png
        assert after.table.values.tolist() == deck.table_cells(before.table)[1]
        assert after.origin == deck.FILE_ORIGIN
    assert loaded[0].table.values.tolist() == [["All", "28"], ["–", "3"]]
    assert deck.build_pptx(loaded) and "KM *of* PFS" in deck.build_html(loaded)


@pytest.mark.parametrize("data, message", [
    (b"\xff\xfe not text", "not JSON"),
    (b"[" * 200_000, "not JSON"),
    (b'{"kind": "other", "version": 1, "slides": []}', "not a deck file"),
    (b'{"kind": "sarcoma-dashboard-deck", "version": 99, "slides": []}', "version 99"),
    (b'{"kind": "sarcoma-dashboard-deck", "version": 1, "slides": {}}', "no list of slides"),
    (b"x" * (deck.MAX_DECK_FILE_BYTES + 1), "larger than"),
])
def test_a_hostile_deck_file_gives_a_message_not_an_error(data, message):
    slides, problems = deck.read_deck_file(data)
    assert slides == [] and len(problems) == 1 and message in problems[0]


def test_bad_slides_are_left_out_by_number_and_the_good_ones_kept():
    import json

    good = json.loads(deck.deck_file([deck.SlideSpec("Good", table=pd.DataFrame({"a": ["1"]}))]))["slides"][0]
    bad = [
        {**good, "title": ""},
        {**good, "chart_png": "not base64!", "table": None},
        {**good, "chart_png": base64.b64encode(b"GIF89a....").decode()},
        {**good, "table": {"columns": ["a"], "rows": [["1", "2"]]}},
        {**good, "table": {"columns": ["a", "a"], "rows": []}},
        {**good, "caption": "x" * (deck.MAX_FILE_TEXT + 1)},
        {**good, "title": 42},
        "not a slide",
        {**good, "chart_png": None, "table": None},
    ]
    content = {"kind": deck.DECK_FILE_KIND, "version": 1, "slides": [good, *bad, good]}
    slides, problems = deck.read_deck_file(json.dumps(content).encode())
    assert [s.title for s in slides] == ["Good", "Good"]
    assert [p.split(" was left out")[0] for p in problems] == [f"Slide {n}" for n in range(2, 2 + len(bad))]
    too_many = {**content, "slides": [good] * (deck.MAX_DECK_SLIDES + 5)}
    slides, problems = deck.read_deck_file(json.dumps(too_many).encode())
    assert len(slides) == deck.MAX_DECK_SLIDES and "first 40 are loaded" in problems[0]
