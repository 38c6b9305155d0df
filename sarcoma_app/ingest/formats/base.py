"""What every standard-format reader shares: the result, its findings, bounded reading of a file (pure).

A format reader (:mod:`.adam`, :mod:`.cbioportal`, :mod:`.redcap`) turns the
files of one delivery into the app's own layout - text tables named like the
upload columns (:data:`sarcoma_app.ingest.columns.SPECS`), so the column
matching, value parsing and checks of :func:`sarcoma_app.ingest.cohort.prepare_cohort`
apply unchanged - plus what it recognised (:class:`Mapped`) and what it found
(:class:`Finding`). A finding of severity ``error`` refuses the whole upload
(nothing half-loaded); ``endpoint`` findings keep one endpoint out.

Every file is bounded before it is read whole: its bytes
(:data:`sarcoma_app.limits.LIMITS` ``file_mb``), then the rows and columns a
SAS or Parquet file declares (read from its metadata only), then the rows
actually read (``row_limit``).
"""
from __future__ import annotations

import datetime as _dt
import io
import math
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np
import pandas as pd

from sarcoma_app.ingest.columns import DAYS_PER_MONTH
from sarcoma_app.ingest.read import read_table
from sarcoma_app.ingest.tables import (CONTROL_CHARACTERS, MAX_TEXT_LENGTH, Problem, RawTable, clean_cell, over_limit, quoted,
                                       short_text, too_many_columns, too_many_rows)
from sarcoma_app.limits import LIMITS

#: Example IDs named in a finding.
EXAMPLES = 5
#: Months per unit of a time (ADaM AVALU, REDCap/cBioPortal column units).
UNIT_MONTHS = {"days": 1 / DAYS_PER_MONTH, "weeks": 7 / DAYS_PER_MONTH, "months": 1.0, "years": 12.0}
UNIT_WORDS = {"day": "days", "days": "days", "d": "days", "week": "weeks", "weeks": "weeks", "wk": "weeks",
              "w": "weeks", "month": "months", "months": "months", "mo": "months", "m": "months", "year": "years",
              "years": "years", "yr": "years", "y": "years"}


@dataclass(frozen=True)
class Mapped:
    """One thing of the file recognised, and what it becomes: shown to the user before loading."""

    source: str  # file and column / parameter: "adtte.xpt PARAMCD = PFS (AVAL, CNSR)"
    variable: str  # app column(s): "pfs_months, pfs_event"
    rule: str  # "AVAL in days / 30.4375; event = 1 − CNSR"


@dataclass(frozen=True)
class Finding:
    """A check's result: ``error`` refuses the upload, ``endpoint`` keeps one endpoint out, ``warning`` is shown."""

    severity: str
    check: str
    message: str

    @property
    def blocking(self) -> bool:
        return self.severity == "error"


@dataclass(frozen=True)
class Choice:
    """A choice of the mapping the user may change: its options (first = default) and what it does."""

    key: str
    label: str
    options: tuple[str, ...]
    help: str = ""


@dataclass
class FormatResult:
    """A standard-format delivery read: the app-layout tables, what was recognised, checks and choices."""

    format: str  # "CDISC ADaM", "cBioPortal", "REDCap"
    files: tuple[str, ...]
    tables: dict[str, RawTable] = field(default_factory=dict)  # role -> table in the app's column names
    recognised: list[Mapped] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)
    chosen: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)  # the files are not readable: nothing else is set

    @property
    def ok(self) -> bool:
        return not self.problems and not any(f.blocking for f in self.findings) and "patients" in self.tables

    def choose(self, choice: Choice, chosen: dict[str, str] | None) -> str:
        """Register ``choice``; the user's option when valid, else the default (first)."""
        self.choices.append(choice)
        value = (chosen or {}).get(choice.key)
        value = value if value in choice.options else choice.options[0]
        self.chosen[choice.key] = value
        return value

    def find(self, severity: str, check: str, message: str) -> None:
        self.findings.append(Finding(severity, check, message))


def examples(ids) -> str:
    """'e.g. P-01, P-07, P-09 …' of IDs (the first :data:`EXAMPLES`)."""
    ids = [str(i) for i in dict.fromkeys(ids)]
    shown = ", ".join(short_text(i, 30) for i in ids[:EXAMPLES])
    return f"e.g. {shown}" + (" …" if len(ids) > EXAMPLES else "")


def patients_word(n: int) -> str:
    return f"{n:,} patient{'s' if n != 1 else ''}"


# --------------------------------------------------------------------------- #
# Reading one file into text cells, bounded
# --------------------------------------------------------------------------- #
def _cell_text(value: object) -> str:
    """A SAS / Parquet value as the text a CSV would hold ('' = missing)."""
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(float(value)):
            return ""
        value = float(value)
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (pd.Timestamp, _dt.datetime)):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return clean_cell(str(value))


