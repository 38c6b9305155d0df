"""REDCap exports: the data CSV (raw codes or labels), with or without the data dictionary CSV (pure).

Follows the REDCap documentation of the *Data Exports* ("CSV / Microsoft
Excel (raw data)" and "(labels)") and of the *Data Dictionary* (columns
"Variable / Field Name", "Form Name", "Field Type", "Field Label",
"Choices, Calculations, OR Slider Labels"; choices as ``code, label | ...``),
and REDCap's export conventions:

* the first column is the record ID; ``redcap_event_name`` (longitudinal
  projects), ``redcap_repeat_instrument`` / ``redcap_repeat_instance``
  (repeating instruments), ``redcap_data_access_group``; in a labels export
  the headers are the field labels ("Event Name", "Repeat Instrument");
* checkbox fields as one column per choice, ``field___code`` (0/1 raw,
  Checked/Unchecked labelled), collapsed into one text of the ticked labels;
* radio / dropdown / yes-no codes turned into their labels with the dictionary.

Rows are collapsed to one per record by a rule the user sees and chooses;
a repeating instrument whose fields are an AE term and grade (or an assessment
time and % change) becomes the adverse-events (or assessments) file.
The columns keep their field names, so the column matching recognises and
lets the user correct them.

Not read: REDCap XML / ODM exports, the API, calculated fields' formulas,
date shifting, survey timestamps beyond keeping them as columns.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sarcoma_app.ingest.columns import SPECS, mapping_dict, normalise_name, suggest_mapping
from sarcoma_app.ingest.formats.base import (Choice, FormatResult, Mapped, examples, patients_have,
                                             quoted_list, read_any)
from sarcoma_app.ingest.tables import RawTable

FORMAT = "REDCap"
EVENT = "redcap_event_name"
REPEAT = "redcap_repeat_instrument"
INSTANCE = "redcap_repeat_instance"
LABEL_HEADERS = {"event name": EVENT, "repeat instrument": REPEAT, "repeat instance": INSTANCE,
                 "data access group": "redcap_data_access_group"}
DICTIONARY_FIELD = "Variable / Field Name"
COLLAPSE_RULES = ("first non-empty value (events in the export's order)", "last non-empty value",
                  "refuse records whose events disagree")
CHECKBOX = re.compile(r"^(?P<field>.+?)___(?P<code>[A-Za-z0-9_-]+)$")
LABELLED_CHECKBOX = re.compile(r"^(?P<field>.+?) \(choice=(?P<label>.+)\)$")
CHECKED = {"1", "checked"}


def is_dictionary(table: RawTable) -> bool:
    return DICTIONARY_FIELD in table.columns or {"Variable / Field Name", "Field Type"} <= set(table.columns)


def looks_like(name: str, data: bytes) -> bool:
    head = data[:8192].decode("utf-8", errors="replace").lower()
    first = head.splitlines()[0] if head.splitlines() else ""
    return (EVENT in first or REPEAT in first or "variable / field name" in first or "record_id" in first
            or "___" in first or "repeat instrument" in first or "event name" in first or "redcap" in name.lower())


def parse_choices(text: str) -> dict[str, str]:
    """REDCap choices "1, Complete response | 2, Partial response" -> {"1": "Complete response", ...}."""
    choices = {}
    for part in str(text).split("|"):
        code, _, label = part.partition(",")
        if label:
            choices[code.strip()] = label.strip()
    return choices


def read_redcap(files: list[tuple[str, bytes]], chosen: dict[str, str] | None = None) -> FormatResult:
    """Read a REDCap export (and its data dictionary) into the app's layout; never raises on bad data."""
    result = FormatResult(FORMAT, tuple(name for name, _ in files))
    data = dictionary = None
    for name, content in files:
        raw, problems = read_any(name, content, "adverse_events")
        result.problems.extend(problems)
        if raw is None:
            continue
        if is_dictionary(raw):
            dictionary = raw
        elif data is None:
            data = raw
        else:
            result.problems.append(_problem(raw.file, f"a second REDCap data export ({data.file} is one)"))
    if result.problems:
        return result
    if data is None:
        result.find("error", "files", "only a data dictionary: upload the data export (CSV) with it")
        return result
    frame = data.frame.rename(columns={c: LABEL_HEADERS[normalise_name(c)] for c in data.columns
                                       if normalise_name(c) in LABEL_HEADERS})
    record = frame.columns[0]
    result.recognised.append(Mapped(f"{data.file}: {record}", "patient_id", "the first column is the record ID"))
    fields = _dictionary_fields(dictionary)
    if dictionary is not None:
        result.recognised.append(Mapped(dictionary.file, "data dictionary", f"{len(fields):,} fields; codes of radio, "
                                        "dropdown, yes/no and checkbox fields read as their labels"))
    frame = _decode(result, frame, fields, data.file)
    frame = _checkboxes(result, frame, fields, data.file)
    repeat = frame[REPEAT].astype(str).str.strip() if REPEAT in frame.columns else pd.Series("", index=frame.index)
    for instrument in [i for i in dict.fromkeys(repeat) if i]:
        rows = frame.loc[repeat.eq(instrument)]
        filled = [c for c in rows.columns if c not in (record, EVENT, REPEAT, INSTANCE)
                  and rows[c].astype(str).str.strip().ne("").any()]
        for role in ("adverse_events", "assessments"):
            mapping = mapping_dict(suggest_mapping([c for c in filled], role))
            needed = [s.name for s in SPECS[role] if s.required and s.name != "patient_id"]
            if role not in result.tables and all(n in mapping for n in needed):
                result.tables[role] = RawTable(data.file, pd.concat(
                    [rows[[record]].rename(columns={record: "patient_id"}), rows[filled]], axis=1).reset_index(drop=True),
                    data.row_numbers[rows.index.to_numpy()], f"REDCap repeating instrument {instrument}", [])
                result.recognised.append(Mapped(f"{data.file}: repeating instrument {quoted_list([instrument])} "
                                                f"({len(rows):,} rows)", "adverse events" if role == "adverse_events"
                                                else "tumour assessments", "one row per instance: "
                                                + ", ".join(f"{mapping[n]} → {n}" for n in needed)))
                frame = frame.loc[~repeat.eq(instrument)]
                repeat = repeat.loc[frame.index]
                break
    frame = frame[[c for c in frame.columns if c in (record, EVENT, REPEAT, INSTANCE)
                   or frame[c].astype(str).str.strip().ne("").any()]]
    rule = result.choose(Choice("redcap_collapse", "Several rows per record (events, repeating instruments)",
                                COLLAPSE_RULES, "How the rows of one record become one patient row."), chosen)
    patients, numbers = _collapse(result, frame, record, rule, data)
    result.tables["patients"] = RawTable(data.file, patients, numbers, "REDCap export" +
                                         (" + data dictionary" if dictionary is not None else ""), [])
    matched = mapping_dict(suggest_mapping(list(patients.columns)))
    if matched:
        result.recognised.append(Mapped(f"{data.file}: fields", "app columns", "; ".join(
            f"{column} → {name}" for name, column in matched.items())))
    return result


