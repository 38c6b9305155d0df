"""Tumour-board features under AppTest: the two new pages, the deck, presentation mode, ?present=1 in the URL.

Expected numbers come from the analysis API on data read straight from DuckDB.
"""
from __future__ import annotations

import io
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pptx import Presentation
from streamlit.testing.v1 import AppTest

from analysis.reconcile import (DIFFERS, NOT_COMPUTABLE, REPRODUCED, REPRODUCED_UNDER_ASSUMPTION, STATUSES,
                                reconcile)
from data.build import ensure_database
from sarcoma_app.exports import deck
from sarcoma_app.views import published, subtype
from sarcoma_app.viewstate.url_state import AllowedValues, ViewState, parse_query, to_query
from tests.apptest_helpers import open_code_expanders, run_app

ROOT = Path(__file__).resolve().parents[1]
NAB, NIVO = "nab_paclitaxel_sintilimab", "nivolumab_pazopanib"
NAB_LABEL, NIVO_LABEL = "Nab-paclitaxel + sintilimab", "Nivolumab ± pazopanib"


def sql(statement: str, parameters: tuple = ()) -> pd.DataFrame:
    with duckdb.connect(str(ensure_database()), read_only=True) as con:
        return con.execute(statement, list(parameters)).df()


def frame_with_column(at: AppTest, column: str) -> pd.DataFrame:
    matches = [d.value for d in at.dataframe if column in d.value.columns]
    assert matches, f"no table with column {column!r}"
    return matches[0]


def plain(frame) -> pd.DataFrame:
    """The DataFrame behind a displayed table (styled or not)."""
    return frame.data if hasattr(frame, "data") else frame


# --------------------------------------------------------------------------- #
# Published vs recomputed
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def expected_reconciliation() -> pd.DataFrame:
    return reconcile(sql("SELECT * FROM published_results"), sql("SELECT * FROM patients"),
                     studies=sql("SELECT * FROM studies"), assumptions=sql("SELECT * FROM patient_value_sources"))


def test_published_page_headline_equals_reconcile(expected_reconciliation):
    at = run_app(page="pages/published.py")
    counts = expected_reconciliation["status"].value_counts()
    n_reproduced, n_assumed, n_differs, n_not = (int(counts.get(s, 0)) for s in STATUSES)
    expected = (f"Of {len(expected_reconciliation)} published numbers: {n_reproduced} reproduced, {n_assumed} under an "
                f"assumption, {n_differs} differ, {n_not} not computable")
    assert at.subheader[0].value == expected
    # the bundled data
    assert expected == "Of 20 published numbers: 14 reproduced, 3 under an assumption, 0 differ, 3 not computable"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["✔ reproduced"] == str(n_reproduced)
    assert metrics["△ under an assumption"] == str(n_assumed)
    assert metrics["○ not computable"] == str(n_not)


def test_published_page_table_flags_every_number_with_icon_text_source_and_conflicts(expected_reconciliation):
    at = run_app(page="pages/published.py")
    tables = [plain(d.value) for d in at.dataframe if "Recomputed from patients" in plain(d.value).columns]
    assert len(tables) == 2  # one table per paper
    table = pd.concat(tables, ignore_index=True)
    assert len(table) == len(expected_reconciliation)
    assert (table["Status"] == "✔ reproduced").sum() == (expected_reconciliation["status"] == REPRODUCED).sum()
    # icon + word, not colour alone
    assert set(table["Status"]) <= {"✔ reproduced", "△ reproduced under an assumption", "✖ differs", "○ not computable"}
    headers = "\n".join(m.value for m in at.markdown)
    assert ("**Nab\\-paclitaxel \\+ sintilimab** · 002\\_e13a0ade5dd2a04e\\.txt — 12 numbers: 8 reproduced, "
            "3 under an assumption, 0 differ, 1 not computable") in headers
    assert (table["Location in the paper"].str.len() > 0).all()
    head = table[table["What"] == "HR: Head vs other primary sites"].iloc[0]
    assert head["Conflicts"] == "C13, C18" and head["Status"] == "△ reproduced under an assumption"
    assert "Head vs Extremities" in head["Assumption"] and "0.26" in head["Why / difference"]
    pazopanib = table[table["What"] == "Patients on pazopanib"].iloc[0]
    assert pazopanib["Conflicts"] == "C05, C14, C16" and pazopanib["Status"] == "✔ reproduced"
    assert "C04" in table[table["What"] == "Patients with a grade 3–4 AE"]["Conflicts"].iloc[0]


