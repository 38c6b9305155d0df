"""Data sources: the published cohorts, this session's upload, simulated registries.

Every source is a DuckDB connection with the bundled schema
(:data:`data.build.SCHEMA`), so every page's SQL runs unchanged on it:

* ``bundled`` (default): ``data/sarcoma.duckdb``, opened read-only by
  :mod:`sarcoma_app.sources.db` and shared by all sessions;
* ``simulated-1k`` / ``-10k`` / ``-100k``: an in-memory DuckDB filled by
  :func:`data.simulate.simulate_cohort` (seeded, deterministic, not user data),
  built once per server and shared through ``st.cache_resource``. Never the
  default source, never pooled with real patients, labelled "simulated - not
  real patients" on every page;
* ``uploaded``: an in-memory DuckDB built from the session's upload
  (:mod:`sarcoma_app.ingest.cohort`). It lives in ``st.session_state`` only: never in
  a cache shared across sessions, never on disk, gone with the session.

The in-memory databases hold ``patients``, ``adverse_events``, one ``studies``
row per cohort, ``assessments`` (tumour measurements of an upload; empty
otherwise), copies of the reference tables ``histology_glossary`` and
``data_dictionary``, and empty copies of the published-result and
provenance tables (pages say those are for the bundled papers).

Query results of an upload are memoised per session (a small LRU in
``st.session_state``), never in a cache shared across sessions; those of a
simulated source are shared read-only by all sessions (:func:`shared_result`).
"""
from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import duckdb
import pandas as pd
import streamlit as st

from data.build import SCHEMA, ensure_database
from data.simulate import DEFAULT_SEED, simulate_cohort, study_record
from sarcoma_app.exports import deck
from sarcoma_app.viewstate.state import DECK_KEY, NOTICES_KEY, current_state, set_state
from sarcoma_app.text import escape_markdown
from sarcoma_app.viewstate.url_state import (
    DEFAULT_SOURCE, REGISTRY_SOURCE, SIMULATED_SOURCES, UPLOADED_SOURCE, AllowedValues, Notice, parse_query, to_query,
)
from sarcoma_app.sources import registry_files

ACTIVE_KEY = "_active_source"
UPLOAD_KEY = "_uploaded_cohort"
MEMO_KEY = "_source_query_memo"
SWITCHED_KEY = "_source_switched"
WIDGET_KEY = "w_source"
#: The upload page's files as read and the cohort as checked (freed once loaded, refused or removed).
READ_KEY = "_upload_read"
PREPARED_KEY = "_upload_prepared"
#: Part of the upload widgets' keys: a new generation is a set of empty uploaders.
UPLOADER_GENERATION_KEY = "_upload_generation"
#: Why the last "Load this cohort" failed (shown once by the upload page).
LOAD_ERROR_KEY = "_upload_error"

#: Patients of each simulated source.
SIMULATED_SIZES = {"simulated-1k": 1_000, "simulated-10k": 10_000, "simulated-100k": 100_000}
assert tuple(SIMULATED_SIZES) == SIMULATED_SOURCES
#: Reference tables copied from the bundled database into every in-memory source.
REFERENCE_TABLES = ("histology_glossary", "data_dictionary")
#: Per-assessment tumour measurements (an upload's optional third file).
ASSESSMENTS_SCHEMA = ("study_id VARCHAR NOT NULL, patient_id VARCHAR NOT NULL, time_months DOUBLE NOT NULL, "
                      "pct_change DOUBLE NOT NULL, source VARCHAR NOT NULL")
#: Per-session memo of query results of a non-bundled source.
MEMO_MAX_ENTRIES = 32
MEMO_MAX_ROWS = 200_000

#: Scale limits of the pages (a 100,000-patient source must stay responsive).
MAX_TABLE_ROWS = 1_000


@dataclass(frozen=True, eq=False)
class UploadedCohort:
    """A session's uploaded cohort: its in-memory database and what to say about it."""

    connection: duckdb.DuckDBPyConnection
    name: str
    files: tuple[str, ...]
    n_patients: int
    n_adverse_events: int = 0
    n_assessments: int = 0
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


