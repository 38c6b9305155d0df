"""The bundled data against the papers they are transcribed from.

The seed files live in ../shared/seeds. Table 1 of seed 002 is parsed from the
seed text itself, so a transcription error in data/sources fails here.
"""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from data import build

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
SEED_000 = "000_7925fd6a0530045f.txt"
SEED_002 = "002_e13a0ade5dd2a04e.txt"

# Seed 002 Table 1 as printed, one line per patient (checked against the seed file below).
TABLE_1_LINES = """\
1 1 UPS IV Head Lung and bone 1 PR 5
2 1 UPS IV Extremities Lung and lymph nodes 1 PR 3.5
3 0 UPS IV Extremities Lung and bone 2 SD 3
4 0 UPS IV Neck Bone 2 SD 2.5
5 0 UPS IV Extremities Lung 2 PD 2
6 0 UPS IV Extremities Bone 2 PD 1.8
7 1 UPS IV Extremities Lung 1 PD 1
8 1 Angiosarcoma IV Head Liver 2 CR 15
9 0 Angiosarcoma IV Trunk Bone 2 PR 7.8
10 1 Angiosarcoma IV Extremities Lung 2 PR 4
11 0 Angiosarcoma IV Extremities Lung 2 SD 4.5
12 0 Angiosarcoma IV Trunk Lung 2 PD 2
13 1 Epithelioid sarcoma IV Extremities Lung 2 PR 2.8
14 1 Epithelioid sarcoma IV Trunk Lung and lymph nodes 2 SD 3
15 1 Epithelioid sarcoma IV Trunk Lung 2 SD 2.8
16 0 Epithelioid sarcoma IV Extremities Lung 1 PD 1.8
17 1 Epithelioid sarcoma IV Extremities Lung and bone 2 PD 1.3
18 1 Fibrosarcoma IV Trunk Lung 2 PR 4.3
19 1 Fibrosarcoma IV Extremities Lung 2 SD 2.5
20 0 Fibrosarcoma IV Extremities Lung 1 PD 1.5
21 0 Fibrosarcoma IV Extremities Liver 3 PD 1.3
22 0 Synovial sarcoma IV Neck Lung 2 PD 1.8
23 0 Synovial sarcoma IV Extremities Lung 2 PD 1.5
24 1 Synovial sarcoma IV Trunk Lung 3 PD 1.5
25 0 Leiomyosarcoma IV Extremities Lung 2 SD 2.8
26 1 Leiomyosarcoma IV Trunk Liver 1 PD 1.3
27 0 Pleomorphic liposarcoma IV Extremities Lung 2 PD 1.8
28 1 Rhabdomyosarcoma IV Head Lung 1 PD 1.5"""
TABLE_1_PATTERN = re.compile(
    r"^(?P<no>\d+) (?P<ecog>\d) (?P<histology>.+?) (?P<stage>IV) (?P<site>Head|Neck|Extremities|Trunk) "
    r"(?P<metastatic>.+) (?P<lines>\d) (?P<response>CR|PR|SD|PD) (?P<pfs>[\d.]+)$"
)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = build.build(tmp_path_factory.mktemp("db") / "test.duckdb")
    with duckdb.connect(str(path), read_only=True) as connection:
        yield connection


