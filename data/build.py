"""Build data/sarcoma.duckdb from the versioned CSV files in data/sources/.

Run ``python data/build.py`` (deterministic: the same sources give the same tables).
The app calls :func:`ensure_database`, which reuses a current file and otherwise
rebuilds into the system temporary directory, so nothing is written into the
repository at run time.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
from pathlib import Path

import duckdb
import pandas as pd

try:  # run as a script (python data/build.py) or imported as data.build
    from data import registry
except ImportError:  # pragma: no cover - script mode without the project root on sys.path
    import registry  # type: ignore[no-redef]

DATA_DIR = Path(__file__).resolve().parent
SOURCES_DIR = DATA_DIR / "sources"
DEFAULT_DB_PATH = DATA_DIR / "sarcoma.duckdb"
SCHEMA_VERSION = "1"

# Columns of `patients` computed from mappings rather than read from a paper.
MAPPED_COLUMNS = registry.derived_columns()

SCHEMA = {
    "studies": """
        study_id VARCHAR PRIMARY KEY, seed_file VARCHAR NOT NULL, title_as_given VARCHAR, short_label VARCHAR,
        regimen VARCHAR NOT NULL,
        dose_schedule VARCHAR, treatment_period VARCHAR, follow_up VARCHAR, centre VARCHAR, design VARCHAR,
        response_criteria VARCHAR, ae_criteria VARCHAR, n_treated INTEGER NOT NULL, n_evaluable INTEGER NOT NULL,
        statistics_software VARCHAR, citation VARCHAR, source VARCHAR NOT NULL""",
    "histology_glossary": """
        histology_code VARCHAR PRIMARY KEY, histology VARCHAR NOT NULL, histology_group VARCHAR NOT NULL,
        tissue VARCHAR, defined_in VARCHAR, source VARCHAR NOT NULL""",
    "patients": registry.patients_ddl(foreign_keys={"study_id": "REFERENCES studies(study_id)"}),
    "patient_value_sources": """
        study_id VARCHAR NOT NULL, patient_id VARCHAR NOT NULL, field VARCHAR NOT NULL, value VARCHAR NOT NULL,
        source VARCHAR NOT NULL, derived BOOLEAN NOT NULL, rule VARCHAR, alternative_value VARCHAR,
        PRIMARY KEY (patient_id, field), CHECK (alternative_value IS NULL OR derived)""",
    "adverse_events": """
        study_id VARCHAR NOT NULL, patient_id VARCHAR, patient_ref VARCHAR, term VARCHAR NOT NULL,
        term_group VARCHAR NOT NULL, grade INTEGER CHECK (grade BETWEEN 1 AND 5), source VARCHAR NOT NULL, note VARCHAR""",
    "published_results": """
        result_id VARCHAR PRIMARY KEY, study_id VARCHAR NOT NULL, endpoint VARCHAR NOT NULL, population VARCHAR NOT NULL,
        subgroup VARCHAR, comparison VARCHAR, group_column VARCHAR, group_level VARCHAR, alternative_reference_level VARCHAR, estimate DOUBLE, ci_lower DOUBLE, ci_upper DOUBLE, p_value DOUBLE,
        numerator INTEGER, denominator INTEGER, landmark_months DOUBLE, unit VARCHAR NOT NULL, precision DOUBLE NOT NULL,
        printed VARCHAR NOT NULL, method_stated VARCHAR, conflict_ids VARCHAR, source VARCHAR NOT NULL, note VARCHAR""",
    "published_characteristics": """
        study_id VARCHAR NOT NULL, "table" VARCHAR NOT NULL, characteristic VARCHAR NOT NULL, category VARCHAR NOT NULL,
        value VARCHAR NOT NULL, unit VARCHAR, source VARCHAR NOT NULL""",
    "published_response_by_histology": """
        study_id VARCHAR NOT NULL, "table" VARCHAR NOT NULL, histology VARCHAR NOT NULL, histology_code VARCHAR,
        n_patients_in_row INTEGER, pazopanib_group VARCHAR NOT NULL CHECK (pazopanib_group IN ('all', 'not_on_pazopanib')),
        response VARCHAR NOT NULL CHECK (response IN ('CR', 'PR', 'SD', 'PD')), n INTEGER NOT NULL, printed VARCHAR,
        source VARCHAR NOT NULL""",
    "published_adverse_events": """
        study_id VARCHAR NOT NULL, category VARCHAR, term VARCHAR NOT NULL, grade_band VARCHAR NOT NULL CHECK (grade_band IN ('1-2', '3-4')),
        "group" VARCHAR NOT NULL CHECK ("group" IN ('all', 'total', 'on_pazopanib', 'no_pazopanib')),
        n_patients INTEGER, percent DOUBLE, denominator INTEGER, printed VARCHAR, derived BOOLEAN NOT NULL,
        source VARCHAR NOT NULL, note VARCHAR""",
    "source_conflicts": """
        conflict_id VARCHAR PRIMARY KEY, study_id VARCHAR NOT NULL, topic VARCHAR NOT NULL, statement_a VARCHAR NOT NULL,
        location_a VARCHAR NOT NULL, statement_b VARCHAR NOT NULL, location_b VARCHAR NOT NULL, value_used VARCHAR NOT NULL,
        reason VARCHAR NOT NULL""",
    "data_dictionary": """
        "table" VARCHAR NOT NULL, "column" VARCHAR NOT NULL, type VARCHAR NOT NULL, unit VARCHAR, allowed_values VARCHAR,
        description VARCHAR NOT NULL, PRIMARY KEY ("table", "column")""",
    "build_info": "sources_sha256 VARCHAR NOT NULL, schema_version VARCHAR NOT NULL",
}

# Fields whose provenance is the row's `source` unless patient_field_sources.csv says otherwise.
PROVENANCE_SKIP = {"study_id", "patient_id", "source", "notes"}


def sources_digest() -> str:
    """SHA-256 over every source CSV, this build script and the variable registry."""
    digest = hashlib.sha256(SCHEMA_VERSION.encode())
    for path in sorted(SOURCES_DIR.glob("*.csv")) + [Path(__file__).resolve(), DATA_DIR / "registry.py"]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def read_source(name: str) -> pd.DataFrame:
    """Read one source CSV as text; empty cells become None (NULL)."""
    frame = pd.read_csv(SOURCES_DIR / f"{name}.csv", dtype=str, keep_default_na=False)
    return frame.replace({"": None})


def build_patients() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the patients table and its long-form per-value provenance."""
    patients = read_source("patients")
    glossary = read_source("histology_glossary").set_index("histology_code")
    sites = read_source("primary_site_groups").set_index("primary_site")

    unknown_codes = set(patients["histology_code"].dropna()) - set(glossary.index)
    unknown_sites = set(patients["primary_site"].dropna()) - set(sites.index)
    if unknown_codes or unknown_sites:
        raise ValueError(f"unmapped histology codes {sorted(unknown_codes)} or sites {sorted(unknown_sites)}")
    patients["histology_group"] = patients["histology_code"].map(glossary["histology_group"])
    patients["primary_site_group"] = patients["primary_site"].map(sites["primary_site_group"])
    cycles = pd.to_numeric(patients["cycles_last_reported"])
    is_nivolumab = patients["study_id"].eq("nivolumab_pazopanib")
    patients["weeks_on_nivolumab_derived"] = (cycles * 2).where(is_nivolumab & cycles.notna())

    overrides = read_source("patient_field_sources")
    unknown_fields = set(overrides["field"]) - set(patients.columns)
    if unknown_fields:
        raise ValueError(f"patient_field_sources names unknown fields {sorted(unknown_fields)}")
    seed_of_study = read_source("studies").set_index("study_id")["seed_file"]
    provenance_rows = []
    for _, patient in patients.iterrows():
        for field, value in patient.items():
            if field in PROVENANCE_SKIP or value is None or (isinstance(value, float) and pd.isna(value)):
                continue
            match = overrides[(overrides["study_id"] == patient["study_id"]) & (overrides["field"] == field)
                              & overrides["patient_id"].isin([patient["patient_id"], "*"])]
            alternative = None
            if len(match):
                row = match.sort_values("patient_id", key=lambda s: s.eq("*")).iloc[0]
                source, derived, rule = row["source"], row["derived"] == "true", row["rule"]
                alternative = row["alternative_value"]
            elif field == "histology_code" and seed_of_study[patient["study_id"]] not in str(glossary.loc[value, "defined_in"]):
                source, derived = patient["source"], True
                rule = (f"project code: {seed_of_study[patient['study_id']]} does not abbreviate this histology "
                        f"(glossary: {glossary.loc[value, 'source']})")
            elif field in MAPPED_COLUMNS:
                source, derived, rule = patient["source"], True, MAPPED_COLUMNS[field]
            else:
                source, derived, rule = patient["source"], False, None
            text = f"{value:g}" if isinstance(value, float) else str(value)
            provenance_rows.append((patient["study_id"], patient["patient_id"], field, text, source, derived, rule,
                                    alternative))
    provenance = pd.DataFrame(provenance_rows, columns=["study_id", "patient_id", "field", "value", "source", "derived",
                                                        "rule", "alternative_value"])
    return patients, provenance


