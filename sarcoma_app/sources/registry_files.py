"""A registry read in place: Parquet (one file or a folder) or a DuckDB file, through DuckDB, read-only.

No streamlit here (the benchmark opens a registry the same way the app does).
The registry's path comes from the server's configuration, never from a
visitor: the environment variable :data:`REGISTRY_ENV`. It may name

* a Parquet file: the ``patients`` table;
* a folder holding ``patients.parquet`` or a folder ``patients/`` of Parquet
  parts (``*.parquet``), and optionally ``adverse_events`` and ``studies``
  the same way (``data/simulate.py --format parquet`` writes this layout);
  a folder of Parquet parts without those names is the ``patients`` table;
* a DuckDB database file with the bundled schema (attached read-only).

The connection is an in-memory DuckDB whose ``patients``, ``adverse_events``
and ``studies`` are views over the files (nothing is copied), with the
bundled schema's column names: a column the files lack reads as NULL. The
other tables a page reads exist, empty (published results are for the
bundled papers), and the reference tables are copied from the bundled
database. Once the views exist, file access is switched off except for the
registry's own folder (``allowed_directories``) and the configuration is
locked, so no later SQL can reach another file. DuckDB cannot make that folder
read-only: the app's SQL is made of constants that never write (run the server
as a user without write permission on the registry for a hard guarantee). Every column is read from the files as stored; constraint
checks of the bundled schema are not applied (flagged in the README).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from data.build import SCHEMA, ensure_database

#: Environment variable naming the registry (Parquet file or folder, or a DuckDB file).
REGISTRY_ENV = "SARCOMA_REGISTRY"
#: Tables that may come from the registry's files.
REGISTRY_TABLES = ("patients", "adverse_events", "studies")
REFERENCE_TABLES = ("histology_glossary", "data_dictionary")
ASSESSMENTS_SCHEMA = ("study_id VARCHAR NOT NULL, patient_id VARCHAR NOT NULL, time_months DOUBLE NOT NULL, "
                      "pct_change DOUBLE NOT NULL, source VARCHAR NOT NULL")
#: Row ids of part ``i`` of a Parquet folder start at ``i << ROWID_SHIFT`` (unique over the parts).
ROWID_SHIFT = 40


@dataclass(frozen=True)
class RegistryFiles:
    """What a registry path holds: the Parquet files per table, or a DuckDB file."""

    root: Path
    parquet: dict[str, tuple[Path, ...]]
    duckdb_file: Path | None = None


def configured_path() -> Path | None:
    """The registry path of the server's configuration (:data:`REGISTRY_ENV`), or None."""
    value = os.environ.get(REGISTRY_ENV, "").strip()
    return Path(value).expanduser() if value else None


def _parts(folder: Path) -> tuple[Path, ...]:
    return tuple(sorted(p for p in folder.glob("*.parquet") if p.is_file()))


