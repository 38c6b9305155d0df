"""Streamlit drawing of the upload page: templates, uploaders, column matching, problems, the check and the load button.

Reading, matching and checking are pure (:mod:`sarcoma_app.ingest`); the
session's files, checked cohort and in-memory database are kept by
:mod:`sarcoma_app.sources.cohort`. Every text of a file is shown through
:func:`sarcoma_app.render.ui.text` (as text, never as Markdown).
"""
from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

import charts
from sarcoma_app.ingest.cohort import (Prepared, clean_cohort_name, count_parts, default_cohort_name, prepare_cohort,
                                       prepared_counts)
from sarcoma_app.ingest.columns import (REQUIRED_PATIENT_COLUMNS, ROLE_LABELS, ROLES, SPECS, column_help,
                                        duplicated_file_columns, mapping_dict, renamed_matches, suggest_mapping)
from sarcoma_app.ingest.formats import FormatResult, read_standard
from sarcoma_app.ingest.read import read_problems, read_table, with_workbook_sheets
from sarcoma_app.ingest.tables import Problem, RawTable, ReadResult
from sarcoma_app.ingest.templates import data_dictionary, problems_frame, recognitions_frame, template_csv, template_xlsx
from sarcoma_app.limits import LIMITS, limits_markdown
from sarcoma_app.render import ui
from sarcoma_app.sources import cohort as data_source
from sarcoma_app.sources.cohort import UploadedCohort
from sarcoma_app.views import prepare

NOT_IN_FILE = "— not in the file —"
FILE_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "xls"]
STANDARD_TYPES = ["xpt", "sas7bdat", "parquet", "csv", "tsv", "txt", "zip"]
STANDARD_KEY = "standard"
SEVERITY_LABELS = {"error": "refused", "endpoint": "endpoint refused", "warning": "check"}
READ_KEY = data_source.READ_KEY
PREPARED_KEY = data_source.PREPARED_KEY
ERROR_KEY = data_source.LOAD_ERROR_KEY
PREVIEW_ROWS = 20
PROBLEMS_IN_MESSAGE = 12
UPLOADER_LABELS = {"patients": "Patients (required)", "adverse_events": "Adverse events (optional)",
                   "assessments": "Tumour assessments (optional)"}
TEMPLATE_LABELS = {"patients": "Patients (CSV)", "adverse_events": "AEs (CSV)", "assessments": "Scans (CSV)"}


def introduction() -> None:
    """What the page does, and that the data stay in this session."""
    st.markdown(
        "Load your institution's cohort and every page — filters, response, survival, hazard ratios, adverse events, "
        "patients — works on it. **Your data stay in this browser session**: the files are read in memory, never "
        "written to disk or into the app's database, never visible to another user, and gone when you close the "
        "tab or press *Remove my upload*. Use pseudonymised patient IDs."
    )


def status(current: UploadedCohort | None) -> None:
    """Why the last load failed (once), and the cohort loaded in this session with its remove button."""
    failure = st.session_state.pop(ERROR_KEY, None)
    if failure:
        st.error(f"The cohort could not be loaded, so nothing was loaded: {ui.text(failure)}",
                 icon=":material/error:")
    if current is not None:
        parts = count_parts(current.n_patients, current.n_adverse_events, current.n_assessments)
        status_column, action = st.columns([4, 1], vertical_alignment="center")
        status_column.success(f"**Loaded: {ui.text(current.name)}** — {', '.join(parts)} from "
                              f"{ui.text(', '.join(current.files))}. Every page now shows this cohort (sidebar: "
                              "*Data source* → *Your upload*).", icon=":material/check_circle:")
        action.button("Remove my upload", key="upload_remove", on_click=data_source.remove_upload,
                      icon=":material/delete:", help="Forget the uploaded cohort and return to the published cohorts.",
                      width="stretch")