def _column_text(values: pd.Series) -> pd.Series:
    """A column read from a binary file as CSV-like text, vectorised ('' = missing)."""
    if pd.api.types.is_bool_dtype(values):
        return values.map({True: "true", False: "false"}).fillna("").astype(object)
    if pd.api.types.is_numeric_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        finite = np.isfinite(numbers)
        whole = finite & (np.floor(np.where(finite, numbers, 0)) == numbers) & (np.abs(numbers) < 1e15)
        text = np.full(len(numbers), "", dtype=object)
        text[whole] = list(map(str, numbers[whole].astype(np.int64).tolist()))
        rest = finite & ~whole
        text[rest] = list(map(repr, numbers[rest].tolist()))  # shortest round-trip text, as number_text
        return pd.Series(text, index=values.index, dtype=object)
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.to_datetime(values)
        midnight = stamps.dropna().dt.normalize().eq(stamps.dropna()).all()
        text = stamps.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S")
        return text.fillna("").astype(object)
    first = next((v for v in values if v is not None and v is not pd.NaT and not (isinstance(v, float)
                                                                                  and math.isnan(v))), None)
    if isinstance(first, (_dt.date, _dt.datetime, pd.Timestamp)):
        return values.map(_cell_text).astype(object)
    text = values.astype(object).where(values.notna(), "").astype(str)
    return text.str.replace(CONTROL_CHARACTERS, "", regex=True).str.strip().astype(object)


def frame_to_table(file: str, frame: pd.DataFrame, description: str) -> tuple[RawTable | None, list[Problem]]:
    """A DataFrame read from a binary file as a :class:`RawTable` of text cells (cell lengths checked)."""
    columns = [clean_cell(str(c)) for c in frame.columns]
    if len(columns) > LIMITS.columns.value:
        return None, [too_many_columns(file, 1, len(columns))]
    if not len(frame):
        return None, [Problem(file, None, None, "the file has no data rows")]
    text = pd.DataFrame({name: _column_text(frame.iloc[:, i]).to_numpy() for i, name in enumerate(columns)},
                        dtype=object)
    for name in columns:
        lengths = text[name].str.len()
        if len(lengths) and lengths.max() > MAX_TEXT_LENGTH:
            row = int(np.argmax(lengths.to_numpy() > MAX_TEXT_LENGTH))
            return None, [Problem(file, row + 2, name, f"text of {int(lengths.iloc[row]):,} characters "
                                                        f"(at most {MAX_TEXT_LENGTH})")]
    return RawTable(file, text, np.arange(2, len(text) + 2, dtype=np.int64), description, []), []


def _too_many_cells(file: str, rows: int, columns: int) -> Problem | None:
    """The cells a SAS or Parquet file declares, against the limit (checked before it is read)."""
    if rows * columns > LIMITS.binary_cells.value:
        return Problem(file, None, None, over_limit(LIMITS.binary_cells, f"{rows:,} rows × {columns:,} columns"))
    return None


