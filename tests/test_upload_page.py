"""The upload page and the data sources under Streamlit's AppTest.

Every AppTest is its own session: an upload in one is invisible to another (the
browser version with two contexts is tests/browser/test_upload.py).
"""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from data.build import ensure_database
from sarcoma_app.limits import limits_markdown
from tests import hostile_uploads as hostile
from tests.apptest_helpers import run_app, caption

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "uploads"
PAGES = ["pages/overview.py", "pages/response.py", "pages/survival.py", "pages/hazard-ratios.py",
         "pages/adverse-events.py", "pages/patients.py", "pages/data-methods.py"]
UPLOADERS = {"patients": "Patients (required)", "adverse_events": "Adverse events (optional)",
             "assessments": "Tumour assessments (optional)"}


def upload_files(at: AppTest, **files: str) -> AppTest:
    """Put corpus files into the uploaders (role=file name), one run per file, as a user would."""
    for role, name in files.items():
        uploader = next(u for u in at.file_uploader if u.label == UPLOADERS[role])
        uploader.upload(name, (CORPUS / name).read_bytes(), "text/csv")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def load_button(at: AppTest):
    buttons = [b for b in at.button if b.key == "upload_load"]
    return buttons[0] if buttons else None


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


def loaded_session() -> AppTest:
    at = run_app(page="pages/upload.py")
    upload_files(at, patients="good_patients.csv", adverse_events="good_adverse_events.csv",
                 assessments="good_assessments.csv")
    load_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def bundled_digest() -> str:
    return hashlib.sha256(Path(ensure_database()).read_bytes()).hexdigest()


# --------------------------------------------------------------------------- #
# The page
# --------------------------------------------------------------------------- #
def test_upload_page_before_a_file_offers_the_templates():
    at = run_app(page="pages/upload.py")
    assert at.title[0].value == "Upload a cohort"
    assert caption(at) == "Showing 56 of 56 patients"
    assert any("Choose a patients file" in i.value for i in at.info)
    labels = {b.label for b in at.get("download_button")}
    assert {"Template (XLSX)", "Patients (CSV)", "AEs (CSV)", "Scans (CSV)"} <= labels
    assert len(at.main.file_uploader) == 4  # 3 files + standard formats (the sidebar has the deck-file uploader)


def test_a_bad_file_names_file_row_and_column_and_loads_nothing():
    at = run_app(page="pages/upload.py")
    upload_files(at, patients="negative_times.csv")
    text = errors(at)
    assert "nothing was loaded" in text
    assert "negative\\_times\\.csv, row 3, column “pfs\\_months”: “\\-3” is negative" in text
    assert load_button(at) is None
    assert caption(at) == "Showing 56 of 56 patients"


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".csv", ".tsv", ".xlsx", ".xls")))
def test_every_corpus_file_gives_a_message_or_a_cohort_never_an_exception(name):
    at = run_app(page="pages/upload.py")
    upload_files(at, patients=name)
    assert at.error or any("No problem found" in s.value for s in at.success), name
    assert caption(at) == "Showing 56 of 56 patients"  # nothing is loaded without pressing the button


def test_recognised_values_are_shown_before_they_are_applied():
    at = run_app(page="pages/upload.py")
    upload_files(at, patients="response_words.csv")
    recognised = next(d.value for d in at.dataframe if "Read as" in d.value.columns)
    pairs = set(zip(recognised["In the file"], recognised["Read as"]))
    assert ("Partial response", "PR") in pairs and ("not evaluable", "NE") in pairs
    assert caption(at) == "Showing 56 of 56 patients"


@pytest.mark.parametrize("loaded, shown", [(100, True), (5, False)])
def test_a_counted_upload_still_shows_its_tumour_measurements_when_it_can_load_them(monkeypatch, loaded, shown):
    from sarcoma_app import limits

    at = loaded_session()
    monkeypatch.setattr(limits, "SCALE", dataclasses.replace(  # the 12 patients are counted by the database
        limits.SCALE, patients_counted=limits.Limit(5, "patients", "test"),
        patients_loaded=limits.Limit(loaded, "patients", "test")))
    at.switch_page("pages/response.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Large source: counted by the database" in i.value for i in at.info)
    assert ("Tumour measurements" in [s.value for s in at.subheader]) is shown
    assert any("The tumour measurements need each patient, and the selection has 12 patients" in i.value
               for i in at.info) is not shown


def counted_upload(monkeypatch, histology: str | None = None) -> AppTest:
    """The good upload, counted by the database (5 patients at most are loaded without counting), on the
    Response page; filtered to one ``histology``."""
    from sarcoma_app import limits

    at = loaded_session()
    monkeypatch.setattr(limits, "SCALE", dataclasses.replace(
        limits.SCALE, patients_counted=limits.Limit(5, "patients", "test")))
    if histology is not None:
        next(m for m in at.sidebar.multiselect if m.label == "Specific histology").select(histology).run()
    at.switch_page("pages/response.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Large source: counted by the database" in i.value for i in at.info)
    return at