def preparation() -> None:
    """Step 1: what to upload, the templates, the limits and the data dictionary."""
    st.subheader("1. Prepare the files")
    st.markdown(
        "One row per patient, one column per variable. **Required columns:** "
        + ", ".join(f"`{name}`" for name in REQUIRED_PATIENT_COLUMNS)
        + ". Every other column of the app is optional (age, sex, ECOG, prior lines, primary site, pazopanib, …). "
        "Two optional files add detail: **adverse events** (one row per event: `patient_id`, `term`, `grade`) and "
        "**tumour assessments** (one row per scan: `patient_id`, `time_months`, `pct_change` of the target lesions), "
        "which draw a waterfall and a spider plot. Column names need not match: common names such as "
        "“PFS (months)” or “Best overall response” are recognised, and you can match the others below."
    )
    template_columns = st.columns([1, 1, 1, 1, 2])
    template_columns[0].download_button("Template (XLSX)", data=template_xlsx(), file_name="cohort-template.xlsx",
                                        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                        key="template_xlsx", icon=":material/download:", on_click="ignore",
                                        help="One workbook: sheets patients, adverse_events, assessments and the "
                                             "dictionary. Upload the filled workbook as the patients file: its other "
                                             "sheets are read too.", width="stretch")
    for column, role in zip(template_columns[1:4], ROLES):
        column.download_button(TEMPLATE_LABELS[role], data=template_csv(role), file_name=f"{role}-template.csv",
                               mime="text/csv", key=f"template_{role}", icon=":material/download:", on_click="ignore",
                               help=f"Template of the {ROLE_LABELS[role]} file (CSV, UTF-8)", width="stretch")
    with st.expander("Upload limits (a file beyond one is refused, with a message saying which)"):
        st.markdown(limits_markdown())
    with st.expander("Data dictionary: every column the app reads, its unit and how to write it"):
        ui.show_table(data_dictionary(), "upload-data-dictionary", key="upload_dictionary",
                      caption="CSV in any common encoding (UTF-8, Windows-1252/Latin-1, UTF-16) and delimiter (comma, "
                              "semicolon with decimal commas, tab), or XLSX. Empty cells, NA and “not reported” mean "
                              "not recorded. See the upload limits above.")


def uploaders() -> dict:
    """Step 2: one file uploader per file (empty again after loading or removing); the files chosen, by role."""
    st.subheader("2. Upload")
    uploader_columns = st.columns(3)
    generation = data_source.uploader_generation()  # a new one after loading or removing: empty uploaders
    return {role: column.file_uploader(UPLOADER_LABELS[role], type=FILE_TYPES, key=f"upload_{role}_{generation}",
                                       max_upload_size=LIMITS.file_mb.value,
                                       help=f"CSV or XLSX, at most {LIMITS.file_mb.amount} "
                                            f"(and {LIMITS.rows(role).amount}, {LIMITS.columns.amount}).")
            for column, role in zip(uploader_columns, ROLES)}


def ask_for_patients_file(files: dict) -> None:
    """What to do while no patients file is chosen."""
    if files["adverse_events"] is not None or files["assessments"] is not None:
        st.warning("Add the patients file: adverse events and assessments are checked against its patient IDs.")
    else:
        st.info("Choose a patients file (CSV or XLSX) to begin; the template above shows the layout.",
                icon=":material/upload_file:")


def _read(role: str, uploaded) -> ReadResult:
    """Read an uploaded file once per file (kept in this session only)."""
    cache = st.session_state.setdefault(READ_KEY, {})
    key = (role, uploaded.file_id)
    if cache.get(role, (None, None))[0] != key:
        cache[role] = (key, read_table(uploaded.getvalue(), uploaded.name, role))
    return cache[role][1]


def show_problems(problems: list[Problem], total: int, what: str, fix: str = "Fix the file") -> None:
    """The problems as an error line and a table (every text shown as text)."""
    listed = len(problems)
    shown = problems[:PROBLEMS_IN_MESSAGE]
    lines = "\n".join(f"- {ui.text(problem.text)}" for problem in shown)
    rest = total - len(shown)
    st.error(f"**{total:,} problem{'s' if total != 1 else ''} in {what}: nothing was loaded.** {fix} and upload it "
             f"again. Rows are numbered as in a spreadsheet (the header is row 1).\n\n{lines}"
             + (f"\n\n… and {rest:,} more (see the table below)." if rest > 0 else ""),
             icon=":material/error:")
    if rest > 0:
        with st.expander(f"All problems ({listed:,} listed" + (f" of {total:,}" if total > listed else "") + ")"):
            ui.show_table(problems_frame(problems), "upload-problems", key=f"upload_problems_{what[:12]}",
                          column_config={"Problem": st.column_config.TextColumn(width="large")})