# --------------------------------------------------------------------------- #
# Building an in-memory source
# --------------------------------------------------------------------------- #
@st.cache_resource(show_spinner=False)
def _reference_frames() -> dict[str, pd.DataFrame]:
    """The reference tables of the bundled database (read once per server)."""
    with duckdb.connect(str(ensure_database()), read_only=True) as con:
        return {name: con.execute(f"SELECT * FROM {name}").df() for name in REFERENCE_TABLES}


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Insert ``frame`` into ``table`` by column name (the table's order)."""
    if frame is None or frame.empty:
        return
    columns = [row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position", [table]
    ).fetchall()]
    incoming = frame.reindex(columns=columns)
    con.register("incoming_rows", incoming)
    quoted = ", ".join(f'"{c}"' for c in columns)
    try:
        con.execute(f'INSERT INTO {table} ({quoted}) SELECT {quoted} FROM incoming_rows')
    finally:
        con.unregister("incoming_rows")


def create_cohort_database(patients: pd.DataFrame, adverse_events: pd.DataFrame | None, studies: pd.DataFrame,
                           assessments: pd.DataFrame | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the bundled schema holding one cohort.

    Parameters
    ----------
    patients, adverse_events, studies : pandas.DataFrame
        Rows of the tables of the same names (columns by name; missing
        columns are NULL). The schema's constraints apply (e.g. ``pfs_event``
        in 0/1, ``evaluable`` or a not-evaluable reason), so a cohort that
        violates them is refused as a whole.
    assessments : pandas.DataFrame, optional
        ``study_id, patient_id, time_months, pct_change, source``.

    Returns
    -------
    duckdb.DuckDBPyConnection
        Query it through ``.cursor()`` (one per thread).
    """
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET temp_directory = ''")  # never spill to disk (the default is ./.tmp)
        for table, columns in SCHEMA.items():
            con.execute(f"CREATE TABLE {table} ({columns})")
        con.execute(f"CREATE TABLE assessments ({ASSESSMENTS_SCHEMA})")
        for name, frame in _reference_frames().items():
            _insert(con, name, frame)
        _insert(con, "studies", studies)
        _insert(con, "patients", patients)
        _insert(con, "adverse_events", adverse_events)
        _insert(con, "assessments", assessments)
        con.execute("SET enable_external_access = false")  # from now on no SQL can read or write a file
    except Exception:
        con.close()
        raise
    return con


@st.cache_resource(show_spinner="Generating the simulated cohort (not real patients)…", max_entries=len(SIMULATED_SOURCES))
def simulated_connection(source: str) -> duckdb.DuckDBPyConnection:
    """The in-memory database of one simulated source (deterministic, shared by all sessions)."""
    patients, adverse_events = simulate_cohort(SIMULATED_SIZES[source], seed=DEFAULT_SEED)
    return create_cohort_database(patients, adverse_events, study_record(patients))


@st.cache_resource(show_spinner="Opening the registry…")
def registry_connection(path: str) -> duckdb.DuckDBPyConnection:
    """The configured registry, read in place through DuckDB (views over its files; shared by all sessions)."""
    return registry_files.open_registry(path)


def registry_path() -> str | None:
    """The registry the server is configured to read (:data:`registry_files.REGISTRY_ENV`), if any."""
    path = registry_files.configured_path()
    return str(path) if path is not None else None


@st.cache_resource(show_spinner=False)
def registry_size(path: str) -> int:
    """Patients in the configured registry."""
    return registry_files.patient_count(registry_connection(path))


# --------------------------------------------------------------------------- #
# The session's upload
# --------------------------------------------------------------------------- #
def uploaded_cohort() -> UploadedCohort | None:
    """This session's uploaded cohort, if any."""
    return st.session_state.get(UPLOAD_KEY)


def store_upload(cohort: UploadedCohort) -> None:
    """Keep ``cohort`` for this session (replacing an earlier upload) and select it.

    The files it came from are freed (:func:`forget_upload_files`): the
    session keeps the in-memory database only.
    """
    remove_upload(select_default=False)
    st.session_state[UPLOAD_KEY] = cohort
    forget_upload_files()
    select_source(UPLOADED_SOURCE)