def query(con, sql, params=None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def table_1_rows() -> list[dict]:
    seed_path = SEEDS / SEED_002
    lines = TABLE_1_LINES.splitlines()
    if seed_path.exists():
        seed_text = seed_path.read_text()
        for line in lines:
            assert f"\n{line}\n" in seed_text, f"not verbatim in {SEED_002}: {line}"
    return [TABLE_1_PATTERN.match(line).groupdict() for line in lines]


def test_row_counts(con):
    counts = query(con, "SELECT study_id, count(*) AS n FROM patients GROUP BY study_id").set_index("study_id")["n"]
    assert counts.to_dict() == {"nivolumab_pazopanib": 28, "nab_paclitaxel_sintilimab": 28}
    studies = query(con, "SELECT study_id, n_treated, n_evaluable FROM studies").set_index("study_id")
    assert studies.loc["nivolumab_pazopanib"].tolist() == [28, 24]
    assert studies.loc["nab_paclitaxel_sintilimab"].tolist() == [28, 28]
    for study_id, row in studies.iterrows():
        evaluable = query(con, "SELECT count(*) AS n FROM patients WHERE study_id = ? AND evaluable", [study_id])["n"][0]
        assert evaluable == row["n_evaluable"]


@pytest.mark.parametrize("row", table_1_rows(), ids=lambda r: f"patient{r['no']}")
def test_seed_002_patient_matches_table_1(con, row):
    patient = query(con, "SELECT * FROM patients WHERE patient_id = ?", [f"NAB-{int(row['no']):02d}"]).iloc[0]
    histology = {"UPS": "Undifferentiated pleomorphic sarcoma"}.get(row["histology"], row["histology"])
    assert patient["study_id"] == "nab_paclitaxel_sintilimab"
    assert patient["ecog"] == int(row["ecog"])
    assert patient["histology"] == histology
    assert patient["stage"] == row["stage"]
    assert patient["primary_site"] == row["site"]
    assert patient["metastatic_site"] == row["metastatic"]
    assert patient["prior_lines"] == int(row["lines"])
    assert patient["best_response"] == row["response"]
    assert patient["pfs_months"] == float(row["pfs"])
    assert patient["source"].startswith(f"{SEED_002}, Table 1 (patient No. {row['no']})")
    # Table 1 gives neither age nor sex per patient: they must stay NULL.
    assert pd.isna(patient["age"]) and pd.isna(patient["sex"])


def test_seed_002_pfs_events_are_marked_derived(con):
    sources = query(con, "SELECT derived, rule FROM patient_value_sources WHERE field = 'pfs_event' AND study_id = ?",
                    ["nab_paclitaxel_sintilimab"])
    assert len(sources) == 28 and sources["derived"].all()
    assert sources["rule"].str.contains("Table 3").all()


def test_seed_000_has_no_invented_pfs(con):
    pfs = query(con, "SELECT count(pfs_months) AS n_pfs, count(pfs_event) AS n_event, count(age) AS n_age "
                     "FROM patients WHERE study_id = 'nivolumab_pazopanib'").iloc[0]
    assert pfs["n_pfs"] == 0 and pfs["n_event"] == 0
    assert pfs["n_age"] == 3  # only the three ages the text states (74, 46, 24)


def fig_1a_counts(pazopanib_group: str) -> dict[tuple[str, str], int]:
    """Parse the Fig. 1a histology cells as printed in seed 000."""
    cells = {
        "all": {"PR": "DC, EpS OS", "SD": "IS, SS, OS, MPNST, ASPS, 3 LMS, DC",
                "PD": "4 LMS, SS, MC, DSRCT, UPS, LPS, OS, RMS, EpS"},
        "not_on_pazopanib": {"PR": "DC", "SD": "IS, OS, 1 LMS, DC", "PD": "MC, DSRCT, 1LMS, RMS, EpS"},
    }[pazopanib_group]
    seed_path = SEEDS / SEED_000
    if seed_path.exists():
        seed_text = " ".join(seed_path.read_text().split())
        for cell in cells.values():
            first_token = cell.replace(",", " ").split()[0]
            assert first_token in seed_text
    counts: dict[tuple[str, str], int] = {}
    for response, cell in cells.items():
        for number, code in re.findall(r"(\d*)\s*([A-Z][A-Za-z]+)", cell):
            n = int(number or 1)
            counts[(code, response)] = counts.get((code, response), 0) + n
    return counts


@pytest.mark.parametrize("pazopanib_group", ["all", "not_on_pazopanib"])
def test_seed_000_response_counts_match_fig_1a(con, pazopanib_group):
    where = "" if pazopanib_group == "all" else "AND pazopanib = false"
    ours = query(con, f"SELECT histology_code, best_response, count(*) AS n FROM patients "
                      f"WHERE study_id = 'nivolumab_pazopanib' AND evaluable {where} GROUP BY 1, 2")
    ours = {(r.histology_code, r.best_response): r.n for r in ours.itertuples()}
    assert ours == fig_1a_counts(pazopanib_group)
    published = query(con, "SELECT histology_code, response, n FROM published_response_by_histology "
                           "WHERE \"table\" = 'Fig. 1a' AND pazopanib_group = ? AND histology <> 'Total'", [pazopanib_group])
    assert {(r.histology_code, r.response): r.n for r in published.itertuples()} == ours


def test_seed_000_totals(con):
    totals = query(con, "SELECT best_response, count(*) AS n FROM patients WHERE study_id = 'nivolumab_pazopanib' "
                        "GROUP BY 1").set_index("best_response")["n"]
    assert totals["PR"] == 3 and totals["SD"] == 9 and totals["PD"] == 12 and totals[None] == 4
    lms = query(con, "SELECT count(*) AS n FROM patients WHERE histology_code = 'LMS' AND study_id = 'nivolumab_pazopanib'")
    assert lms["n"][0] == 7  # Results and Discussion: leiomyosarcoma n = 7
    reasons = query(con, "SELECT not_evaluable_reason, count(*) AS n FROM patients WHERE NOT evaluable GROUP BY 1")
    assert dict(zip(reasons.not_evaluable_reason, reasons.n)) == {
        "Liver toxicity after 2 cycles": 1, "Lost to follow-up": 2, "Concomitant radiation therapy": 1}
    not_evaluable = query(con, "SELECT * FROM patients WHERE NOT evaluable")
    assert not_evaluable["best_response"].isna().all() and not_evaluable["histology"].isna().all()


def test_seed_002_table_2_rows_reproduce_except_recorded_conflicts(con):
    published = query(con, "SELECT histology, response, n FROM published_response_by_histology WHERE \"table\" = 'Table 2'")
    ours = query(con, "SELECT CASE WHEN histology_code = 'UPS' THEN 'UPS' ELSE histology END AS histology, "
                      "best_response AS response, count(*) AS n FROM patients "
                      "WHERE study_id = 'nab_paclitaxel_sintilimab' GROUP BY ALL")
    ours_total = ours.groupby("response")["n"].sum().rename("n").reset_index().assign(histology="Total")
    merged = published.merge(pd.concat([ours, ours_total]), on=["histology", "response"], how="left",
                             suffixes=("_published", "_ours")).fillna({"n_ours": 0})
    differing = set(merged.loc[merged.n_published != merged.n_ours, "histology"])
    assert differing == {"Angiosarcoma", "Total"}
    conflicts = query(con, "SELECT topic FROM source_conflicts WHERE study_id = 'nab_paclitaxel_sintilimab'")["topic"]
    assert conflicts.str.contains("angiosarcoma").any() and conflicts.str.contains("Total SD and PD").any()


def test_seed_002_published_ae_percentages_are_self_consistent(con):
    rows = query(con, "SELECT term, n_patients, percent, denominator FROM published_adverse_events "
                      "WHERE study_id = 'nab_paclitaxel_sintilimab' AND n_patients IS NOT NULL")
    assert len(rows) == 24
    assert (rows["n_patients"] / rows["denominator"] * 100).round(1).tolist() == rows["percent"].tolist()


def test_seed_000_published_ae_totals_add_up(con):
    wide = query(con, "SELECT term, grade_band, \"group\", n_patients FROM published_adverse_events "
                      "WHERE study_id = 'nivolumab_pazopanib'").pivot(index=["term", "grade_band"], columns="group",
                                                                      values="n_patients")
    complete = wide.dropna()
    assert len(complete) >= 12
    assert (complete["on_pazopanib"] + complete["no_pazopanib"] == complete["total"]).all()


def test_every_patient_value_has_a_source(con):
    patients = query(con, "SELECT * FROM patients")
    sources = query(con, "SELECT patient_id, field, value, source, derived, rule FROM patient_value_sources")
    expected = {(row["patient_id"], field) for _, row in patients.iterrows() for field, value in row.items()
                if field not in build.PROVENANCE_SKIP and not pd.isna(value)}
    assert set(zip(sources.patient_id, sources.field)) == expected
    assert sources["source"].str.contains(f"{SEED_000}|{SEED_002}").all()
    assert sources.loc[sources.derived, "rule"].notna().all(), "every derived value states its rule"


def test_every_conflict_records_both_statements_and_a_choice(con):
    conflicts = query(con, "SELECT * FROM source_conflicts")
    assert len(conflicts) >= 10
    for column in ["statement_a", "location_a", "statement_b", "location_b", "value_used", "reason"]:
        assert conflicts[column].str.len().gt(10).all(), column
    assert set(conflicts.study_id) == {"nivolumab_pazopanib", "nab_paclitaxel_sintilimab"}


def test_data_dictionary_covers_every_column(con):
    columns = query(con, "SELECT table_name, column_name FROM information_schema.columns")
    documented = query(con, "SELECT \"table\", \"column\" FROM data_dictionary")
    assert set(zip(columns.table_name, columns.column_name)) == set(zip(documented.table, documented.column))
    readme = (ROOT / "data" / "README.md").read_text()
    for table in columns.table_name.unique():
        assert f"`{table}`" in readme, f"data/README.md does not describe {table}"


def test_published_results_hold_the_headline_numbers(con):
    results = query(con, "SELECT * FROM published_results").set_index("result_id")
    assert results.loc["nab_median_pfs", ["estimate", "ci_lower", "ci_upper"]].tolist() == [2.25, 1.8, 3.0]
    assert results.loc["nab_hr_angiosarcoma", ["estimate", "ci_lower", "ci_upper", "p_value"]].tolist() == [0.2, 0.06, 0.7, 0.012]
    assert results["source"].str.contains(f"{SEED_000}|{SEED_002}").all()
    assert results["printed"].str.len().gt(0).all()


def test_build_is_deterministic(tmp_path):
    tables = list(build.SCHEMA)
    snapshots = []
    for name in ["a.duckdb", "b.duckdb"]:
        with duckdb.connect(str(build.build(tmp_path / name)), read_only=True) as connection:
            snapshots.append({t: connection.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables})
    assert snapshots[0] == snapshots[1]


def test_ensure_database_rebuilds_a_corrupt_file_elsewhere(tmp_path, monkeypatch):
    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(b"this is not a database")
    monkeypatch.setattr(build.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    path = build.ensure_database(corrupt)
    assert path != corrupt and path.parent == tmp_path / "tmp"
    assert corrupt.read_bytes() == b"this is not a database", "the original file is left untouched"
    assert build.is_current(path)
    with duckdb.connect(str(path), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM patients").fetchone()[0] == 56


def test_ensure_database_reuses_a_current_file(tmp_path):
    path = build.build(tmp_path / "current.duckdb")
    assert build.ensure_database(path) == path