def read_files(files: dict) -> dict[str, RawTable] | None:
    """The chosen files read (a patients workbook's other sheets too) and how; None, problems shown, when one is
    not a table."""
    results, from_sheets = with_workbook_sheets(
        {role: _read(role, uploaded) for role, uploaded in files.items() if uploaded is not None})
    for role in from_sheets:
        st.caption(f"The {ROLE_LABELS[role]} were read from the sheet of the patients workbook.")
    problems = read_problems(results)
    if problems or any(result.table is None for result in results.values()):
        show_problems(problems, len(problems), "the uploaded file" + ("s" if len(results) > 1 else ""))
        return None
    tables = {role: result.table for role, result in results.items()}
    for role, table in tables.items():
        st.caption(f"**{ui.text(table.file)}** ({ROLE_LABELS[role]}): {len(table.frame):,} rows, "
                   f"{len(table.columns)} columns — read as {ui.text(table.description)}.")
        for note in table.notes:
            st.warning(ui.text(note), icon=":material/warning:")
    return tables


def mapping_editor(role: str, table: RawTable, container) -> dict[str, str]:
    """One selectbox per app column, pre-filled with the recognised file column; the matching chosen."""
    suggested = mapping_dict(suggest_mapping(table.columns, role))
    file_key = hashlib.sha256(f"{role}|{table.file}|{'|'.join(table.columns)}".encode()).hexdigest()[:10]
    options = [NOT_IN_FILE] + table.columns
    mapping: dict[str, str] = {}
    specs = SPECS[role]
    required = [spec for spec in specs if spec.required]
    optional = [spec for spec in specs if not spec.required]
    for group, target in ((required, container), (optional, None)):
        if not group:
            continue
        if target is None:
            n_found = sum(1 for spec in group if spec.name in suggested)
            target = container.expander(f"Optional columns ({n_found} of {len(group)} found in the file)",
                                        expanded=False)
        grid = target.columns(3)
        for index, spec in enumerate(group):
            default = suggested.get(spec.name)
            choice = grid[index % 3].selectbox(
                f"{spec.name}{' *' if spec.required else ''}", options,
                index=options.index(default) if default in options else 0,
                key=f"map_{file_key}_{spec.name}", help=column_help(spec),
            )
            if choice != NOT_IN_FILE:
                mapping[spec.name] = choice
    duplicates = duplicated_file_columns(mapping)
    if duplicates:
        container.warning("A column of the file is matched to two app columns: "
                          + ", ".join(f"“{ui.text(c)}”" for c in duplicates) + ". Check the matching.")
    recognised = renamed_matches(role, suggested)
    if recognised:
        container.caption("Recognised automatically: " + "; ".join(
            f"“{ui.text(file_column)}” → `{name}`" for name, file_column in recognised) + ".")
    return mapping


def column_matching(tables: dict[str, RawTable]) -> dict[str, dict[str, str]]:
    """Step 3: a matching editor per file read; the matchings chosen, by role."""
    st.subheader("3. Match the columns")
    st.caption("Each column of the app, and the column of your file it is read from. Recognised names are filled in; "
               "check them and choose the others. Columns of the file matched to nothing are ignored.")
    mappings = {}
    for role, table in tables.items():
        box = st.container(border=True)
        box.markdown(f"**{ROLE_LABELS[role].capitalize()}** — {ui.text(table.file)}")
        mappings[role] = mapping_editor(role, table, box)
    return mappings


def cohort_name_input(patients_file) -> str:
    """The cohort's name, suggested by the patients file's name (cleaned for labels).

    ``patients_file`` may be the list of a standard-format upload: the name is then the format's
    ("CDISC ADaM cohort").
    """
    if isinstance(patients_file, list):
        patients_key = _choice_prefix(patients_file)
        suggested = f"{_read_standard(patients_file).format} cohort"
    else:
        patients_key = hashlib.sha256(str(patients_file.file_id).encode()).hexdigest()[:10]
        suggested = default_cohort_name(patients_file.name)
    return clean_cohort_name(st.text_input(
        "Cohort name", value=clean_cohort_name(suggested), max_chars=60,
        key=f"upload_cohort_name_{patients_key}",
        help="Shown as the study of these patients on every page (unless the file has a study column)."))


