"""A registry read in place (Parquet folder, SARCOMA_REGISTRY): read-only views, and a large one is counted."""
from __future__ import annotations

import dataclasses
import duckdb
import pytest

from data.simulate import simulate_cohort, write_cohort
from sarcoma_app import limits
from sarcoma_app.sources import registry_files
from tests.apptest_helpers import caption, open_code_expanders, run_app


def small_scale(monkeypatch, loaded: int = 1_000, counted: int = 1_000) -> None:
    """Limits small enough for the test registry: a source above ``counted`` patients is counted, and a page or
    a view's code loads a selection of up to ``loaded``."""
    monkeypatch.setattr(limits, "SCALE", dataclasses.replace(
        limits.SCALE, patients_loaded=limits.Limit(loaded, "patients", "test"),
        patients_counted=limits.Limit(counted, "patients", "test")))


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    folder = tmp_path_factory.mktemp("registry")
    patients, events = simulate_cohort(3_000, seed=9, time_decimals=2)
    write_cohort(patients, events, folder, "parquet")
    return folder, patients


def test_parquet_folder_is_read_in_place_and_locked(registry):
    folder, patients = registry
    con = registry_files.open_registry(folder)
    assert registry_files.patient_count(con) == len(patients)
    rows = con.execute("SELECT patient_id, pfs_months FROM patients ORDER BY rowid LIMIT 3").fetchall()
    assert [r[0] for r in rows] == patients["patient_id"].head(3).tolist()
    assert con.execute("SELECT count(*) FROM adverse_events").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM published_results").fetchone()[0] == 0
    with pytest.raises(duckdb.Error):
        con.execute("SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(duckdb.Error):
        con.execute(f"COPY patients TO '{folder.parent}/copy.csv'")  # nothing written outside the registry
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access = true")  # the configuration is locked
    con.close()


def test_a_parquet_file_missing_columns_reads_them_as_null(registry, tmp_path):
    _, patients = registry
    path = tmp_path / "few.parquet"
    patients[["study_id", "patient_id", "pfs_months", "pfs_event"]].to_parquet(path, index=False)
    con = registry_files.open_registry(path)
    assert con.execute("SELECT count(*), count(histology) FROM patients").fetchone() == (len(patients), 0)
    assert con.execute("SELECT count(*) FROM studies").fetchone()[0] == 1


@pytest.mark.parametrize("bad, message", [("missing", "does not exist"), ("empty", "has no patients")])
def test_a_bad_registry_path_is_named(tmp_path, bad, message):
    path = tmp_path / bad
    if bad == "empty":
        path.mkdir()
    with pytest.raises(ValueError, match=message):
        registry_files.open_registry(path)


def test_survival_page_on_a_large_registry_counts_in_the_database(registry, monkeypatch):
    folder, _ = registry
    monkeypatch.setenv(registry_files.REGISTRY_ENV, str(folder))
    small_scale(monkeypatch)
    at = run_app({"source": "registry", "km_by": "pazopanib"}, page="pages/survival.py")
    text = "\n".join(i.value for i in at.info) + "\n".join(m.value for m in at.markdown)
    assert "Large source: counted by the database" in text
    assert "p =" in text
    assert any("Median, months (95% CI)" in f.value.columns for f in at.dataframe)


def test_adverse_events_page_on_a_large_registry_counts_in_the_database(registry, monkeypatch):
    folder, _ = registry
    monkeypatch.setenv(registry_files.REGISTRY_ENV, str(folder))
    small_scale(monkeypatch)
    at = run_app({"source": "registry"}, page="pages/adverse-events.py")
    assert any("Large source: counted by the database" in i.value for i in at.info)
    assert any("Any grade (incl. grade not stated)" in f.value.columns for f in at.dataframe)


@pytest.mark.parametrize("page, query, expected", [
    ("pages/response.py", {"response_by": "pazopanib"}, "Do the rates differ between groups?"),
    ("pages/overview.py", {}, "Headline numbers"),
    ("pages/subtype.py", {}, "response and PFS in each study"),
])
def test_response_and_overview_on_a_large_registry_count_in_the_database(registry, monkeypatch, page, query,
                                                                         expected):
    folder, _ = registry
    monkeypatch.setenv(registry_files.REGISTRY_ENV, str(folder))
    small_scale(monkeypatch)
    at = run_app({"source": "registry", **query}, page=page)
    assert not at.exception and not any("This page needs each patient" in w.value for w in at.warning)
    assert any("Large source: counted by the database" in i.value for i in at.info)
    assert any(expected in h.value for h in [*at.subheader, *at.header, *at.markdown])


def test_a_page_needing_each_patient_refuses_a_large_selection_and_loads_a_filtered_one(registry, monkeypatch):
    folder, patients = registry
    monkeypatch.setenv(registry_files.REGISTRY_ENV, str(folder))
    small_scale(monkeypatch)
    at = run_app({"source": "registry"}, page="pages/patients.py")
    assert any("This page needs each patient, and the selection has 3,000" in w.value for w in at.warning)
    smallest = patients["histology"].value_counts().index[-1]  # a histology with fewer than 1,000 patients
    assert (patients["histology"] == smallest).sum() <= 1_000
    at = run_app({"source": "registry", "histology": smallest}, page="pages/overview.py")
    assert not any("This page needs each patient" in w.value for w in at.warning)


COUNTED_PAGES = [
    ("pages/survival.py", {"km_by": "pazopanib"}),
    ("pages/response.py", {"response_by": "pazopanib"}),
    ("pages/hazard-ratios.py", {"cox_terms": "pazopanib,sex"}),
    ("pages/subtype.py", {}),
    ("pages/overview.py", {}),
]


def shown_code(at) -> list[str]:
    return [block.value for block in at.code]


@pytest.mark.parametrize("page, query", COUNTED_PAGES)
def test_a_counted_page_shows_the_patient_pages_code_once_opened(registry, monkeypatch, page, query):
    folder, _ = registry
    monkeypatch.setenv(registry_files.REGISTRY_ENV, str(folder))
    small_scale(monkeypatch, loaded=3_000, counted=10_000)  # the page loads the patients
    expected = shown_code(open_code_expanders(run_app({"source": "registry", **query}, page=page)))
    assert expected
    small_scale(monkeypatch, loaded=3_000, counted=1_000)  # the same page counted by the database
    at = run_app({"source": "registry", **query}, page=page)
    assert any("Large source: counted by the database" in i.value for i in at.info)
    assert not at.code  # closed: nothing built
    assert shown_code(open_code_expanders(at)) == expected


@pytest.mark.parametrize("page, query", COUNTED_PAGES)
def test_a_counted_page_loads_no_patient_while_its_code_is_closed(registry, monkeypatch, page, query):
    from sarcoma_app.sources import db

    folder, _ = registry
    monkeypatch.setenv(registry_files.REGISTRY_ENV, str(folder))
    small_scale(monkeypatch, loaded=3_000, counted=1_000)

    def refuse(*args, **kwargs):
        raise AssertionError("a counted page loaded the patients")

    monkeypatch.setattr(db, "load_patients", refuse)
    at = run_app({"source": "registry", **query}, page=page)
    assert any("Large source: counted by the database" in i.value for i in at.info)


def test_the_code_of_a_selection_too_large_to_load_says_how_to_narrow_it(registry, monkeypatch):
    folder, patients = registry
    monkeypatch.setenv(registry_files.REGISTRY_ENV, str(folder))
    small_scale(monkeypatch, loaded=1_000, counted=1_000)
    at = open_code_expanders(run_app({"source": "registry"}, page="pages/survival.py"))
    assert not at.code
    assert any("The code reads each patient's row, and the selection has 3,000 patients" in i.value
               and "Narrow the selection" in i.value for i in at.info)
    smallest = patients["histology"].value_counts().index[-1]
    at = open_code_expanders(run_app({"source": "registry", "histology": smallest}, page="pages/survival.py"))
    assert at.code and not any("The code reads each patient's row" in i.value for i in at.info)


def test_the_subtype_pages_code_loads_the_selection_not_the_whole_source(registry, monkeypatch):
    folder, _ = registry
    monkeypatch.setenv(registry_files.REGISTRY_ENV, str(folder))
    small_scale(monkeypatch, loaded=2_000, counted=1_000)  # the source (3,000) is more than a page may load
    at = open_code_expanders(run_app({"source": "registry"}, page="pages/subtype.py"))
    refusal = next(i.value for i in at.info if i.value.startswith("**The code reads each patient's row"))
    assert "the selection has 3,000 patients" in refusal and "**Pazopanib" in refusal
    assert "Histology" not in refusal  # the page ignores the histology filters: they would not narrow it
    at = open_code_expanders(run_app({"source": "registry", "pazopanib": "yes"}, page="pages/subtype.py"))
    assert int(caption(at).split()[1].replace(",", "")) <= 2_000
    assert at.code and not any("The code reads each patient's row" in i.value for i in at.info)