def _sas(file: str, data: bytes, max_rows: int, kind: str) -> tuple[RawTable | None, list[Problem]]:
    import pyreadstat  # only needed for SAS files

    reader = pyreadstat.read_xport if kind == "xpt" else pyreadstat.read_sas7bdat
    try:
        _, meta = reader(io.BytesIO(data), metadataonly=True)
    except Exception as error:  # noqa: BLE001 - a damaged file is a message, not a crash
        return None, [Problem(file, None, None, f"not a readable SAS {'transport' if kind == 'xpt' else 'data'} "
                                                f"file ({type(error).__name__})")]
    if meta.number_columns and meta.number_columns > LIMITS.columns.value:
        return None, [too_many_columns(file, 1, meta.number_columns)]
    if meta.number_rows is not None and meta.number_rows > max_rows:  # transport files do not declare rows
        return None, [too_many_rows(file, max_rows)]
    width = max(int(meta.number_columns or 1), 1)
    problem = _too_many_cells(file, int(meta.number_rows), width) if meta.number_rows is not None else None
    if problem:
        return None, [problem]
    row_limit = max_rows
    max_rows = min(max_rows, LIMITS.binary_cells.value // width)  # an XPORT file's rows are bounded as read
    try:
        try:
            frame, meta = reader(io.BytesIO(data), row_limit=max_rows + 1)
        except OverflowError:  # a date format on values that are not dates: read the numbers as stored
            frame, meta = reader(io.BytesIO(data), row_limit=max_rows + 1, disable_datetime_conversion=True)
    except Exception as error:  # noqa: BLE001
        return None, [Problem(file, None, None, f"the SAS file could not be read ({type(error).__name__})")]
    if len(frame) > max_rows:
        return None, [too_many_rows(file, max_rows) if max_rows == row_limit else
                      Problem(file, None, None, over_limit(LIMITS.binary_cells, f"more than {max_rows:,} rows × "
                                                                                f"{width:,} columns"))]
    name = f", dataset {meta.table_name}" if getattr(meta, "table_name", None) else ""
    return frame_to_table(file, frame, ("SAS transport (XPORT)" if kind == "xpt" else "SAS data set") + name)


def _parquet(file: str, data: bytes, max_rows: int) -> tuple[RawTable | None, list[Problem]]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        declared_rows, declared_columns = parquet.metadata.num_rows, parquet.metadata.num_columns
    except Exception as error:  # noqa: BLE001
        return None, [Problem(file, None, None, f"not a readable Parquet file ({type(error).__name__})")]
    if declared_columns > LIMITS.columns.value:
        return None, [too_many_columns(file, 1, declared_columns)]
    if declared_rows > max_rows:
        return None, [too_many_rows(file, max_rows)]
    problem = _too_many_cells(file, declared_rows, declared_columns)
    if problem:
        return None, [problem]
    try:
        frame = parquet.read().to_pandas()
    except Exception as error:  # noqa: BLE001
        return None, [Problem(file, None, None, f"the Parquet file could not be read ({type(error).__name__})")]
    return frame_to_table(file, frame, "Parquet")


def read_any(file: str, data: bytes, role: str = "adverse_events") -> tuple[RawTable | None, list[Problem]]:
    """One file of a delivery as text cells: SAS (.xpt, .sas7bdat), Parquet, or CSV / TSV / XLSX; never raises.

    ``role`` sets the row limit (a long ADaM or REDCap file has one row per
    record, so the default is the long files' limit).
    """
    file = short_text(PurePath(file or "uploaded file").name, 80)
    if len(data) > LIMITS.file_mb.value << 20:
        return None, [Problem(file, None, None, over_limit(LIMITS.file_mb, f"{len(data) / (1 << 20):,.1f} MB"))]
    if not data:
        return None, [Problem(file, None, None, "the file is empty")]
    max_rows = LIMITS.rows(role).value
    lower = file.lower()
    if lower.endswith(".xpt") or data.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD"):
        return _sas(file, data, max_rows, "xpt")
    if lower.endswith(".sas7bdat"):
        return _sas(file, data, max_rows, "sas7bdat")
    if lower.endswith(".parquet") or data.startswith(b"PAR1"):
        return _parquet(file, data, max_rows)
    result = read_table(data, file, role)
    return result.table, list(result.problems)


def strip_comment_rows(data: bytes) -> tuple[bytes, list[str]]:
    """A text file without its leading '#' rows (cBioPortal metadata), and those rows' text (bounded)."""
    comments: list[str] = []
    start = 0
    limit = min(len(data), 1 << 20)
    while start < limit and data[start:start + 1] == b"#" and len(comments) < 20:
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        comments.append(data[start + 1:end].decode("utf-8", errors="replace").rstrip("\r\n"))
        start = end
    return data[start:], comments


def number_text(value: float | None) -> str:
    """A number as text the app's value parser reads back exactly ('' = missing)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def numbers(values: pd.Series) -> pd.Series:
    """Text cells as floats (NaN = empty or not a number)."""
    return pd.to_numeric(values.astype(str).str.strip().replace("", np.nan), errors="coerce")


def table(file: str, columns: dict[str, list], row_numbers, description: str) -> RawTable:
    """A RawTable in the app's layout from columns of text."""
    frame = pd.DataFrame({k: [("" if v is None else str(v)) for v in vals] for k, vals in columns.items()},
                         dtype=object)
    return RawTable(file, frame, np.asarray(row_numbers, dtype=np.int64), description, [])


def quoted_list(values, limit: int = 8) -> str:
    values = list(values)
    return ", ".join(quoted(v) for v in values[:limit]) + (" …" if len(values) > limit else "")


def app_layout(file: str, derived: dict[str, list], rest: pd.DataFrame | None, row_numbers,
               description: str) -> RawTable:
    """The patients table in the app's layout: the derived columns, then the file's other columns unchanged.

    The other columns stay so that the column matching can still use them
    (e.g. a sponsor's histology column); one named like a derived column is dropped.
    """
    from sarcoma_app.ingest.columns import normalise_name

    columns = {k: [("" if v is None else str(v)) for v in values] for k, values in derived.items()}
    taken = {normalise_name(k) for k in columns}
    if rest is not None:
        for name in rest.columns:
            if normalise_name(name) not in taken and name not in columns:
                columns[name] = [str(v) for v in rest[name].tolist()]
    frame = pd.DataFrame(columns, dtype=object)
    return RawTable(file, frame, np.asarray(row_numbers, dtype=np.int64), description, [])


def patients_have(n: int) -> str:
    """'1 patient has', '3 patients have'."""
    return f"{patients_word(n)} {'has' if n == 1 else 'have'}"