def checked_cohort(files: dict, tables: dict[str, RawTable], mappings: dict[str, dict[str, str]],
                   cohort_name: str) -> Prepared:
    """The cohort checked (once per files, matching and name: kept in this session for the load button)."""
    signature = (tuple((role, table.file, len(table.frame), int(pd.util.hash_pandas_object(table.frame).sum()))
                       for role, table in tables.items()),
                 tuple((role, tuple(sorted(m.items()))) for role, m in mappings.items()), cohort_name,
                 tuple(files[role].file_id if files.get(role) is not None else "" for role in ROLES
                       if not isinstance(files.get(role), list)))
    memo = st.session_state.get(PREPARED_KEY)
    if memo is not None and memo[0] == signature:
        return memo[1]
    prepared = prepare_cohort(
        tables["patients"], mappings["patients"], tables.get("adverse_events"), mappings.get("adverse_events"),
        tables.get("assessments"), mappings.get("assessments"), cohort_name=cohort_name)
    st.session_state[PREPARED_KEY] = (signature, prepared)
    return prepared


def check_results(prepared: Prepared) -> bool:
    """Step 4: how values were read, the notes and the problems; True when the cohort can be loaded."""
    st.subheader("4. Check and load")
    if prepared.recognitions:
        st.markdown("**How values were read** — check before loading:")
        ui.show_table(recognitions_frame(prepared.recognitions), "upload-recognised-values",
                      key="upload_recognitions", caption="Words and codes the app recognised, and what they become.")
    for note in prepared.notes:
        st.info(ui.text(note), icon=":material/info:")
    if not prepared.ok:
        st.session_state.pop(READ_KEY, None)  # a refused cohort's tables are not kept (re-read if the matching changes)
        show_problems(prepared.problems, prepared.n_problems, "the cohort", fix="Fix the file (or the column matching "
                      "above)")
        return False
    return True


def checked_summary(prepared: Prepared) -> None:
    """No problem found: what will be loaded, and the first patients as the app will read them."""
    st.success(f"**No problem found:** {', '.join(prepared_counts(prepared))}. Load the cohort to use it on every "
               "page.", icon=":material/task_alt:")
    preview = prepared.patients.drop(columns=["source"]).head(PREVIEW_ROWS)
    ui.show_table(preview, "upload-preview", key="upload_preview",
                  caption=f"The first {len(preview)} patients as the app will read them (– = not recorded).")


def load_button(current: UploadedCohort | None, cohort_name: str, tables: dict[str, RawTable],
                n_patients: int) -> None:
    """'Load this cohort' (or 'Load again' when this very cohort is loaded); the callback reads the checked cohort
    from the session."""
    files = tuple(table.file for table in tables.values())
    is_loaded = current is not None and current.name == cohort_name and current.n_patients == n_patients \
        and current.files == files
    st.button("Load this cohort" if not is_loaded else "Load again (replace the loaded cohort)", type="primary",
              key="upload_load", on_click=data_source.load_checked_cohort, icon=":material/upload:",
              args=(cohort_name, files),
              help="Replaces any cohort loaded earlier in this session. The published cohorts are not changed.")


def measurements(prepared: Prepared) -> None:
    """Waterfall and spider plots of the tumour assessments, when the upload has them."""
    if prepared.assessments is None or not len(prepared.assessments):
        return
    st.subheader("Tumour measurements")
    best, lines = prepare.assessment_frames(prepared.assessments, prepared.patients)
    n_measured = best.attrs.get("n", len(best))
    ui.show_chart(charts.waterfall_plot(best), "upload-waterfall", key="upload_waterfall",
                  title="Best change of target lesions (waterfall)",
                  caption=f"{n_measured:,} patients with measurements"
                          + (f"; {len(best)} bars drawn, evenly spaced over the ranking" if len(best) < n_measured
                             else "") + ". Dashed lines: −30% (partial response) and +20% (progression), RECIST 1.1.")
    ui.show_chart(charts.spider_plot(lines), "upload-spider", key="upload_spider",
                  title="Change of target lesions over time (spider plot)",
                  caption="One line per patient from baseline (0%)"
                          + (f"; {lines['patient'].nunique()} of {n_measured:,} patients drawn" if
                             lines["patient"].nunique() < n_measured else "") + ".")