def _problem(file, message):
    from sarcoma_app.ingest.tables import Problem

    return Problem(file, None, None, message)


def _dictionary_fields(dictionary: RawTable | None) -> dict[str, dict]:
    if dictionary is None:
        return {}
    frame = dictionary.frame
    field_type = next((c for c in frame.columns if normalise_name(c) == "field type"), None)
    choices = next((c for c in frame.columns if normalise_name(c).startswith("choices")), None)
    label = next((c for c in frame.columns if normalise_name(c) == "field label"), None)
    fields = {}
    for _, row in frame.iterrows():
        name = str(row[DICTIONARY_FIELD]).strip()
        kind = str(row[field_type]).strip().lower() if field_type else ""
        options = parse_choices(row[choices]) if choices and kind in ("radio", "dropdown", "checkbox") else {}
        if kind == "yesno":
            options = {"1": "Yes", "0": "No"}
        elif kind == "truefalse":
            options = {"1": "True", "0": "False"}
        fields[name] = {"type": kind, "choices": options, "label": str(row[label]).strip() if label else ""}
    return fields


def _decode(result: FormatResult, frame: pd.DataFrame, fields: dict, file: str) -> pd.DataFrame:
    """Raw codes of coded fields as their labels (the dictionary's); unknown codes are findings."""
    frame = frame.copy()
    for column in frame.columns:
        spec = fields.get(column)
        if not spec or not spec["choices"] or spec["type"] == "checkbox":
            continue
        values = frame[column].astype(str).str.strip()
        labels = set(spec["choices"].values())
        decoded = values.map(lambda v: spec["choices"].get(v, v))
        unknown = values.ne("") & ~values.isin(spec["choices"]) & ~values.isin(labels)
        if unknown.any():
            result.find("error", "unknown code", f"{column}: {int(unknown.sum())} value(s) "
                        f"{quoted_list(values[unknown].unique())} are neither a code nor a label of the data "
                        f"dictionary (rows {examples(np.flatnonzero(unknown.to_numpy()) + 2)}).")
        n_codes = int(values.isin(spec["choices"]).sum())
        if n_codes:
            result.recognised.append(Mapped(f"{file}: {column}", column, "codes → labels: " + ", ".join(
                f"{k} = {v}" for k, v in list(spec["choices"].items())[:6])))
        frame[column] = decoded
    return frame