def load_checked_cohort(name: str, files: tuple[str, ...]) -> None:
    """Callback of 'Load this cohort': the checked cohort of the session becomes its upload (all or nothing).

    The cohort is read from ``st.session_state[PREPARED_KEY]`` at click time,
    not captured by the callback: Streamlit may keep a button's callback after
    the button is gone, and a closure over the page would keep every table
    of the upload alive with it.
    """
    memo = st.session_state.get(PREPARED_KEY)
    prepared = memo[1] if memo is not None else None
    if prepared is None or not prepared.ok:
        st.session_state[LOAD_ERROR_KEY] = "the checked cohort is no longer in this session: upload the files again"
        return
    try:
        connection = create_cohort_database(prepared.patients, prepared.adverse_events, prepared.studies,
                                            prepared.assessments)
    except Exception as error:  # noqa: BLE001 - a constraint the checks missed: refuse the whole cohort
        st.session_state[LOAD_ERROR_KEY] = f"{type(error).__name__}: {str(error)[:300]}"
        return
    store_upload(UploadedCohort(
        connection=connection, name=name, files=tuple(files), n_patients=len(prepared.patients),
        n_adverse_events=0 if prepared.adverse_events is None else len(prepared.adverse_events),
        n_assessments=0 if prepared.assessments is None else len(prepared.assessments)))


def uploader_generation() -> int:
    """Part of the upload widgets' keys (see :func:`forget_upload_files`)."""
    return int(st.session_state.get(UPLOADER_GENERATION_KEY, 0))


def forget_upload_files() -> None:
    """Free the files read and the cohort checked on the upload page, and empty its uploaders."""
    st.session_state.pop(READ_KEY, None)
    st.session_state.pop(PREPARED_KEY, None)
    st.session_state[UPLOADER_GENERATION_KEY] = uploader_generation() + 1


def remove_upload(select_default: bool = True) -> None:
    """Forget this session's upload and everything derived from it; back to the published cohorts.

    Its database is closed, its query memo, its slides in the deck and the
    upload page's files and checked tables are dropped.
    """
    cohort = st.session_state.pop(UPLOAD_KEY, None)
    st.session_state.pop(MEMO_KEY, None)
    if cohort is not None:
        slides = st.session_state.get(DECK_KEY)
        if slides:
            st.session_state[DECK_KEY] = deck.without_origin(slides, upload_token(cohort))
        try:
            cohort.connection.close()
        except Exception:  # noqa: BLE001 - already closed
            pass
    if select_default:
        forget_upload_files()
        if current_state().source == UPLOADED_SOURCE:
            select_source(DEFAULT_SOURCE)


def upload_token(cohort: UploadedCohort) -> str:
    """Identity of one upload in memo keys and slide origins: 'uploaded:<token>'."""
    return f"{UPLOADED_SOURCE}:{cohort.token}"


def source_token(source: str | None = None) -> str:
    """Identity of the data a view is built from: the source, or one upload (:func:`upload_token`)."""
    source = source or active_source()
    cohort = uploaded_cohort() if source == UPLOADED_SOURCE else None
    return upload_token(cohort) if cohort is not None else source


# --------------------------------------------------------------------------- #
# Which source this run uses
# --------------------------------------------------------------------------- #
def available_sources() -> tuple[str, ...]:
    """Sources this session may select, in menu order."""
    upload = (UPLOADED_SOURCE,) if uploaded_cohort() is not None else ()
    registry = (REGISTRY_SOURCE,) if registry_path() is not None else ()
    return (DEFAULT_SOURCE,) + upload + registry + SIMULATED_SOURCES


def activate(source: str) -> None:
    """Make ``source`` the one :mod:`sarcoma_app.sources.db` queries in this run."""
    st.session_state[ACTIVE_KEY] = source if source in available_sources() else DEFAULT_SOURCE


def active_source() -> str:
    """The source queried in this run (the published cohorts until app.py activates another)."""
    source = st.session_state.get(ACTIVE_KEY, DEFAULT_SOURCE)
    if source == UPLOADED_SOURCE and uploaded_cohort() is None:
        return DEFAULT_SOURCE
    return source


def is_bundled() -> bool:
    """True when the published cohorts are shown."""
    return active_source() == DEFAULT_SOURCE