def downloads_note() -> None:
    """How downloads of an upload are made safe."""
    st.caption("Downloads (CSV, PNG, SVG) of an uploaded cohort are made for your session only; in CSV files, cells "
               "a spreadsheet would run as formulas (starting with =, +, − or @) are neutralised.")


# --------------------------------------------------------------------------- #
# Standard formats: CDISC ADaM, cBioPortal, REDCap
# --------------------------------------------------------------------------- #
def standard_uploader() -> list:
    """The uploader of a standard-format delivery (several files, or a ZIP of them); the files chosen."""
    generation = data_source.uploader_generation()
    with st.expander("Or a standard format: CDISC ADaM, cBioPortal or REDCap (several files at once)",
                     expanded=False):
        st.caption("CDISC ADaM: ADSL + ADTTE (optionally ADRS, ADAE, ADTR) as .xpt, .sas7bdat, CSV or Parquet. "
                   "cBioPortal: data_clinical_patient.txt (+ data_clinical_sample.txt). REDCap: the data export CSV "
                   "(raw codes or labels), with or without the data dictionary CSV. Or a ZIP of them.")
        files = st.file_uploader("Standard-format files", type=STANDARD_TYPES, accept_multiple_files=True,
                                 key=f"upload_standard_{generation}", max_upload_size=LIMITS.file_mb.value,
                                 help=f"Each file at most {LIMITS.file_mb.amount}.")
    return list(files or [])


def _choice_prefix(uploaded: list) -> str:
    return "fmt_" + hashlib.sha256("|".join(str(f.file_id) for f in uploaded).encode()).hexdigest()[:10] + "_"


def _read_standard(uploaded: list) -> FormatResult:
    """The delivery read with the choices made so far (kept in this session only)."""
    prefix = _choice_prefix(uploaded)
    chosen = {key[len(prefix):]: value for key, value in st.session_state.items()
              if isinstance(key, str) and key.startswith(prefix)}
    cache = st.session_state.setdefault(READ_KEY, {})
    key = (prefix, tuple(sorted(chosen.items())))
    if cache.get(STANDARD_KEY, (None, None))[0] != key:
        cache[STANDARD_KEY] = (key, read_standard([(f.name, f.getvalue()) for f in uploaded], chosen))
    return cache[STANDARD_KEY][1]


def mapping_rows(result: FormatResult) -> pd.DataFrame:
    """What was recognised, as a table."""
    return pd.DataFrame({"In the files": [m.source for m in result.recognised],
                         "App variable": [m.variable for m in result.recognised],
                         "Rule": [m.rule for m in result.recognised]})


def standard_tables(uploaded: list) -> dict[str, RawTable] | None:
    """Step 2b: the format recognised, how it maps, the choices and the checks; its tables, or None when refused."""
    result = _read_standard(uploaded)
    if result.problems:
        show_problems(result.problems, len(result.problems), "the uploaded files")
        return None
    st.markdown(f"**Recognised: {ui.text(result.format)}** — {ui.text(', '.join(result.files))}")
    ui.show_table(mapping_rows(result), "upload-format-mapping", key="upload_format_mapping",
                  caption="What the app recognised in the files and the app variable each becomes. Change the "
                          "choices below, or the column matching in step 3.",
                  column_config={"In the files": st.column_config.TextColumn(width="medium"),
                                 "App variable": st.column_config.TextColumn(width="small"),
                                 "Rule": st.column_config.TextColumn(width="large")})
    if result.choices:
        prefix = _choice_prefix(uploaded)
        grid = st.columns(3)
        for index, choice in enumerate(result.choices):
            grid[index % 3].selectbox(choice.label, choice.options, key=prefix + choice.key, help=choice.help or None)
    for finding in result.findings:
        text = f"**{SEVERITY_LABELS[finding.severity].capitalize()} ({ui.text(finding.check)}):** {ui.text(finding.message)}"
        if finding.severity == "warning":
            st.warning(text, icon=":material/warning:")
        else:
            st.error(text, icon=":material/error:")
    blocking = [f for f in result.findings if f.blocking]
    if blocking or "patients" not in result.tables:
        st.error(f"**{len(blocking)} check{'s' if len(blocking) != 1 else ''} refused the files: nothing was "
                 "loaded.** Fix the files (or the choices above) and upload them again.", icon=":material/error:")
        return None
    return dict(result.tables)