def _checkboxes(result: FormatResult, frame: pd.DataFrame, fields: dict, file: str) -> pd.DataFrame:
    """``field___code`` (or labelled "Label (choice=X)") columns as one column of ticked labels, '; '-joined."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for column in frame.columns:
        match = CHECKBOX.match(column) or LABELLED_CHECKBOX.match(column)
        if match:
            field = match.group("field")
            code = match.groupdict().get("code") or match.group("label")
            label = fields.get(field, {}).get("choices", {}).get(code, code)
            groups.setdefault(field, []).append((column, label))
    for field, columns in groups.items():
        ticked = pd.DataFrame({label: frame[c].astype(str).str.strip().str.lower().isin(CHECKED)
                               for c, label in columns})
        frame = frame.drop(columns=[c for c, _ in columns])
        frame[field] = ["; ".join(label for label, on in row.items() if on) for _, row in ticked.iterrows()]
        result.recognised.append(Mapped(f"{file}: {', '.join(c for c, _ in columns[:3])}{' …' if len(columns) > 3 else ''}",
                                        field, "checkbox: the ticked choices joined with '; '"))
    return frame


def _collapse(result: FormatResult, frame: pd.DataFrame, record: str, rule: str, data: RawTable):
    """One row per record by ``rule``; conflicts (different non-empty values of one field) are findings."""
    ids = frame[record].astype(str).str.strip()
    value_columns = [c for c in frame.columns if c not in (record, EVENT, REPEAT, INSTANCE, "redcap_data_access_group")]
    several = ids[ids.duplicated(keep=False)].unique()
    if len(several):
        result.find("warning", "several rows", f"{patients_have(len(several))} several rows in {data.file} "
                    f"(events or repeating instruments; {examples(several)}). Rule: {rule}.")
    values = frame[value_columns].astype(str).apply(lambda c: c.str.strip())
    values = values.where(values.ne(""))
    values.index = range(len(values))
    key = pd.Series(ids.to_numpy())
    grouped = values.groupby(key, sort=False)
    kept = grouped.last() if rule == COLLAPSE_RULES[1] else grouped.first()
    order = list(kept.index)
    distinct = grouped.nunique()
    conflicts = {c: list(distinct.index[distinct[c] > 1]) for c in value_columns if (distinct[c] > 1).any()}
    first_row = pd.Series(range(len(key))).groupby(key, sort=False).first()
    numbers = data.row_numbers[frame.index.to_numpy()[first_row.loc[order].to_numpy()]] if len(order) else []
    rows = {record: order}
    rows.update({c: kept[c].fillna("").tolist() for c in value_columns})
    for column, pids in conflicts.items():
        severity = "error" if rule == COLLAPSE_RULES[2] else "warning"
        result.find(severity, "several rows", f"{column}: {patients_have(len(pids))} different values in "
                    f"different rows ({examples(pids)}); " + ("the rule chosen refuses them." if severity == "error"
                                                              else f"kept by the rule: {rule}."))
    result.recognised.append(Mapped(f"{data.file}: {len(frame):,} rows", f"{len(order):,} patients", rule))
    frame_out = pd.DataFrame(rows, dtype=object).rename(columns={record: "patient_id"} if record != "patient_id" else {})
    return frame_out, np.asarray(numbers, dtype=np.int64)