def test_published_page_ignores_the_sidebar_filters(expected_reconciliation):
    at = run_app({"pazopanib": "yes"}, page="pages/published.py")
    assert at.subheader[0].value.startswith(
        f"Of {len(expected_reconciliation)} published numbers: {(expected_reconciliation['status'] == REPRODUCED).sum()} "
        "reproduced")


def test_published_page_detail_shows_the_conflict_statements():
    at = run_app(page="pages/published.py")
    at.selectbox(key="published_detail").set_value("nab_hr_head").run()
    assert not at.exception
    assert any(e.label.startswith("C13 — ") for e in at.expander)
    text = "\n".join(m.value for m in at.markdown)
    assert "Recorded conflicts that concern this number:** C13, C18" in text


def test_conflict_matching_rules():
    conflicts = sql("SELECT * FROM source_conflicts")
    results = sql("SELECT * FROM published_results").set_index("result_id")
    related = {rid: published.related_conflicts(results.loc[rid].to_dict() | {"result_id": rid}, conflicts)
               for rid in results.index}
    assert related["nab_hr_head"] == ["C13", "C18"]
    assert related["nab_hr_angiosarcoma"] == ["C18"]  # C01 is about angiosarcoma responses, not its HR
    assert set(related["nab_n_sd"]) == {"C01", "C02"}
    assert related["nab_median_pfs"] == ["C18"]
    assert related["nab_hr_ae3"] == ["C19"]
    assert all(not ids or all(conflicts.set_index("conflict_id").at[i, "study_id"] == results.at[rid, "study_id"]
                              for i in ids) for rid, ids in related.items())


def test_split_source():
    assert published.split_source("002_e13a0ade5dd2a04e.txt, Table 3; Abstract") == (
        "002_e13a0ade5dd2a04e.txt", "Table 3; Abstract")
    assert published.split_source("no seed here") == ("", "no seed here")
    assert published.split_source(None) == ("", "")


# --------------------------------------------------------------------------- #
# Subtype across studies
# --------------------------------------------------------------------------- #
def subtype_table(at: AppTest) -> pd.DataFrame:
    """The side-by-side table, back to one row per study."""
    wide = frame_with_column(at, "Per study").set_index("Per study")
    return wide.T.rename_axis("Study").reset_index()


def test_subtype_page_shows_leiomyosarcoma_per_study_never_pooled_by_default():
    at = run_app(page="pages/subtype.py")
    at.selectbox(key="w_subtype").set_value("group:Leiomyosarcoma").run()
    assert not at.exception
    wide = frame_with_column(at, "Per study")
    assert wide.columns.tolist() == ["Per study", NAB_LABEL, NIVO_LABEL]  # both studies, side by side
    table = subtype_table(at)
    counts = sql("SELECT study_id, count(*) AS n FROM patients WHERE histology_group = 'Leiomyosarcoma' "
                 "GROUP BY study_id").set_index("study_id")["n"]
    assert table["Patients"].tolist() == [str(counts[NAB]), str(counts[NIVO])] == ["2", "7"]
    assert subtype.POOLED_LABEL not in table["Study"].tolist()
    nab, nivo = table.set_index("Study").loc[NAB_LABEL], table.set_index("Study").loc[NIVO_LABEL]
    assert nab["Median PFS, months (95% CI)"] != "PFS not published per patient"
    assert nivo["Median PFS, months (95% CI)"] == "PFS not published per patient"
    assert "Nab-paclitaxel" in nab["Regimen"] and "Nivolumab" in nivo["Regimen"]
    assert (nivo["SD"], nivo["PD"]) == ("3", "4")  # Fig. 1a: 3 LMS with SD, 4 with PD
    assert nab["ORR n/N"] == "0/2" and nivo["DCR n/N"] == "3/7"


