"""What the upload page offers and shows as tables: the data dictionary, the templates, problems and recognitions (pure)."""
from __future__ import annotations

import io

import pandas as pd

from sarcoma_app.ingest.columns import ROLE_LABELS, ROLES, SPECS
from sarcoma_app.ingest.tables import Problem, short_text
from sarcoma_app.ingest.values import Recognition

# --------------------------------------------------------------------------- #
# Dictionary and templates
# --------------------------------------------------------------------------- #
def data_dictionary() -> pd.DataFrame:
    """Every column an upload may have: file, required, unit, how to write it, recognised names."""
    rows = []
    for role, specs in SPECS.items():
        for spec in specs:
            rows.append({
                "File": ROLE_LABELS[role], "Column": spec.name, "Required": "required" if spec.required else "optional",
                "Meaning": spec.description, "Unit": spec.unit, "How to write it": spec.allowed,
                "Also recognised as": ", ".join(spec.synonyms[:8]) + (" …" if len(spec.synonyms) > 8 else ""),
            })
    return pd.DataFrame(rows)


_TEMPLATE_ROWS = {
    "patients": [
        {"patient_id": "EXAMPLE-01", "histology": "Leiomyosarcoma", "best_response": "PR", "pfs_months": "7.5",
         "pfs_event": "1", "age": "61", "sex": "Female", "ecog": "1", "prior_lines": "2", "primary_site": "Uterus",
         "pazopanib": "no"},
        {"patient_id": "EXAMPLE-02", "histology": "Angiosarcoma", "best_response": "SD", "pfs_months": "4.2",
         "pfs_event": "0", "age": "72", "sex": "Male", "ecog": "0", "prior_lines": "1", "primary_site": "Scalp",
         "pazopanib": "yes"},
        {"patient_id": "EXAMPLE-03", "histology": "Undifferentiated pleomorphic sarcoma", "best_response": "NE",
         "pfs_months": "1.1", "pfs_event": "1", "age": "55", "sex": "Male", "ecog": "2", "prior_lines": "3",
         "primary_site": "Thigh", "pazopanib": "no", "not_evaluable_reason": "clinical progression before the first "
         "scan"},
    ],
    "adverse_events": [
        {"patient_id": "EXAMPLE-01", "term": "Fatigue", "grade": "2"},
        {"patient_id": "EXAMPLE-01", "term": "Neutropenia", "grade": "3"},
        {"patient_id": "EXAMPLE-02", "term": "Hypertension", "grade": "2"},
    ],
    "assessments": [
        {"patient_id": "EXAMPLE-01", "time_months": "2", "pct_change": "-22"},
        {"patient_id": "EXAMPLE-01", "time_months": "4", "pct_change": "-38"},
        {"patient_id": "EXAMPLE-02", "time_months": "2", "pct_change": "5"},
        {"patient_id": "EXAMPLE-03", "time_months": "1", "pct_change": "31"},
    ],
}


def template_frame(role: str) -> pd.DataFrame:
    """The template of one file: every column (required first) and three example rows."""
    columns = [spec.name for spec in SPECS[role]]
    return pd.DataFrame(_TEMPLATE_ROWS[role], columns=columns).fillna("")


def template_csv(role: str) -> bytes:
    """Template CSV (UTF-8 with BOM, so Excel opens it with the right accents)."""
    return template_frame(role).to_csv(index=False).encode("utf-8-sig")


def template_xlsx() -> bytes:
    """One workbook: sheets patients, adverse_events, assessments and dictionary."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for role in ROLES:
            template_frame(role).to_excel(writer, sheet_name=role, index=False)
        data_dictionary().to_excel(writer, sheet_name="dictionary", index=False)
    return buffer.getvalue()


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    """Problems as a table: File, Row, Column, Problem."""
    return pd.DataFrame({
        "File": [p.file for p in problems],
        "Row": [str(p.row) if p.row is not None else "–" for p in problems],
        "Column": [short_text(p.column, 60) if p.column is not None else "–" for p in problems],
        "Problem": [p.message for p in problems],
    })


def recognitions_frame(recognitions: list[Recognition]) -> pd.DataFrame:
    """Recognised values as a table: App column, File column, In the file, Read as, Rows."""
    return pd.DataFrame({
        "App column": [r.column for r in recognitions],
        "File column": [short_text(r.file_column, 60) for r in recognitions],
        "In the file": [short_text(r.original, 80) for r in recognitions],
        "Read as": [r.read_as for r in recognitions],
        "Rows": [r.rows for r in recognitions],
    })
