"""Converting the cells of one mapped column into the app's values, and recognising words (pure).

Numbers (decimal commas, "%", "−"), times in days/weeks/years (converted to
months), yes/no, RECIST responses, event codes (and a "censored" header that
inverts them), sex, stage, treatment status. What was read in a way the user
should see is a :class:`Recognition`; each unreadable, ambiguous ("1,234" days)
or implausible (1e308 months, "-0") value is a problem for the
:class:`ProblemCollector`, never silently changed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sarcoma_app.ingest.columns import INVERTED_EVENT_HEADERS, ColumnSpec, normalise_name, time_unit
from sarcoma_app.ingest.tables import MAX_PROBLEMS_PER_FILE, MAX_TEXT_LENGTH, Problem, RawTable, quoted
from sarcoma_app.limits import LIMITS

#: Cell texts read as "not recorded" (NULL), compared after stripping and lower-casing.
MISSING_TOKENS = frozenset({"", "-", "–", "—", ".", "?", "na", "n/a", "n.a.", "nan", "null", "none", "unknown", "unk",
                            "missing", "not reported", "not available", "not known", "#n/a"})


# --------------------------------------------------------------------------- #
# Values
# --------------------------------------------------------------------------- #
RESPONSE_WORDS = {
    "CR": ("cr", "complete response", "complete remission", "complete", "cr complete response", "icr"),
    "PR": ("pr", "partial response", "partial remission", "partial", "pr partial response", "ipr"),
    "SD": ("sd", "stable disease", "stable", "sd stable disease", "isd"),
    "PD": ("pd", "progressive disease", "progression", "progressive", "progressed", "pd progressive disease"),
    "NE": ("ne", "not evaluable", "non evaluable", "not evaluated", "unevaluable", "inevaluable", "nonevaluable",
           "ne not evaluable", "not assessable", "na not evaluable"),
}
EVENT_WORDS = {
    1: ("1", "yes", "y", "true", "progressed", "progression", "progressive disease", "pd", "event", "relapse",
        "relapsed", "died", "death", "dead", "progressed or died", "progression or death"),
    0: ("0", "no", "n", "false", "censored", "censor", "no progression", "not progressed", "no event",
        "progression free", "event free", "alive without progression"),
}
#: Event values whose meaning flips under a 'censored' header (the words keep theirs).
_FLIPPABLE_EVENT = frozenset({"1", "0", "yes", "y", "true", "no", "n", "false"})
SEX_WORDS = {"Female": ("f", "female", "woman", "women", "fem", "w"), "Male": ("m", "male", "man", "men")}
BOOL_WORDS = {True: ("yes", "y", "true", "1", "t"), False: ("no", "n", "false", "0", "f")}
STAGE_WORDS = {"IV": ("iv", "4", "stage iv", "stage 4", "iva", "ivb", "stage iva", "stage ivb", "metastatic"),
               "Unresectable": ("unresectable", "inoperable", "locally advanced unresectable")}
STATUS_WORDS = {"ongoing": ("ongoing", "on treatment", "continuing", "still on treatment", "on"),
                "stopped": ("stopped", "discontinued", "off treatment", "ended", "completed", "off")}


def _lookup(words: dict) -> dict[str, object]:
    return {word: value for value, synonyms in words.items() for word in synonyms}


_RESPONSE_LOOKUP = _lookup(RESPONSE_WORDS)
_EVENT_LOOKUP = _lookup(EVENT_WORDS)
_SEX_LOOKUP = _lookup(SEX_WORDS)
_BOOL_LOOKUP = _lookup(BOOL_WORDS)
_STAGE_LOOKUP = _lookup(STAGE_WORDS)
_STATUS_LOOKUP = _lookup(STATUS_WORDS)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")
_DOTTED_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+,\d+$")
#: "1,234" or "12,345,678": a thousands separator or a decimal comma? (not "0,123": no thousands start with 0)
_AMBIGUOUS_COMMA = re.compile(r"^[+-]?[1-9]\d{0,2}(,\d{3})+$")


def _clean_number_text(text: str) -> str:
    """A cell's number without spaces, a trailing '%' and with '−' as '-'."""
    cleaned = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("−", "-")
    return cleaned[:-1] if cleaned.endswith("%") else cleaned


def _parse_number(text: str) -> tuple[float | None, bool]:
    """(value, read a decimal comma) of a cell; value None when not a number."""
    cleaned = _clean_number_text(text)
    if _NUMBER.match(cleaned):
        return float(cleaned), False
    if _DECIMAL_COMMA.match(cleaned):
        return float(cleaned.replace(",", ".")), True
    if _DOTTED_THOUSANDS_COMMA.match(cleaned):
        return float(cleaned.replace(".", "").replace(",", ".")), True
    return None, False


