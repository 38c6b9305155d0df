"""Slide deck: PPTX opened with python-pptx (slides, titles, native tables, footnotes) and the HTML report."""
from __future__ import annotations

import base64
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


def test_pptx_has_one_slide_per_view_with_titles(png):
    slides = make_slides(png)
    presentation = open_pptx(deck.build_pptx(slides))
    assert len(presentation.slides) == 3
    assert [s.shapes.title.text for s in presentation.slides] == [s.title for s in slides]
    assert presentation.slide_width / presentation.slide_height == pytest.approx(16 / 9, rel=1e-3)


def test_pptx_tables_are_native_tables_with_the_cells(png):
    slides = make_slides(png)
    presentation = open_pptx(deck.build_pptx(slides))
    first, second, third = presentation.slides
    tables = [shape for shape in first.shapes if shape.has_table]
    assert len(tables) == 1  # a real, editable table, not a picture
    assert not [shape for shape in first.shapes if shape.shape_type == 13]  # no picture on a table-only slide
    assert table_values(tables[0]) == [
        ["Group", "Patients", "ORR % (95% CI)"],
        ["Leiomyosarcoma", "9", "0.0% (0.0–33.6)"],
        [HOSTILE, "1", "100.0% (2.5–100.0)"],  # data text stays text in PowerPoint
        ["All", "10", "10.0% (0.3–44.5)"],
    ]
    medians = [shape for shape in second.shapes if shape.has_table]
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
    for spec, slide in zip(slides, presentation.slides):
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


def test_long_table_is_cut_on_the_slide_and_says_so(png):
    frame = pd.DataFrame({"Patient": [f"P{i:02d}" for i in range(80)], "Value": range(80)})
    presentation = open_pptx(deck.build_pptx([deck.SlideSpec("Long", table=frame)]))
    slide = presentation.slides[0]
    table = [shape for shape in slide.shapes if shape.has_table][0]
    kept = len(table.table.rows) - 1
    assert 10 < kept < 80
    assert [table.table.cell(r, 0).text for r in (1, kept)] == ["P00", f"P{kept - 1:02d}"]
    note = shapes_named(slide, "Table note")[0].text_frame.text
    assert f"first {kept} of 80 rows" in note


@pytest.mark.parametrize("n_rows, with_chart", [(3, True), (9, True), (20, True), (20, False)])
def test_content_stays_above_the_footnote(png, n_rows, with_chart):
    frame = pd.DataFrame({
        "Group": [f"Undifferentiated pleomorphic sarcoma {i}" for i in range(n_rows)],
        "Median, months (95% CI)": ["2.25 (1.80–3.00)"] * n_rows,
        "PFS at 4 mo (95% CI) · at risk": ["17.9% (8.1–39.5) · 6 at risk"] * n_rows,
        "Note": ["only 4.0 events per covariate term (28 events, 7 terms); fewer than 10"] * n_rows,
    })
    spec = deck.SlideSpec("Fit", table=frame, chart_png=png if with_chart else None, filters="none")
    slide = open_pptx(deck.build_pptx([spec])).slides[0]
    footnote_top = shapes_named(slide, "Footnote")[0].top
    for shape in slide.shapes:
        if shape.name in ("Chart", "Table", "Table note"):
            height = sum(row.height for row in shape.table.rows) if shape.has_table else shape.height
            assert shape.top + height <= footnote_top, shape.name
            assert shape.left + shape.width <= open_pptx(deck.build_pptx([spec])).slide_width


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