def find_files(path: Path | str) -> RegistryFiles:
    """The files of a registry path (see the module docstring); ValueError naming what is missing."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"registry {path} does not exist")
    if path.is_file():
        if path.suffix.lower() in (".duckdb", ".db"):
            return RegistryFiles(path.parent, {}, duckdb_file=path)
        if path.suffix.lower() != ".parquet":
            raise ValueError(f"registry {path} is neither a Parquet nor a DuckDB file")
        return RegistryFiles(path.parent, {"patients": (path,)})
    found: dict[str, tuple[Path, ...]] = {}
    for table in REGISTRY_TABLES:
        single, folder = path / f"{table}.parquet", path / table
        if single.is_file():
            found[table] = (single,)
        elif folder.is_dir() and _parts(folder):
            found[table] = _parts(folder)
    if "patients" not in found:
        if not _parts(path):
            raise ValueError(f"registry folder {path} has no patients.parquet, patients/*.parquet or *.parquet")
        found = {"patients": _parts(path)}
    return RegistryFiles(path, found)


def _literal(path: Path) -> str:
    """A file path as an SQL string literal (server configuration, quotes doubled)."""
    return "'" + str(path.resolve()).replace("'", "''") + "'"


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position", [table]).fetchall()]


def _select_list(wanted: list[tuple[str, str]], present: set[str]) -> str:
    return ", ".join(f'"{name}"' if name in present else f'CAST(NULL AS {kind}) AS "{name}"'
                     for name, kind in wanted)


def _parquet_view(con: duckdb.DuckDBPyConnection, table: str, parts: tuple[Path, ...]) -> None:
    wanted = _table_columns(con, table)
    con.execute(f"DROP TABLE {table}")
    first = f"read_parquet({_literal(parts[0])})"
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {first}").fetchall()}
    columns = _select_list(wanted, present)
    if table == "patients":  # a stable row id per part, as a table's rowid (sources.db.load_patients)
        selects = [f"SELECT ({index}::BIGINT << {ROWID_SHIFT}) + file_row_number AS rowid, {columns} "
                   f"FROM read_parquet({_literal(part)}, file_row_number = true)" for index, part in enumerate(parts)]
        body = " UNION ALL ".join(selects)
    else:
        body = f"SELECT {columns} FROM read_parquet([{', '.join(_literal(p) for p in parts)}])"
    con.execute(f"CREATE VIEW {table} AS {body}")


def _duckdb_views(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    con.execute(f"ATTACH {_literal(path)} AS registry_file (READ_ONLY)")
    for table in REGISTRY_TABLES:
        attached = {row[0] for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'registry_file' "
            "AND table_name = ?", [table]).fetchall()}
        if not attached:
            continue
        wanted = _table_columns(con, table)
        con.execute(f"DROP TABLE {table}")
        rowid = "rowid AS rowid, " if table == "patients" else ""
        con.execute(f"CREATE VIEW {table} AS SELECT {rowid}{_select_list(wanted, attached)} "
                    f"FROM registry_file.main.{table}")


def open_registry(path: Path | str, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the bundled schema whose registry tables are views over the files.

    Parameters
    ----------
    path : path
        Parquet file or folder, or DuckDB file (see the module docstring).
    memory_limit : str, optional
        DuckDB ``memory_limit`` (e.g. ``"1GB"``); DuckDB's default otherwise.

    Returns
    -------
    duckdb.DuckDBPyConnection
        Query it through ``.cursor()`` (one per thread). File access is
        limited to the registry's folder.
    """
    files = find_files(path)
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET temp_directory = ''")
        if memory_limit:
            con.execute("SET memory_limit = ?", [memory_limit])
        for table, columns in SCHEMA.items():
            con.execute(f"CREATE TABLE {table} ({columns})")
        con.execute(f"CREATE TABLE assessments ({ASSESSMENTS_SCHEMA})")
        with duckdb.connect(str(ensure_database()), read_only=True) as bundled:
            for name in REFERENCE_TABLES:
                frame = bundled.execute(f"SELECT * FROM {name}").df()
                con.register("reference_rows", frame)
                con.execute(f"INSERT INTO {name} SELECT * FROM reference_rows")
                con.unregister("reference_rows")
        if files.duckdb_file is not None:
            _duckdb_views(con, files.duckdb_file)
        else:
            for table, parts in files.parquet.items():
                _parquet_view(con, table, parts)
            if "studies" not in files.parquet:  # one row per study of the patients, nothing else known
                wanted = _table_columns(con, "studies")
                con.execute("DROP TABLE studies")
                columns = ", ".join("study_id" if name == "study_id" else f'CAST(NULL AS {kind}) AS "{name}"'
                                    for name, kind in wanted)
                con.execute(f"CREATE VIEW studies AS SELECT {columns} FROM (SELECT DISTINCT study_id FROM patients)")
        folder = str(files.root.resolve()).replace("'", "''")
        con.execute(f"SET allowed_directories = ['{folder}/']")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")  # no later statement can lift these settings
    except Exception:
        con.close()
        raise
    return con


def patient_count(con: duckdb.DuckDBPyConnection) -> int:
    """Patients in the registry (Parquet metadata: no scan of the rows)."""
    return int(con.cursor().execute("SELECT count(*) FROM patients").fetchone()[0])