def is_simulated(source: str | None = None) -> bool:
    """True for a simulated registry source."""
    return (source or active_source()) in SIMULATED_SOURCES


def is_registry(source: str | None = None) -> bool:
    """True for the registry the server reads in place."""
    return (source or active_source()) == REGISTRY_SOURCE and registry_path() is not None


def has_published_tables() -> bool:
    """Published tables, conflicts and per-value provenance exist for the bundled papers only."""
    return is_bundled()


def select_source(source: str) -> None:
    """Switch the view to ``source`` (filters are re-checked against it on the next run)."""
    state = current_state()
    if state.source != source:
        set_state(replace(state, source=source))
        st.session_state[SWITCHED_KEY] = True
    st.session_state[ACTIVE_KEY] = source


def settle(allowed: AllowedValues) -> None:
    """After the URL sync: make the view's source the active one and re-check the filters.

    When the source changed (sidebar choice, upload, upload removed), filter
    values that do not exist in the new source are dropped, each with a
    notice, and the rest are kept.
    """
    state = current_state()
    source = active_source()
    if state.source != source:
        state = replace(state, source=source)
        st.session_state[SWITCHED_KEY] = True
    if st.session_state.pop(SWITCHED_KEY, False):
        checked, notices = parse_query(to_query(state), allowed)
        notices = [Notice(n.parameter, n.value, "not present in the selected data source") for n in notices]
        set_state(replace(checked, present=state.present, source=source))
        if notices:
            st.session_state[NOTICES_KEY] = notices


def _query_connection(source: str) -> tuple[duckdb.DuckDBPyConnection, str]:
    if source == UPLOADED_SOURCE:
        cohort = uploaded_cohort()
        if cohort is None:
            raise LookupError("no uploaded cohort in this session")
        return cohort.connection, upload_token(cohort)
    if source in SIMULATED_SIZES:
        return simulated_connection(source), source
    if source == REGISTRY_SOURCE and registry_path() is not None:
        return registry_connection(registry_path()), source
    raise LookupError(f"unknown data source {source!r}")


#: Query results of the simulated sources kept for all sessions together.
SHARED_MAX_ENTRIES = 64


@st.cache_resource(show_spinner=False, max_entries=SHARED_MAX_ENTRIES)
def shared_result(source: str, sql: str, parameters: tuple = ()) -> pd.DataFrame:
    """A query result of a simulated source, one object shared by every session (read-only).

    The simulated cohorts are not user data, so a 100,000-patient table is
    held once per server, not copied into each session's memo (about 140 MB
    per session before). Callers never modify the frame: :func:`run_query`
    hands out a copy unless its caller only reads it (``copy=False``), and a
    test runs every page and checks the frame is unchanged.
    """
    cursor = _query_connection(source)[0].cursor()
    try:
        return cursor.execute(sql, list(parameters)).df()
    finally:
        cursor.close()


def run_uncached(sql: str, parameters: tuple = ()) -> pd.DataFrame:
    """Run a constant SQL statement on the active non-bundled source without keeping the result (a large one:
    up to :data:`sarcoma_app.limits.SCALE` patients, which no cache should hold many of)."""
    con, _ = _query_connection(active_source())
    cursor = con.cursor()
    try:
        return cursor.execute(sql, list(parameters)).df()
    finally:
        cursor.close()


def run_query(sql: str, parameters: tuple = (), copy: bool = True) -> pd.DataFrame:
    """Run a constant SQL statement with ``?`` parameters on the active non-bundled source.

    A simulated source's results are shared by all sessions
    (:func:`shared_result`); an upload's are memoised in this session only
    (LRU, bounded in entries and rows). A copy is returned so a page may
    modify it, unless ``copy`` is False (the caller only reads it to build a
    new frame).
    """
    source = active_source()
    if source in SIMULATED_SIZES or source == REGISTRY_SOURCE:  # not user data: shared by all sessions
        frame = shared_result(source, sql, tuple(parameters))
        return frame.copy() if copy else frame
    con, token = _query_connection(source)
    key = (token, sql, tuple(parameters))
    memo: OrderedDict = st.session_state.setdefault(MEMO_KEY, OrderedDict())
    if key in memo:
        memo.move_to_end(key)
        return memo[key].copy() if copy else memo[key]
    cursor = con.cursor()
    try:
        frame = cursor.execute(sql, list(parameters)).df()
    finally:
        cursor.close()
    memo[key] = frame
    while len(memo) > MEMO_MAX_ENTRIES or (len(memo) > 1 and sum(len(f) for f in memo.values()) > MEMO_MAX_ROWS):
        memo.popitem(last=False)
    return frame.copy() if copy else frame


