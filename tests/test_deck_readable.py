"""Every slide readable from the back of the room: each text run of the PPTX and each chart's smallest text (at
the size the slide shows it) at least 14 pt, for the views that used to fall short (KM with many curves and
its risk table, the published AE chart, the univariate hazard ratios' long notes)."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from pptx import Presentation

from bench.deck_preview import preview_views, slide_of, smallest_run_pt
from sarcoma_app.exports import deck
from sarcoma_app.views import survival
from sarcoma_app.viewstate.url_state import FilterState

MEASURED = ("KM, one curve", "KM by histology", "Hazard ratios univariate", "Hazard ratios adjusted",
            "AE as published (chart)", "AE tied to patients")


@pytest.fixture(scope="module")
def slides() -> dict[str, tuple[deck.SlideSpec, float, object]]:
    """name -> (slide spec with its chart rendered, the chart's smallest pt, the view)."""
    found = {name: (view, methods) for name, view, methods in preview_views()}
    out = {}
    for name in MEASURED:
        view, methods = found[name]
        spec, smallest = slide_of(view, methods, FilterState())
        out[name] = (spec, smallest, view)
    return out


def pptx_slides(spec: deck.SlideSpec):
    return list(Presentation(io.BytesIO(deck.build_pptx([spec]))).slides)


def table_rows(slides, title_part: str) -> list[list[str]]:
    rows = []
    for slide in slides:
        if title_part in slide.shapes.title.text:
            for shape in slide.shapes:
                if shape.has_table:
                    table = shape.table
                    rows += [[table.cell(r, c).text for c in range(len(table.columns))]
                             for r in range(1, len(table.rows))]
    return rows


@pytest.mark.parametrize("name", MEASURED)
def test_every_text_of_the_slides_is_at_least_14_pt(slides, name):
    spec, smallest, _ = slides[name]
    assert spec.chart_png and smallest >= deck.MIN_TEXT_PT, f"{name}: chart text {smallest:.1f} pt"
    for number, slide in enumerate(pptx_slides(spec), start=1):
        assert smallest_run_pt(slide) >= deck.MIN_TEXT_PT, f"{name}, slide {number}"


def test_km_of_one_curve_keeps_its_risk_table_under_the_curves(slides):
    spec, smallest, _ = slides["KM, one curve"]
    assert spec.tables == () and survival.KM_SLIDE_NOTE not in spec.caption and smallest >= deck.MIN_TEXT_PT


def test_km_of_eight_curves_puts_its_risk_table_on_slides_of_its_own(slides):
    spec, smallest, view = slides["KM by histology"]
    assert len(view.result.fits) == 8
    assert survival.KM_SLIDE_NOTE in spec.caption  # the slide says where the numbers at risk went
    ((name, risk),) = spec.tables
    assert name == "risk table" and len(risk) == 8 * 3  # at risk, events, censored per group (KMunicate)
    shown = pptx_slides(spec)
    rows = table_rows(shown, "— risk table")
    assert rows == [[deck.cell_text(v) for v in row] for row in risk.itertuples(index=False)]
    # the chart on the slide is the curves alone, larger than the curves with the risk table would be
    assert smallest >= deck.MIN_TEXT_PT


def test_univariate_hazard_ratios_number_their_long_notes_on_a_slide_of_their_own(slides):
    spec, _, view = slides["Hazard ratios univariate"]
    shown = pptx_slides(spec)
    table_slides = [s for s in shown if "— table" in s.shapes.title.text]
    assert 1 <= len(table_slides) <= 3  # was 6, with the notes in a column
    notes = table_rows(shown, "— notes")
    screen = view.table.frame
    distinct = list(dict.fromkeys(n for n in screen[deck.NOTE_COLUMN] if n))
    assert [text for _, text in notes] == distinct and [no for no, _ in notes] == [str(i + 1) for i in range(len(distinct))]
    numbers = [row[-1] for row in table_rows(shown, "— table")]
    assert numbers == [str(distinct.index(n) + 1) if n else "" for n in screen[deck.NOTE_COLUMN]]
    # every column on one slide: no column split
    assert not any("columns" in shape.text_frame.text for s in table_slides for shape in s.shapes
                   if shape.name == "Table note")


def test_published_ae_chart_puts_its_studies_side_by_side_on_the_slide(slides):
    spec, smallest, view = slides["AE as published (chart)"]
    screen, slide = view.chart.chart.to_dict(), view.slide_fallback.chart.to_dict()
    assert "row" in screen["facet"] and "column" in slide["facet"]  # one under the other on screen
    assert slide["data"] == screen["data"] if "data" in screen else slide["datasets"] == screen["datasets"]
    assert spec.chart_png and smallest >= deck.MIN_TEXT_PT


def test_split_notes_keeps_short_notes_and_numbers_a_repeated_note_once():
    short = pd.DataFrame({"Term": ["a", "b"], "Note": ["not estimable", None]})
    assert deck.split_notes(short) == (short, None)
    long = "only 4.0 events per covariate term; fewer than 10 per term makes estimates unreliable"
    frame = pd.DataFrame({"Term": ["a", "b", "c", "d"], "Note": [long, "", long, "x" * 40]})
    numbered, notes = deck.split_notes(frame)
    assert list(numbered["Note"]) == ["1", "", "1", "2"]
    assert notes.values.tolist() == [["1", long], ["2", "x" * 40]]
    assert list(frame["Note"]) == [long, "", long, "x" * 40]  # the view's own table is untouched


def test_further_tables_survive_the_deck_file_and_reach_the_html():
    risk = pd.DataFrame({"Group": ["<b>A</b>"], "0 mo": [5]})
    spec = deck.SlideSpec("KM", table=pd.DataFrame({"Group": ["A"]}), tables=(("risk table", risk),), filters="none")
    (loaded,), problems = deck.read_deck_file(deck.deck_file([spec]))
    assert problems == [] and loaded.tables[0][0] == "risk table"
    assert loaded.tables[0][1].values.tolist() == [["<b>A</b>", "5"]]
    html = deck.build_html([spec])
    assert "<h3>Risk table</h3>" in html and "&lt;b&gt;A&lt;/b&gt;" in html
    titles = [s.shapes.title.text for s in pptx_slides(spec)]
    assert titles == ["KM", "KM — risk table"]