def test_a_counted_upload_shows_no_empty_tumour_measurements(monkeypatch):
    at = counted_upload(monkeypatch, "Myxofibrosarcoma")  # its one patient has no measurement
    assert caption(at) == "Showing 1 of 12 patients"
    assert "Tumour measurements" not in [s.value for s in at.subheader]


def test_the_code_of_a_counted_view_is_not_shown_when_the_patients_resolve_its_choices_otherwise(monkeypatch):
    from tests.apptest_helpers import open_code_expanders

    at = open_code_expanders(counted_upload(monkeypatch, "Angiosarcoma"))  # one histology: no histology grouping
    refusals = [i.value for i in at.info if i.value.startswith("The code is not shown for these choices")]
    assert refusals and all("**Group by**" in text for text in refusals), [i.value for i in at.info]
    assert not at.code  # the page's views are built with that choice: none shows a code that is not its own


def test_a_column_the_app_does_not_know_is_matched_by_the_user():
    at = run_app(page="pages/upload.py")
    uploader = next(u for u in at.file_uploader if u.label == UPLOADERS["patients"])
    uploader.upload("mine.csv", b"ID,Tumour type,Best response,PFS (months),Progressed\n"
                                b"A1,Angiosarcoma,PR,5,yes\nA2,Leiomyosarcoma,SD,3,no\n", "text/csv")
    at.run()
    assert "required column histology \\(Histology\\) is missing" in errors(at)
    histology = next(s for s in at.selectbox if s.label == "histology *")
    histology.select("Tumour type").run()
    assert not at.error, errors(at)
    assert any("No problem found" in s.value for s in at.success)


def test_a_good_upload_is_loaded_and_every_page_works_on_it():
    digest = bundled_digest()
    at = loaded_session()
    assert caption(at) == "Showing 12 of 12 patients"
    assert at.query_params.get("source") in ("uploaded", ["uploaded"])
    assert any("Loaded:" in s.value for s in at.success)
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert caption(at) == "Showing 12 of 12 patients", page
        assert any("Your uploaded cohort" in i.value for i in at.info), page
    at.switch_page("pages/overview.py").run()
    assert {m.label: m.value for m in at.metric}["Patients"] == "12"
    at.switch_page("pages/response.py").run()
    assert "Tumour measurements" in [s.value for s in at.subheader]
    at.switch_page("pages/patients.py").run()
    table = next(d.value for d in at.dataframe if "Patient ID" in d.value.columns)
    assert sorted(table["Patient ID"]) == [f"INST-{i:03d}" for i in range(1, 13)]
    at.switch_page("pages/adverse-events.py").run()
    assert any("Any grade (incl. grade not stated)" in d.value.columns for d in at.dataframe)
    assert bundled_digest() == digest  # the shared database file is untouched


def test_filters_apply_to_the_upload():
    at = loaded_session()
    group = next(w for w in at.sidebar.multiselect if w.label == "Histology group")
    assert "Leiomyosarcoma (4)" in group.options
    group.select("Leiomyosarcoma").run()
    assert caption(at) == "Showing 4 of 12 patients"