# --------------------------------------------------------------------------- #
# What the user sees
# --------------------------------------------------------------------------- #
def source_label(source: str) -> str:
    """Menu label of a source."""
    if source == DEFAULT_SOURCE:
        return "Published cohorts (2 papers)"
    if source == UPLOADED_SOURCE:
        cohort = uploaded_cohort()
        return f"Your upload: {cohort.name} ({cohort.n_patients:,} patients)" if cohort else "Your upload"
    if source in SIMULATED_SIZES:
        return f"Simulated {source.removeprefix('simulated-')} — not real"
    if source == REGISTRY_SOURCE and registry_path() is not None:
        return f"Registry ({registry_size(registry_path()):,} patients)"
    return source


def source_description(source: str | None = None) -> str:
    """One line naming the data of the view (sidebar footer, exports)."""
    source = source or active_source()
    if source == DEFAULT_SOURCE:
        return "two published cohorts (seeds 000 and 002)"
    if source == UPLOADED_SOURCE:
        cohort = uploaded_cohort()
        name = cohort.name if cohort else "uploaded cohort"
        return f"uploaded cohort “{name}” (this browser session only)"
    if source == REGISTRY_SOURCE and registry_path() is not None:
        return f"registry of {registry_size(registry_path()):,} patients read in place (server configuration)"
    return (f"SIMULATED registry of {SIMULATED_SIZES.get(source, 0):,} patients (data/simulate.py, seed "
            f"{DEFAULT_SEED}) — not real patients")


def _on_source_change() -> None:
    select_source(st.session_state[WIDGET_KEY])


def render_source_picker(sources: tuple[str, ...]) -> None:
    """The 'Data source' selectbox at the top of the sidebar, and what the source is."""
    source = active_source()
    st.session_state[WIDGET_KEY] = source
    sidebar = st.sidebar
    labels = {name: source_label(name) for name in sources}  # fixed now: format_func must not read the session
    sidebar.selectbox(
        "Data source", list(sources), key=WIDGET_KEY, format_func=labels.__getitem__, on_change=_on_source_change,
        help="Published cohorts: the two papers, patient by patient. Your upload: a cohort you loaded on the "
             "'Upload a cohort' page (only in this browser session). Simulated registries: generated data to "
             "try the app at scale — not real patients, never pooled with real ones.",
    )
    if is_simulated(source):
        sidebar.warning("**Simulated — not real patients.** Generated by `data/simulate.py` to test the app at "
                        "scale; do not use these numbers clinically.", icon=":material/science:")
    elif source == UPLOADED_SOURCE:
        cohort = uploaded_cohort()
        sidebar.info(f"**Your upload** ({cohort.n_patients:,} patients) is kept in this browser session only: "
                     "not on disk, not visible to anyone else.", icon=":material/lock:")


def show_source_banner() -> None:
    """A banner at the top of every page when the data are not the published cohorts."""
    source = active_source()
    if is_simulated(source):
        st.warning(f"**Simulated data — not real patients.** A registry of {SIMULATED_SIZES[source]:,} patients "
                   f"generated by `data/simulate.py` (seed {DEFAULT_SEED}) to test the app at scale. Choose "
                   "*Published cohorts* under **Data source** in the sidebar to return to the papers.",
                   icon=":material/science:")
    elif source == UPLOADED_SOURCE:
        cohort = uploaded_cohort()
        st.info(f"**Your uploaded cohort: {escape_markdown(cohort.name)}** — {cohort.n_patients:,} patients. It "
                "exists only in this browser session (never written to disk, never shown to another user). "
                "Published tables and comparisons with the papers are for the bundled papers only.",
                icon=":material/upload_file:")


