"""Upload a cohort: an institution's own patients, explored with every page, only in this session.

Reading, column matching and validation are pure functions of
:mod:`sarcoma_app.ingest.upload`; the session's in-memory database is kept by
:mod:`sarcoma_app.sources.cohort`. Nothing here writes to disk or to a shared cache.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

import charts
from sarcoma_app.sources import cohort as data_source
from sarcoma_app.views import prepare
from sarcoma_app.render import ui
from sarcoma_app.ingest.cohort import clean_cohort_name, prepare_cohort
from sarcoma_app.ingest.columns import REQUIRED_PATIENT_COLUMNS, ROLES, ROLE_LABELS, SPECS, mapping_dict, normalise_name, suggest_mapping
from sarcoma_app.ingest.read import read_table
from sarcoma_app.ingest.tables import Problem, RawTable, ReadResult
from sarcoma_app.ingest.templates import data_dictionary, problems_frame, recognitions_frame, template_csv, template_xlsx
from sarcoma_app.limits import LIMITS, limits_markdown
from sarcoma_app.render.navigation import require_app_frame

require_app_frame()
ui.page_header("Upload a cohort", "Can I explore my own patients with every page of the app?")

NOT_IN_FILE = "— not in the file —"
FILE_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "xls"]
READ_KEY = data_source.READ_KEY
PREPARED_KEY = data_source.PREPARED_KEY
ERROR_KEY = data_source.LOAD_ERROR_KEY
PREVIEW_ROWS = 20
PROBLEMS_IN_MESSAGE = 12

st.markdown(
    "Load your institution's cohort and every page — filters, response, survival, hazard ratios, adverse events, "
    "patients — works on it. **Your data stay in this browser session**: the files are read in memory, never "
    "written to disk or into the app's database, never visible to another user, and gone when you close the tab "
    "or press *Remove my upload*. Use pseudonymised patient IDs."
)

# --- status ----------------------------------------------------------------------------------------
current = data_source.uploaded_cohort()
failure = st.session_state.pop(ERROR_KEY, None)
if failure:
    st.error(f"The cohort could not be loaded, so nothing was loaded: {ui.text(failure)}", icon=":material/error:")
if current is not None:
    parts = [f"{current.n_patients:,} patients"]
    if current.n_adverse_events:
        parts.append(f"{current.n_adverse_events:,} adverse events")
    if current.n_assessments:
        parts.append(f"{current.n_assessments:,} tumour assessments")
    status, action = st.columns([4, 1], vertical_alignment="center")
    status.success(f"**Loaded: {ui.text(current.name)}** — {', '.join(parts)} from "
                   f"{ui.text(', '.join(current.files))}. Every page now shows this cohort (sidebar: *Data source* → "
                   "*Your upload*).", icon=":material/check_circle:")
    action.button("Remove my upload", key="upload_remove", on_click=data_source.remove_upload, icon=":material/delete:",
                  help="Forget the uploaded cohort and return to the published cohorts.", width="stretch")

# --- 1. what to upload ----------------------------------------------------------------------------
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
template_labels = {"patients": "Patients (CSV)", "adverse_events": "AEs (CSV)", "assessments": "Scans (CSV)"}
for column, role in zip(template_columns[1:4], ROLES):
    column.download_button(template_labels[role], data=template_csv(role), file_name=f"{role}-template.csv",
                           mime="text/csv", key=f"template_{role}", icon=":material/download:", on_click="ignore",
                           help=f"Template of the {ROLE_LABELS[role]} file (CSV, UTF-8)", width="stretch")
with st.expander("Upload limits (a file beyond one is refused, with a message saying which)"):
    st.markdown(limits_markdown())
with st.expander("Data dictionary: every column the app reads, its unit and how to write it"):
    ui.show_table(data_dictionary(), "upload-data-dictionary", key="upload_dictionary",
                  caption="CSV in any common encoding (UTF-8, Windows-1252/Latin-1, UTF-16) and delimiter (comma, "
                          "semicolon with decimal commas, tab), or XLSX. Empty cells, NA and “not reported” mean "
                          "not recorded. See the upload limits above.")

# --- 2. files ------------------------------------------------------------------------------------------
st.subheader("2. Upload")
uploader_columns = st.columns(3)
labels = {"patients": "Patients (required)", "adverse_events": "Adverse events (optional)",
          "assessments": "Tumour assessments (optional)"}
generation = data_source.uploader_generation()  # a new one after loading or removing: empty uploaders
files = {role: column.file_uploader(labels[role], type=FILE_TYPES, key=f"upload_{role}_{generation}",
                                    max_upload_size=LIMITS.file_mb.value,
                                    help=f"CSV or XLSX, at most {LIMITS.file_mb.amount} "
                                         f"(and {LIMITS.rows(role).amount}, {LIMITS.columns.amount}).")
         for column, role in zip(uploader_columns, ROLES)}
if files["patients"] is None:
    if files["adverse_events"] is not None or files["assessments"] is not None:
        st.warning("Add the patients file: adverse events and assessments are checked against its patient IDs.")
    else:
        st.info("Choose a patients file (CSV or XLSX) to begin; the template above shows the layout.",
                icon=":material/upload_file:")
    st.stop()


def read(role: str, uploaded) -> ReadResult:
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
             f"again. Rows are numbered as in a spreadsheet (the header is row 1).\n\n{lines}" + (f"\n\n… and {rest:,} more (see the table below)." if rest > 0 else ""),
             icon=":material/error:")
    if rest > 0:
        with st.expander(f"All problems ({listed:,} listed" + (f" of {total:,}" if total > listed else "") + ")"):
            ui.show_table(problems_frame(problems), "upload-problems", key=f"upload_problems_{what[:12]}",
                          column_config={"Problem": st.column_config.TextColumn(width="large")})


results = {role: read(role, uploaded) for role, uploaded in files.items() if uploaded is not None}
# a workbook uploaded as the patients file may hold the other files as sheets
for role, table in results["patients"].other_sheets.items():
    if role not in results:
        results[role] = ReadResult(table, [])
        st.caption(f"The {ROLE_LABELS[role]} were read from the sheet of the patients workbook.")
read_problems = [problem for result in results.values() for problem in result.problems]
if read_problems or any(result.table is None for result in results.values()):
    show_problems(read_problems, len(read_problems), "the uploaded file" + ("s" if len(results) > 1 else ""))
    st.stop()
tables = {role: result.table for role, result in results.items()}
for role, table in tables.items():
    st.caption(f"**{ui.text(table.file)}** ({ROLE_LABELS[role]}): {len(table.frame):,} rows, "
               f"{len(table.columns)} columns — read as {ui.text(table.description)}.")
    for note in table.notes:
        st.warning(ui.text(note), icon=":material/warning:")

# --- 3. column matching -----------------------------------------------------------------------------
st.subheader("3. Match the columns")
st.caption("Each column of the app, and the column of your file it is read from. Recognised names are filled in; "
           "check them and choose the others. Columns of the file matched to nothing are ignored.")


def mapping_widgets(role: str, table: RawTable, container) -> dict[str, str]:
    """One selectbox per app column, pre-filled with the recognised file column."""
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
                key=f"map_{file_key}_{spec.name}", help=f"{spec.label}: {spec.description}"
                + (f" ({spec.unit})" if spec.unit else "") + (f". {spec.allowed}" if spec.allowed else ""),
            )
            if choice != NOT_IN_FILE:
                mapping[spec.name] = choice
    used = [c for c in mapping.values()]
    duplicates = sorted({c for c in used if used.count(c) > 1})
    if duplicates:
        container.warning("A column of the file is matched to two app columns: "
                          + ", ".join(f"“{ui.text(c)}”" for c in duplicates) + ". Check the matching.")
    recognised = [(spec.name, suggested[spec.name]) for spec in specs if spec.name in suggested
                  and normalise_name(suggested[spec.name]) != normalise_name(spec.name)]
    if recognised:
        container.caption("Recognised automatically: " + "; ".join(
            f"“{ui.text(file_column)}” → `{name}`" for name, file_column in recognised) + ".")
    return mapping


mappings = {}
for role, table in tables.items():
    box = st.container(border=True)
    box.markdown(f"**{ROLE_LABELS[role].capitalize()}** — {ui.text(table.file)}")
    mappings[role] = mapping_widgets(role, table, box)

default_name = Path(files["patients"].name).stem.replace("_", " ").replace("-", " ").strip() or "Uploaded cohort"
patients_key = hashlib.sha256(str(files["patients"].file_id).encode()).hexdigest()[:10]
cohort_name = clean_cohort_name(st.text_input(
    "Cohort name", value=clean_cohort_name(default_name), max_chars=60, key=f"upload_cohort_name_{patients_key}",
    help="Shown as the study of these patients on every page (unless the file has a study column)."))

# --- 4. check ----------------------------------------------------------------------------------------
signature = (tuple((role, results[role].table.file, len(tables[role].frame)) for role in tables),
             tuple((role, tuple(sorted(m.items()))) for role, m in mappings.items()), cohort_name,
             tuple(files[role].file_id if files.get(role) is not None else "" for role in ROLES))
memo = st.session_state.get(PREPARED_KEY)
if memo is None or memo[0] != signature:
    prepared = prepare_cohort(
        tables["patients"], mappings["patients"], tables.get("adverse_events"), mappings.get("adverse_events"),
        tables.get("assessments"), mappings.get("assessments"), cohort_name=cohort_name)
    st.session_state[PREPARED_KEY] = (signature, prepared)
else:
    prepared = memo[1]

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
    st.stop()

n_events = 0 if prepared.adverse_events is None else len(prepared.adverse_events)
n_measures = 0 if prepared.assessments is None else len(prepared.assessments)
summary = [f"{len(prepared.patients):,} patients"] + ([f"{n_events:,} adverse events"] if n_events else []) + (
    [f"{n_measures:,} tumour assessments"] if n_measures else [])
st.success(f"**No problem found:** {', '.join(summary)}. Load the cohort to use it on every page.",
           icon=":material/task_alt:")
preview = prepared.patients.drop(columns=["source"]).head(PREVIEW_ROWS)
ui.show_table(preview, "upload-preview", key="upload_preview",
              caption=f"The first {len(preview)} patients as the app will read them (– = not recorded).")


is_loaded = current is not None and current.name == cohort_name and current.n_patients == len(prepared.patients) \
    and current.files == tuple(tables[role].file for role in tables)
st.button("Load this cohort" if not is_loaded else "Load again (replace the loaded cohort)", type="primary",
          key="upload_load", on_click=data_source.load_checked_cohort, icon=":material/upload:",
          args=(cohort_name, tuple(tables[role].file for role in tables)),
          help="Replaces any cohort loaded earlier in this session. The published cohorts are not changed.")

if prepared.assessments is not None and len(prepared.assessments):
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

st.caption("Downloads (CSV, PNG, SVG) of an uploaded cohort are made for your session only; in CSV files, cells "
           "a spreadsheet would run as formulas (starting with =, +, − or @) are neutralised.")