def data_dictionary() -> pd.DataFrame:
    """``data_dictionary.csv`` with the ``patients`` rows generated from the registry (after ``histology_glossary``)."""
    rows = read_source("data_dictionary")
    if (rows["table"] == "patients").any():
        raise ValueError("data_dictionary.csv must not list patients columns: they come from data/registry.py")
    position = int(rows.index[rows["table"] == "histology_glossary"].max()) + 1
    generated = registry.dictionary_rows().replace({"": None})
    return pd.concat([rows.iloc[:position], generated, rows.iloc[position:]], ignore_index=True)


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    columns = [row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position", [table]
    ).fetchall()]
    con.register("incoming", frame[columns])
    quoted = ", ".join(f'"{c}"' for c in columns)
    con.execute(f"INSERT INTO {table} SELECT {quoted} FROM incoming")
    con.unregister("incoming")


def build(target: Path = DEFAULT_DB_PATH) -> Path:
    """Build the database at ``target`` atomically (write a sibling file, then rename)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    patients, provenance = build_patients()
    con = duckdb.connect(str(partial))
    try:
        for table, columns in SCHEMA.items():
            con.execute(f"CREATE TABLE {table} ({columns})")
        for table in ["studies", "histology_glossary", "adverse_events", "published_results", "published_characteristics",
                      "published_response_by_histology", "published_adverse_events", "source_conflicts"]:
            _insert(con, table, read_source(table))
        _insert(con, "data_dictionary", data_dictionary())
        _insert(con, "patients", patients)
        _insert(con, "patient_value_sources", provenance)
        con.execute("INSERT INTO build_info VALUES (?, ?)", [sources_digest(), SCHEMA_VERSION])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(partial, target)
    return target


def is_current(path: Path, digest: str | None = None) -> bool:
    """True when ``path`` opens read-only and was built from the present sources."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            stored = con.execute("SELECT sources_sha256 FROM build_info").fetchone()
    except (duckdb.Error, OSError):
        return False
    return stored is not None and stored[0] == (digest or sources_digest())


def ensure_database(preferred: Path = DEFAULT_DB_PATH) -> Path:
    """Return the path of a current database, rebuilding into the temp dir if needed.

    The repository file is used when it is current. A missing, stale or corrupt
    file is never overwritten at run time: a fresh copy is built in the system
    temporary directory (the only place a hosted app may write).
    """
    digest = sources_digest()
    if is_current(preferred, digest):
        return Path(preferred)
    fallback = Path(tempfile.gettempdir()) / f"sarcoma-{digest[:16]}.duckdb"
    if not is_current(fallback, digest):
        build(fallback)
    return fallback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_DB_PATH)
    parser.add_argument("--if-stale", action="store_true", help="skip the build when the file is already current")
    args = parser.parse_args()
    if args.if_stale and is_current(args.output):
        print(f"{args.output} is current")
        return
    path = build(args.output)
    with duckdb.connect(str(path), read_only=True) as con:
        counts = con.execute("SELECT study_id, count(*) FROM patients GROUP BY study_id ORDER BY study_id").fetchall()
    print(f"built {path}: " + ", ".join(f"{study} {n} patients" for study, n in counts))


if __name__ == "__main__":
    main()