def test_subtype_pooled_column_is_labelled_descriptive_only():
    at = run_app(page="pages/subtype.py")
    at.selectbox(key="w_subtype").set_value("group:Leiomyosarcoma").run()
    at.toggle(key="subtype_pooled").set_value(True).run()
    table = subtype_table(at)
    assert table["Study"].tolist() == [NAB_LABEL, NIVO_LABEL, "Pooled across different regimens — descriptive only"]
    assert table["Patients"].iloc[-1] == "9"
    assert any("descriptive only" in w.value for w in at.warning)


def test_subtype_page_applies_other_filters_but_not_histology():
    at = run_app({"histology_group": "Angiosarcoma", "study": NIVO}, page="pages/subtype.py")
    at.selectbox(key="w_subtype").set_value("group:Leiomyosarcoma").run()
    assert subtype_table(at)["Study"].tolist() == [NIVO_LABEL]
    assert "except its histology filters" in "\n".join(c.value for c in at.caption)


def test_subtype_choices_offer_groups_then_specific_histologies():
    patients = sql("SELECT * FROM patients")
    keys = [c.key for c in subtype.subtype_choices(patients)]
    assert keys.index("group:Leiomyosarcoma") < keys.index("group:Angiosarcoma")  # in both studies: first
    assert "histology:Pleomorphic liposarcoma" in keys and "histology:Leiomyosarcoma" not in keys
    label = subtype.choice_label(subtype.SubtypeChoice.parse("group:Leiomyosarcoma"), patients)
    assert label == "Leiomyosarcoma · group · 9 patients in 2 studies"
    with pytest.raises(ValueError):
        subtype.SubtypeChoice.parse("nonsense")


# --------------------------------------------------------------------------- #
# Deck and code under every view
# --------------------------------------------------------------------------- #
VIEW_KEYS = {
    "pages/overview.py": ["overview_headline"],
    "pages/response.py": ["response_bars", "response_table", "response_fisher", "response_forest"],
    "pages/survival.py": ["survival_km", "survival_logrank"],
    "pages/hazard-ratios.py": ["cox_univariate", "cox_multivariable"],
    "pages/adverse-events.py": ["ae_published_chart"],
    "pages/patients.py": [f"swimmer_{NAB}"],
    "pages/subtype.py": ["subtype_table", "subtype_bars", "subtype_rates", "subtype_km"],
    "pages/published.py": ["published_table"],
}
QUERY = {"response_by": "study", "km_by": "ecog"}


@pytest.mark.parametrize("page", list(VIEW_KEYS))
def test_every_view_has_add_to_deck(page):
    at = run_app(QUERY, page=page)
    keys = {b.key for b in at.button}
    for view in VIEW_KEYS[page]:
        assert f"{view}_deck" in keys


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/response.py", "pages/survival.py",
                                  "pages/hazard-ratios.py", "pages/subtype.py", "pages/published.py"])
def test_views_show_their_code(page):
    at = run_app(QUERY, page=page)
    labels = [e.label for e in at.expander]
    assert any(label.startswith("Show the code") for label in labels)
    assert not at.code  # closed, an expander's code is not sent (a filter change does not redraw it)
    open_code_expanders(at)
    codes = [c for c in at.code if c.language == "python"]
    assert codes and all("read_csv" in c.value for c in codes)
    if page in ("pages/survival.py", "pages/hazard-ratios.py"):
        r_code = "\n".join(c.value for c in at.code if c.language == "r")
        assert "library(survival)" in r_code
        assert ("survfit(" in r_code) if page == "pages/survival.py" else ("coxph(" in r_code)