def test_another_session_sees_only_the_published_cohorts():
    mine = loaded_session()
    assert caption(mine) == "Showing 12 of 12 patients"
    theirs = run_app()
    assert caption(theirs) == "Showing 56 of 56 patients"
    asking = run_app({"source": "uploaded"})
    assert caption(asking) == "Showing 56 of 56 patients"
    notice = "\n".join(w.value for w in asking.warning)
    assert "not on this server session" in notice and "Upload the file again" in notice
    assert any(link.label == "Upload a cohort" for link in asking.get("page_link"))
    with duckdb.connect(str(ensure_database()), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM patients WHERE patient_id LIKE 'INST-%'").fetchone()[0] == 0


def test_removing_the_upload_returns_to_the_published_cohorts():
    at = loaded_session()
    next(b for b in at.button if b.key == "upload_remove").click().run()
    assert caption(at) == "Showing 56 of 56 patients"
    assert not at.query_params.get("source")
    sources = next(s for s in at.sidebar.selectbox if s.label == "Data source")
    assert "uploaded" not in sources.options and all("upload" not in o for o in sources.options)


def test_the_uploaded_source_can_be_left_and_chosen_again_from_the_sidebar():
    at = loaded_session()
    source = next(s for s in at.sidebar.selectbox if s.label == "Data source")
    source.set_value("bundled").run()
    assert caption(at) == "Showing 56 of 56 patients"
    source = next(s for s in at.sidebar.selectbox if s.label == "Data source")
    source.set_value("uploaded").run()
    assert caption(at) == "Showing 12 of 12 patients"


# --------------------------------------------------------------------------- #
# Simulated sources
# --------------------------------------------------------------------------- #
def test_the_default_source_is_the_published_cohorts():
    at = run_app()
    source = next(s for s in at.sidebar.selectbox if s.label == "Data source")
    assert source.value == "bundled"
    assert caption(at) == "Showing 56 of 56 patients"
    assert "source" not in at.query_params


@pytest.mark.parametrize("page", PAGES + ["pages/upload.py"])
def test_a_simulated_source_works_on_every_page_and_says_it_is_not_real(page):
    at = run_app({"source": "simulated-1k"}, page=page)
    assert caption(at) == "Showing 1,000 of 1,000 patients"
    assert any("Simulated data — not real patients" in w.value for w in at.warning)
    assert any("Simulated — not real patients" in w.value for w in at.sidebar.warning)
    assert at.query_params.get("source") in ("simulated-1k", ["simulated-1k"])


def test_switching_source_keeps_filters_that_exist_and_drops_the_others_with_a_notice():
    at = run_app({"study": "nab_paclitaxel_sintilimab", "histology_group": "Angiosarcoma"})
    assert caption(at).endswith("of 56 patients")
    source = next(s for s in at.sidebar.selectbox if s.label == "Data source")
    source.set_value("simulated-1k").run()
    assert not at.exception
    assert at.query_params.get("study") in (None, [], "")
    assert at.query_params.get("histology_group") in ("Angiosarcoma", ["Angiosarcoma"])
    notices = "\n".join(w.value for w in at.warning)
    assert "**study**" in notices and "not present in the selected data source" in notices
    assert caption(at).endswith("of 1,000 patients")


def test_simulated_patients_are_never_pooled_with_real_ones():
    at = run_app({"source": "simulated-1k"}, page="pages/patients.py")
    table = next(d.value for d in at.dataframe if "Patient ID" in d.value.columns)
    assert table["Patient ID"].str.startswith("SIM-").all()
    at = run_app(page="pages/patients.py")
    table = next(d.value for d in at.dataframe if "Patient ID" in d.value.columns)
    assert not table["Patient ID"].str.startswith("SIM-").any()


def test_a_large_source_shows_the_first_rows_and_offers_the_whole_csv():
    at = run_app({"source": "simulated-10k"}, page="pages/patients.py")
    table = next(d.value for d in at.dataframe if "Patient ID" in d.value.columns)
    assert len(table) == 1000
    assert any("Showing the first 1,000 of 10,000 rows; the CSV has all 10,000." in c.value for c in at.caption)
    assert any("60 drawn" in m.value for m in at.markdown)


def test_an_unknown_source_falls_back_with_a_notice():
    at = run_app({"source": "simulated-1m"})
    assert caption(at) == "Showing 56 of 56 patients"
    assert any("**source**" in w.value and "simulated\\-1m" in w.value for w in at.warning)


def test_an_in_memory_source_cannot_touch_the_disk(tmp_path):
    from sarcoma_app.sources import cohort
    from sarcoma_app.ingest.cohort import prepare_cohort
    from sarcoma_app.ingest.columns import mapping_dict, suggest_mapping
    from sarcoma_app.ingest.read import read_table

    table = read_table((CORPUS / "good_patients.csv").read_bytes(), "good_patients.csv").table
    prepared = prepare_cohort(table, mapping_dict(suggest_mapping(table.columns)))
    con = cohort.create_cohort_database(prepared.patients, None, prepared.studies)
    assert con.execute("SELECT count(*) FROM patients").fetchone()[0] == 12
    assert con.execute("SELECT count(*) FROM published_results").fetchone()[0] == 0  # pages say: bundled papers only
    assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0] == ""
    with pytest.raises(duckdb.Error):
        con.execute(f"COPY patients TO '{tmp_path / 'leak.csv'}'")
    assert not (tmp_path / "leak.csv").exists()


