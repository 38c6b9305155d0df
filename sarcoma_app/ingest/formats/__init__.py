"""Standard clinical data formats read as they come: CDISC ADaM, cBioPortal, REDCap (pure).

:func:`detect_format` says which format a set of uploaded files is;
:func:`read_standard` reads them with that format's reader into the app's own
layout (:class:`~.base.FormatResult`: text tables named like the upload
columns, what was recognised, the checks' findings and the choices the user
may change). The tables then go through the same column matching and
:func:`sarcoma_app.ingest.cohort.prepare_cohort` as any upload.

A ZIP of the files is accepted, bounded like a workbook (members, unpacked
size, compression ratio) before anything is unpacked.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import PurePath

from sarcoma_app.ingest.formats import adam, cbioportal, redcap
from sarcoma_app.ingest.formats.base import Choice, Finding, FormatResult, Mapped
from sarcoma_app.ingest.tables import Problem, over_limit, short_text
from sarcoma_app.limits import LIMITS

__all__ = ["Choice", "Finding", "FormatResult", "Mapped", "detect_format", "read_standard", "FORMATS"]

#: Format name -> reader, in the order formats are detected.
FORMATS = {cbioportal.FORMAT: cbioportal.read_cbioportal, adam.FORMAT: adam.read_adam, redcap.FORMAT: redcap.read_redcap}
#: Files in one upload (or one ZIP).
MAX_FILES = 10


def unpack(files: list[tuple[str, bytes]]) -> tuple[list[tuple[str, bytes]], list[Problem]]:
    """The files, with a ZIP replaced by its members (bounded before unpacking)."""
    out, problems = [], []
    for name, data in files:
        if not data.startswith(b"PK\x03\x04") or name.lower().endswith((".xlsx", ".xlsm")):
            out.append((name, data))
            continue
        label = short_text(PurePath(name).name, 80)
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [m for m in archive.infolist() if not m.is_dir() and not PurePath(m.filename).name.startswith(".")
                           and "__MACOSX" not in m.filename]
                if "xl/workbook.xml" in archive.namelist():
                    out.append((name, data))
                    continue
                if len(members) > MAX_FILES:
                    problems.append(Problem(label, None, None, f"{len(members)} files in the ZIP (at most {MAX_FILES})"))
                    continue
                total = sum(m.file_size for m in members)
                if total > LIMITS.uncompressed_mb.value << 20 or any(
                        m.file_size > LIMITS.file_mb.value << 20 for m in members):
                    problems.append(Problem(label, None, None, over_limit(LIMITS.uncompressed_mb,
                                                                          f"the ZIP unpacks to {total / (1 << 20):,.0f} MB")))
                    continue
                for member in members:
                    out.append((PurePath(member.filename).name, archive.read(member)))
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as error:
            problems.append(Problem(label, None, None, f"not a readable ZIP archive ({type(error).__name__})"))
    if len(out) > MAX_FILES:
        problems.append(Problem("upload", None, None, f"{len(out)} files (at most {MAX_FILES})"))
    return out, problems


def detect_format(files: list[tuple[str, bytes]]) -> str | None:
    """The standard format of the files (cBioPortal, CDISC ADaM, REDCap), or None (the app's own layout)."""
    for name, reader_module in ((cbioportal.FORMAT, cbioportal), (adam.FORMAT, adam), (redcap.FORMAT, redcap)):
        if any(reader_module.looks_like(file, data) for file, data in files):
            return name
    return None


def read_standard(files: list[tuple[str, bytes]], chosen: dict[str, str] | None = None,
                  format_name: str | None = None) -> FormatResult:
    """Detect the format of ``files`` and read them into the app's layout; never raises.

    Parameters
    ----------
    files : list of (name, bytes)
        The uploaded files (a ZIP is unpacked).
    chosen : dict, optional
        The user's choices (:class:`~.base.Choice` key -> option); defaults otherwise.
    format_name : str, optional
        Read as this format instead of the detected one.
    """
    names = tuple(name for name, _ in files)
    try:
        files, problems = unpack(files)
        if problems:
            return FormatResult("unknown", names, problems=problems)
        name = format_name if format_name in FORMATS else detect_format(files)
        if name is None:
            return FormatResult("unknown", names, problems=[Problem(
                ", ".join(short_text(n, 40) for n in names), None, None,
                "not recognised as CDISC ADaM (USUBJID), cBioPortal (data_clinical_patient.txt) or REDCap "
                "(record ID first, redcap_event_name): upload it as a patients file instead")])
        return FORMATS[name](files, chosen)
    except Exception as error:  # noqa: BLE001 - a malformed delivery must never raise into the page
        return FormatResult("unknown", names, problems=[Problem(", ".join(short_text(n, 40) for n in names), None,
                                                                None, f"the files could not be read "
                                                                      f"({type(error).__name__})")])


def suggested_mappings(result: FormatResult) -> dict[str, dict[str, str]]:
    """The column matching suggested for each table of a format read (the app's names match themselves)."""
    from sarcoma_app.ingest.columns import mapping_dict, suggest_mapping

    return {role: mapping_dict(suggest_mapping(table.columns, role)) for role, table in result.tables.items()}


def prepare_standard(result: FormatResult, mappings: dict[str, dict[str, str]] | None = None,
                     cohort_name: str = "Uploaded cohort"):
    """The checked cohort of a format read (:func:`~sarcoma_app.ingest.cohort.prepare_cohort`); never raises.

    A reading problem or a blocking finding refuses it whole (nothing half-loaded),
    each finding becoming a problem naming the files.
    """
    from sarcoma_app.ingest.cohort import Prepared, prepare_cohort

    blocking = [f for f in result.findings if f.blocking]
    if result.problems or blocking or "patients" not in result.tables:
        where = ", ".join(short_text(n, 40) for n in result.files)
        problems = list(result.problems) + [Problem(where, None, None, f.message) for f in blocking]
        if not problems:
            problems = [Problem(where, None, None, "no patients table could be made of the files")]
        return Prepared(None, None, None, None, problems, len(problems), [], [])
    mappings = mappings or suggested_mappings(result)
    tables = result.tables
    return prepare_cohort(tables["patients"], mappings.get("patients", {}), tables.get("adverse_events"),
                          mappings.get("adverse_events"), tables.get("assessments"), mappings.get("assessments"),
                          cohort_name=cohort_name)