def test_add_two_views_then_reorder_remove_and_clear():
    at = run_app({"study": NAB, "km_by": "histology_group"}, page="pages/survival.py")
    at.button(key="survival_km_deck").click().run()
    at.button(key="survival_logrank_deck").click().run()
    assert not at.exception
    slides = at.session_state["_deck"]
    assert [s.title for s in slides] == ["Progression-free survival (Kaplan–Meier)", "Log-rank test by histology group"]
    assert slides[0].chart_png[:8] == b"\x89PNG\r\n\x1a\n" and slides[1].chart_png is None
    assert "Study: Nab-paclitaxel + sintilimab" in slides[0].filters
    assert slides[0].n == "28 of 28 selected patients with PFS recorded, 28 events"
    assert "Nab-paclitaxel + sintilimab (published; 002_" in slides[0].source
    # the sidebar lists them with the count; the button says the view is in the deck
    assert any(e.label == "Slide deck (2)" for e in at.sidebar.expander)
    assert at.button(key="survival_km_deck").label == "In deck" and at.button(key="survival_km_deck").disabled
    # the PPTX of this deck (what the download button serves)
    pptx = Presentation(io.BytesIO(deck.build_pptx(slides)))
    titles = [s.shapes.title.text for s in pptx.slides]
    # the KM chart has its slide (the 8 curves alone: with their risk table they would not reach 14 pt); its
    # medians, then its risk table, follow on slides of their own
    assert titles[0] == slides[0].title and titles[-1] == slides[1].title
    kinds = [t.split(" — ")[-1].split(" (")[0] for t in titles[1:-1]]
    assert kinds == sorted(kinds, key=["table", "risk table"].index) and kinds[0] == "table" and "risk table" in kinds
    assert [name for name, _ in slides[0].tables] == ["risk table"]
    table = [shape for shape in pptx.slides[1].shapes if shape.has_table][0].table
    medians = frame_with_column(at, "Median, months (95% CI)")
    assert table.cell(1, 0).text == medians["Group"].iloc[0]
    assert table.cell(1, 3).text == medians["Median, months (95% CI)"].iloc[0]
    # reorder, remove, clear
    at.button(key="deck_down_0").click().run()
    assert [s.title for s in at.session_state["_deck"]][0] == "Log-rank test by histology group"
    at.button(key="deck_remove_0").click().run()
    assert [s.title for s in at.session_state["_deck"]] == ["Progression-free survival (Kaplan–Meier)"]
    at.button(key="deck_clear").click().run()
    assert at.session_state["_deck"] == []
    assert any(e.label == "Slide deck (0)" for e in at.sidebar.expander)


def test_deck_survives_page_switches():
    at = run_app({"study": NAB}, page="pages/response.py")
    at.button(key="response_table_deck").click().run()
    at.switch_page("pages/published.py").run()
    at.button(key="published_table_deck").click().run()
    assert [s.page for s in at.session_state["_deck"]] == ["Response", "Published vs recomputed"]


def test_a_saved_deck_file_loads_into_a_new_session():
    """The deck lives in one browser session; its file brings it back in another (a reload, a new tab)."""
    at = run_app({"study": NAB}, page="pages/response.py")
    at.button(key="response_table_deck").click().run()
    at.switch_page("pages/published.py").run()
    at.button(key="published_table_deck").click().run()
    saved = deck.deck_file(at.session_state["_deck"])
    fresh = run_app(page="pages/overview.py")
    assert "_deck" not in fresh.session_state or not fresh.session_state["_deck"]
    uploader = next(u for u in fresh.sidebar.file_uploader if u.label == "Load a deck file")
    uploader.upload("tumour-board.deck.json", saved, "application/json")
    fresh.run()
    assert not fresh.exception, [e.value for e in fresh.exception]
    loaded = fresh.session_state["_deck"]
    assert [s.page for s in loaded] == ["Response", "Published vs recomputed"]
    original = at.session_state["_deck"]
    assert [s.title for s in loaded] == [s.title for s in original]
    assert loaded[0].table.astype(str).values.tolist() == deck.table_cells(original[0].table)[1]
    assert any(e.label.startswith("Slide deck (2)") for e in fresh.sidebar.expander)


