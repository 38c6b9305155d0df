"""A registry read in place (Parquet folder, SARCOMA_REGISTRY): read-only views, and a large one is counted."""
from __future__ import annotations

import duckdb
import pytest

from data.simulate import simulate_cohort, write_cohort
from sarcoma_app import limits
from sarcoma_app.sources import registry_files
from tests.apptest_helpers import run_app


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
    monkeypatch.setattr(limits, "SCALE", limits.ScaleLimits(limits.Limit(1_000, "patients", "test")))
    at = run_app({"source": "registry", "km_by": "pazopanib"}, page="pages/survival.py")
    text = "\n".join(i.value for i in at.info) + "\n".join(m.value for m in at.markdown)
    assert "Large source: counted by the database" in text
    assert "p =" in text
    assert any("Median, months (95% CI)" in f.value.columns for f in at.dataframe)


def test_adverse_events_page_on_a_large_registry_counts_in_the_database(registry, monkeypatch):
    folder, _ = registry
    monkeypatch.setenv(registry_files.REGISTRY_ENV, str(folder))
    monkeypatch.setattr(limits, "SCALE", limits.ScaleLimits(limits.Limit(1_000, "patients", "test")))
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
    monkeypatch.setattr(limits, "SCALE", limits.ScaleLimits(limits.Limit(1_000, "patients", "test")))
    at = run_app({"source": "registry", **query}, page=page)
    assert not at.exception and not any("This page needs each patient" in w.value for w in at.warning)
    assert any("Large source: counted by the database" in i.value for i in at.info)
    assert any(expected in h.value for h in [*at.subheader, *at.header, *at.markdown])


def test_a_page_needing_each_patient_refuses_a_large_selection_and_loads_a_filtered_one(registry, monkeypatch):
    folder, patients = registry
    monkeypatch.setenv(registry_files.REGISTRY_ENV, str(folder))
    monkeypatch.setattr(limits, "SCALE", limits.ScaleLimits(limits.Limit(1_000, "patients", "test")))
    at = run_app({"source": "registry"}, page="pages/patients.py")
    assert any("This page needs each patient, and the selection has 3,000" in w.value for w in at.warning)
    smallest = patients["histology"].value_counts().index[-1]  # a histology with fewer than 1,000 patients
    assert (patients["histology"] == smallest).sum() <= 1_000
    at = run_app({"source": "registry", "histology": smallest}, page="pages/overview.py")
    assert not any("This page needs each patient" in w.value for w in at.warning)