# --------------------------------------------------------------------------- #
# Hostile files through the page (built in code: tests/hostile_uploads.py)
# --------------------------------------------------------------------------- #
def upload_bytes(at: AppTest, name: str, data: bytes, role: str = "patients") -> AppTest:
    uploader = next(u for u in at.file_uploader if u.label == UPLOADERS[role])
    uploader.upload(name, data, "application/octet-stream")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("build", [
    lambda: hostile.xlsx_huge_dimension(1_048_576), lambda: hostile.csv_many_columns(100_000),
    hostile.csv_thousands_days, hostile.xlsx_formula_without_value, hostile.csv_huge_years,
], ids=["dimension-1m", "100k-columns", "1,234-days", "formula", "1e308-years"])
def test_a_hostile_file_is_refused_on_the_page_with_its_message_and_the_page_still_works(build):
    from sarcoma_app.text import escape_markdown

    name, data = build()
    expected = hostile.message_shown(data, name)
    at = run_app(page="pages/upload.py")
    upload_bytes(at, name, data)
    assert "nothing was loaded" in errors(at)
    assert escape_markdown(expected) in errors(at), (expected, errors(at))
    assert load_button(at) is None
    assert caption(at) == "Showing 56 of 56 patients"
    from sarcoma_app.sources import cohort
    read = at.session_state[cohort.READ_KEY] if cohort.READ_KEY in at.session_state else {}
    assert all(result.table is None for _, result in read.values())  # a refused file's table is not kept
    assert cohort.PREPARED_KEY not in at.session_state or at.session_state[cohort.PREPARED_KEY][1].patients is None
    upload_files(at, patients="good_patients.csv")  # the same session goes on working
    assert any("No problem found" in s.value for s in at.success)


def test_the_page_states_the_limits_and_the_uploader_the_server_limit():
    from sarcoma_app.limits import LIMITS

    at = run_app(page="pages/upload.py")
    assert any(m.value == limits_markdown() for m in at.markdown)
    for uploader in at.file_uploader:
        assert uploader.proto.max_upload_size_mb == LIMITS.file_mb.value
        assert f"at most {LIMITS.file_mb.amount}" in uploader.help


def test_a_stray_byte_is_named_on_the_page():
    name, data = hostile.csv_stray_cp1252()
    at = run_app(page="pages/upload.py")
    upload_bytes(at, name, data)
    warnings = "\n".join(w.value for w in at.warning)
    assert "line 4 contains bytes that are not UTF\\-8" in warnings, warnings


def test_removing_the_upload_removes_its_slides_tables_and_files():
    from sarcoma_app.sources import cohort
    from sarcoma_app.viewstate.state import DECK_KEY

    at = loaded_session()
    assert cohort.READ_KEY not in at.session_state and cohort.PREPARED_KEY not in at.session_state  # freed on load
    at.switch_page("pages/response.py").run()
    next(b for b in at.button if b.label == "Add to deck").click().run()
    source = next(s for s in at.sidebar.selectbox if s.label == "Data source")
    source.set_value("bundled").run()
    next(b for b in at.button if b.label == "Add to deck").click().run()
    origins = [slide.origin for slide in at.session_state[DECK_KEY]]
    assert origins[1] == "bundled" and origins[0].startswith("uploaded:"), origins
    # the link carries the bundled slide only, and the deck says why the other is not in it
    from sarcoma_app.render.page_views import PAGES
    from sarcoma_app.viewstate.deck_link import decode_deck
    from sarcoma_app.viewstate.url_state import AllowedValues

    refs, _ = decode_deck(at.query_params["deck"], AllowedValues(), tuple(PAGES))
    assert [(ref.page, ref.state.source) for ref in refs] == [("response", "bundled")]
    assert any("1 slide (from an uploaded cohort or a deck file) cannot be rebuilt from a link" in c.value
               for c in at.sidebar.caption)
    at.switch_page("pages/upload.py").run()
    upload_files(at, patients="good_patients.csv")  # a new file on the page, not loaded
    assert cohort.READ_KEY in at.session_state
    next(b for b in at.button if b.key == "upload_remove").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [slide.origin for slide in at.session_state[DECK_KEY]] == ["bundled"]
    for key in (cohort.UPLOAD_KEY, cohort.READ_KEY, cohort.PREPARED_KEY, cohort.MEMO_KEY):
        assert key not in at.session_state, key
    assert all(u.value in (None, []) for u in at.file_uploader)  # the uploaders are empty
    assert any("Choose a patients file" in i.value for i in at.info)


def test_a_loaded_cohort_keeps_no_raw_or_checked_table_alive():
    """Only the in-memory database stays: not the file's raw table, not the checked one (nor a callback's closure)."""
    import gc

    from sarcoma_app.ingest.cohort import Prepared
    from sarcoma_app.ingest.tables import RawTable

    at = run_app(page="pages/upload.py")
    upload_bytes(at, "memory-check.csv", (CORPUS / "good_patients.csv").read_bytes())
    load_button(at).click().run()
    assert any("Loaded:" in s.value for s in at.success)
    gc.collect()
    alive = [o for o in gc.get_objects() if isinstance(o, RawTable) and o.file == "memory-check.csv"]
    alive += [o for o in gc.get_objects() if isinstance(o, Prepared) and o.patients is not None
              and o.patients["source"].str.contains("memory-check.csv").any()]
    assert not alive, alive
    assert caption(at) == "Showing 12 of 12 patients"