def test_a_broken_deck_file_is_refused_with_a_message():
    at = run_app(page="pages/overview.py")
    uploader = next(u for u in at.sidebar.file_uploader if u.label == "Load a deck file")
    uploader.upload("notes.json", b'{"kind": "something else"}', "application/json")
    at.run()
    assert not at.exception
    assert not at.session_state["_deck"] if "_deck" in at.session_state else True
    assert any("not a deck file of this app" in w.value for w in at.sidebar.warning)


# --------------------------------------------------------------------------- #
# Presentation mode
# --------------------------------------------------------------------------- #
def test_present_round_trips_in_the_url():
    state, notices = parse_query({"present": "1", "pazopanib": "yes"}, AllowedValues())
    assert notices == [] and state.present
    assert to_query(state) == {"pazopanib": ["yes"], "present": "1"}
    assert to_query(ViewState()) == {}
    state, notices = parse_query({"present": "maybe"}, AllowedValues())
    assert not state.present and notices[0].parameter == "present"


def test_presentation_mode_hides_the_sidebar_and_the_controls_and_keeps_the_key_table():
    at = run_app({"present": "1", "study": NAB}, page="pages/survival.py")
    styles = [m.value for m in at.markdown if "<style>" in m.value]
    assert len(styles) == 1 and '[data-testid="stSidebar"]' in styles[0] and "display: none" in styles[0]
    assert at.button(key="leave_present")
    # the sidebar is hidden, so the page says which patients are shown
    assert any(m.value.startswith(":gray[**Filters:** Study: Nab") for m in at.markdown)
    # the key table of each view stays open (the medians); the controls become one line of text
    assert at.dataframe and "Median, months (95% CI)" in at.dataframe[0].value.columns
    assert not at.main.selectbox and not at.main.text_input  # (the hidden sidebar keeps its widgets)
    assert any("**Endpoint:** Progression\\-free survival" in c.value for c in at.caption), [c.value for c in at.caption]
    assert not [b for b in at.button if str(b.key).endswith("_deck")]  # no tools on the projector
    assert at.query_params.get("present") in ("1", ["1"])
    at.button(key="leave_present").click().run()
    assert not [m for m in at.markdown if "<style>" in m.value]
    assert "present" not in at.query_params
    assert at.query_params.get("study") in (NAB, [NAB])


def test_presentation_toggle_enters_and_reset_keeps_it():
    at = run_app(page="pages/overview.py")
    at.sidebar.toggle(key="w_present").set_value(True).run()
    assert at.query_params.get("present") in ("1", ["1"])
    assert [m for m in at.markdown if "<style>" in m.value]



def test_published_page_shows_every_number_under_every_open_reading():
    at = run_app(page="pages/published.py")
    tables = [plain(d.value) for d in at.dataframe if "Reading" in plain(d.value).columns]
    assert len(tables) == 1
    table = tables[0]
    assert set(table["Reading"]) == {"as used", "NAB-08 pfs_event = 0", "NAB-09 pfs_event = 0",
                                     "NAB-08 pfs_event = 0 and NAB-09 pfs_event = 0"}
    differs = table[table["Printed number"] == "✖ differs"]
    assert set(differs["What"]) == {"HR: Head vs other primary sites"}
    assert set(differs["Reading"]) == {"NAB-09 pfs_event = 0", "NAB-08 pfs_event = 0 and NAB-09 pfs_event = 0"}
    median = table[(table["What"] == "Median PFS (all treated)")]
    assert median["Recomputed"].nunique() == 1 and len(median) == 4
    assert median["Recomputed"].iloc[0] == table_recomputed(at, "Median PFS (all treated)")