@dataclass(frozen=True)
class Recognition:
    """A value (or column) the app read in a way the user should see before it is applied."""

    column: str  # app column
    file_column: str
    original: str
    read_as: str
    rows: int


class ProblemCollector:
    """Problems of one file, capped at :data:`MAX_PROBLEMS_PER_FILE` listed (all counted)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.count = 0
        self._per_file: dict[str, int] = {}

    def add(self, file: str, row: int | None, column: str | None, message: str) -> None:
        self.count += 1
        listed = self._per_file.get(file, 0)
        if listed < MAX_PROBLEMS_PER_FILE:
            self.problems.append(Problem(file, row, column, message))
            self._per_file[file] = listed + 1


def is_missing(values: pd.Series) -> pd.Series:
    return values.str.strip().str.lower().isin(MISSING_TOKENS)


def convert_column(table: RawTable, spec: ColumnSpec, file_column: str, problems: ProblemCollector,
             recognitions: list[Recognition]) -> pd.Series:
    """Typed values of one mapped column (problems added for unreadable cells)."""
    raw = table.frame[file_column].astype(str)
    rows = table.row_numbers
    missing = is_missing(raw)
    too_long = raw.str.len() > MAX_TEXT_LENGTH
    for position in np.flatnonzero(too_long.to_numpy()):
        problems.add(table.file, int(rows[position]), file_column,
                     f"text of {len(raw.iloc[position]):,} characters (at most {MAX_TEXT_LENGTH})")
    kind = spec.kind
    unique = pd.unique(raw[~missing & ~too_long])

    def report(mapping: dict, describe, always: bool = False) -> None:
        counts = raw[~missing].value_counts()
        for original, value in mapping.items():
            if value is None:
                continue
            canonical = {True: "yes", False: "no"}.get(value, str(value)) if kind == "bool" else str(value)
            if always or normalise_name(original) != normalise_name(canonical):
                recognitions.append(Recognition(spec.name, file_column, str(original), describe(value),
                                                int(counts.get(original, 0))))

    def fail(bad: pd.Series, message) -> None:
        for position in np.flatnonzero(bad.to_numpy()):
            problems.add(table.file, int(rows[position]), file_column, message(raw.iloc[position]))

    if kind in ("id", "text"):
        values = raw.where(~missing, None)
        if kind == "id":
            missing_id = missing | raw.str.strip().eq("")
            fail(missing_id & ~too_long, lambda v: "patient id is empty: every row needs one")
            values = raw.where(~missing_id, None)
        return values.astype(object)

    if kind in ("int", "float", "time", "pct", "grade"):
        parsed = {}
        comma = 0
        ambiguous = set()
        for text in unique:
            value, used_comma = _parse_number(text)
            parsed[text] = value
            if used_comma and _AMBIGUOUS_COMMA.match(_clean_number_text(text)):
                ambiguous.add(text)
            else:
                comma += used_comma
        if ambiguous and not comma:  # no value of the column shows that its commas are decimal commas
            is_ambiguous = raw.isin(ambiguous)
            fail(is_ambiguous, lambda v: f"{quoted(v)} is ambiguous: a thousands separator "
                                         f"({_clean_number_text(v).replace(',', '')}) or a decimal comma "
                                         f"({_clean_number_text(v).replace(',', '.')})? Write the number without "
                                         "a thousands separator, with a decimal point")
            for text in ambiguous:
                parsed[text] = None
        else:
            is_ambiguous = pd.Series(False, index=raw.index)
        numbers = raw.map(parsed).where(~missing & ~too_long)
        numbers = pd.to_numeric(numbers, errors="coerce").astype(float)
        not_number = ~missing & ~too_long & ~is_ambiguous & numbers.isna()
        what = {"int": "a number", "float": "a number", "time": "a time (a number ≥ 0)", "pct": "a percentage",
                "grade": "a CTCAE grade (1–5)"}[kind]
        fail(not_number, lambda v: f"{quoted(v)} is not {what}")
        infinite = numbers.notna() & ~np.isfinite(numbers.fillna(0))
        fail(infinite, lambda v: f"{quoted(v)} is not a finite number")
        numbers = numbers.where(~infinite)
        if comma:
            recognitions.append(Recognition(spec.name, file_column, "decimal commas (e.g. “3,5”)", "decimal points "
                                            "(3.5)", int(sum(1 for t in raw if _DECIMAL_COMMA.match(t.strip())
                                                             or _DOTTED_THOUSANDS_COMMA.match(t.strip())))))
        if kind == "time":
            unit, factor = time_unit(file_column)
            negative = numbers < 0
            fail(negative, lambda v: f"{quoted(v)} is negative: times must be ≥ 0")
            negative_zero = numbers.eq(0) & np.signbit(numbers.fillna(1))
            fail(negative_zero, lambda v: f"{quoted(v)} is a negative zero: write 0 if the time is 0 (times must "
                                          "be ≥ 0)")
            numbers = numbers.where(~negative & ~negative_zero)
            too_late = numbers * factor > LIMITS.time_months.value
            fail(too_late, lambda v: f"{quoted(v)} {unit} is longer than the limit ({LIMITS.time_months.text}): "
                                     "check the value and the column's unit")
            numbers = numbers.where(~too_late)
            if factor != 1.0:
                recognitions.append(Recognition(spec.name, file_column, f"times in {unit}", "months (× "
                                                f"{factor:.4g})", int(numbers.notna().sum())))
                numbers = numbers * factor
            return numbers
        if kind in ("int", "grade"):
            fractional = numbers.notna() & (numbers != np.floor(numbers.fillna(0)))
            fail(fractional, lambda v: f"{quoted(v)} is not a whole number")
            numbers = numbers.where(~fractional)
        low, high = spec.minimum, spec.maximum
        if high is None and kind in ("int", "pct"):  # no plausible count or % change is larger
            high = (LIMITS.count if kind == "int" else LIMITS.percent_change).value
        outside = numbers.notna() & (((numbers < low) if low is not None else False) |
                                     ((numbers > high) if high is not None else False))
        if low is not None and high is not None:
            rule = f"between {low:g} and {high:g}"
        elif low is not None:
            rule = f"≥ {low:g}"
        else:
            rule = f"≤ {high:g}"
        label = "AE grades must be CTCAE grades 1–5" if kind == "grade" else f"{spec.label} must be {rule}"
        fail(outside, lambda v: f"{quoted(v)} is out of range: {label}")
        numbers = numbers.where(~outside)
        if kind in ("int", "grade"):
            return pd.array(numbers.round().astype("Int64"), dtype="Int32")
        return numbers

    lookups = {"response": _RESPONSE_LOOKUP, "sex": _SEX_LOOKUP, "bool": _BOOL_LOOKUP, "stage": _STAGE_LOOKUP,
               "status": _STATUS_LOOKUP, "event": _EVENT_LOOKUP}
    lookup = lookups[kind]
    inverted = kind == "event" and normalise_name(file_column) in INVERTED_EVENT_HEADERS
    mapping: dict[str, object] = {}
    for text in unique:
        key = normalise_name(text)
        value = lookup.get(key)
        if value is None and kind in ("event", "bool"):
            number, _ = _parse_number(text)
            if number in (0.0, 1.0):
                value = int(number) if kind == "event" else bool(number)
                key = str(int(number))
        if value is not None and inverted and key in _FLIPPABLE_EVENT:
            value = 1 - int(value)
        mapping[text] = value
    values = raw.map(mapping).where(~missing & ~too_long)
    unreadable = ~missing & ~too_long & values.isna()
    messages = {
        "response": lambda v: f"{quoted(v)} is not a RECIST best response: use CR, PR, SD, PD or NE (or complete "
                              "response, partial response, stable disease, progressive disease, not evaluable)",
        "sex": lambda v: f"{quoted(v)} is not a sex the app records: use Female or Male (F / M), or leave it empty",
        "bool": lambda v: f"{quoted(v)} is not yes or no",
        "stage": lambda v: f"{quoted(v)} is not a stage the app records: IV or Unresectable (leave it empty "
                           "otherwise)",
        "status": lambda v: f"{quoted(v)} is not a treatment status: ongoing or stopped",
        "event": lambda v: f"{quoted(v)} is not a PFS event: use 1 = progression or death, 0 = censored (or "
                           "yes / no, progressed / censored)",
    }
    fail(unreadable, messages[kind])
    describe = {
        "response": lambda v: str(v),
        "event": lambda v: f"{v} ({'progression or death' if v == 1 else 'censored'})",
        "bool": lambda v: "yes" if v else "no",
    }.get(kind, str)
    if inverted:
        recognitions.append(Recognition(spec.name, file_column, f"column {quoted(file_column)} (1 = censored)",
                                        "PFS event = 1 − value (1 = progression)", int((~missing).sum())))
    report(mapping, describe, always=inverted)
    if kind == "event":
        return pd.array(values.astype("Float64").round().astype("Int64"), dtype="Int32")
    if kind == "bool":
        return pd.array(values.astype(object).where(values.notna(), None), dtype="boolean")
    return values.astype(object).where(values.notna(), None)