def table_recomputed(at, what: str) -> str:
    """The 'Recomputed from patients' text of one row of the Published vs recomputed tables."""
    tables = [plain(d.value) for d in at.dataframe if "Recomputed from patients" in plain(d.value).columns]
    rows = pd.concat(tables)
    return rows.loc[rows["What"] == what, "Recomputed from patients"].iloc[0]


def test_a_link_with_a_deck_rebuilds_its_slides_in_a_new_session():
    """The URL carries the deck as view references; a new session rebuilds each slide with its page's builder."""
    at = run_app({"study": NAB, "km_by": "histology_group"}, page="pages/survival.py")
    at.button(key="survival_km_deck").click().run()
    at.switch_page("pages/subtype.py").run()
    at.button(key="subtype_table_deck").click().run()
    at.switch_page("pages/response.py").run()
    assert "deck" in at.query_params  # kept across page switches
    original = at.session_state["_deck"]
    link = dict(at.query_params)
    # the link opened in a new session, on another page, with other filters of its own
    fresh = run_app({**link, "study": NIVO, "km_by": "none"}, page="pages/overview.py")
    rebuilt = fresh.session_state["_deck"]
    assert [s.title for s in rebuilt] == [s.title for s in original]
    assert [s.key for s in rebuilt] == [s.key for s in original]  # same view, state and table
    assert [s.page for s in rebuilt] == ["Survival", "Subtype across studies"]
    assert [s.filters for s in rebuilt] == [s.filters for s in original]
    assert rebuilt[0].chart_png[:8] == b"\x89PNG\r\n\x1a\n"
    assert rebuilt[1].table.astype(str).values.tolist() == original[1].table.astype(str).values.tolist()
    assert any(e.label == "Slide deck (2)" for e in fresh.sidebar.expander)
    assert not [w for w in fresh.warning if "deck" in w.value]
    assert fresh.query_params["deck"] == link["deck"]


def test_a_slide_that_cannot_be_rebuilt_is_named():
    from sarcoma_app.viewstate.deck_link import SlideRef, encode_deck

    gone = SlideRef("survival", "survival_no_such_view", title="A view of an older version")
    other = SlideRef("survival", "survival_km", ViewState(source="simulated-1k"), title="Simulated KM")
    kept = SlideRef("response", "response_table", title="Best response")
    at = run_app({"deck": encode_deck([gone, other, kept])}, page="pages/overview.py")
    assert [s.page for s in at.session_state["_deck"]] == ["Response"]
    warnings = " ".join(w.value for w in at.warning).replace("\\", "")  # without the Markdown escapes
    assert "**Deck of the link**, slide 1 “A view of an older version” (survival / survival_no_such_view)" in warnings
    assert "(survival / survival_no_such_view): not rebuilt: this view does not exist for these data" in warnings
    assert "slide 2 “Simulated KM” (survival / survival_km): not rebuilt: it was built from SIMULATED registry" in warnings
    assert "deck" in at.query_params  # the URL now carries the one slide rebuilt


def test_the_link_follows_the_deck_when_slides_move_or_go():
    from sarcoma_app.render.page_views import PAGES
    from sarcoma_app.viewstate.deck_link import decode_deck

    def linked(at: AppTest) -> list[str]:
        refs, notices = decode_deck(at.query_params.get("deck", ""), AllowedValues(study=(NAB, NIVO)), tuple(PAGES))
        assert notices == []
        return [ref.view for ref in refs]

    at = run_app({"study": NAB, "km_by": "histology_group"}, page="pages/survival.py")
    at.button(key="survival_km_deck").click().run()
    at.button(key="survival_logrank_deck").click().run()
    assert linked(at) == ["survival_km", "survival_logrank"]
    at.button(key="deck_down_0").click().run()
    assert linked(at) == ["survival_logrank", "survival_km"]
    at.button(key="deck_remove_0").click().run()
    assert linked(at) == ["survival_km"]
    at.button(key="deck_clear").click().run()
    assert "deck" not in at.query_params and at.query_params.get("study") == NAB
