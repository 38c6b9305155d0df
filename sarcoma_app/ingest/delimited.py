"""Reading a delimited text file (CSV, TSV, semicolons...): decoding, delimiter sniffing, bounded rows (pure).

Any common encoding is read (UTF-8 with or without BOM, UTF-16, and Windows-1252
line by line where UTF-8 fails, saying which lines); the delimiter is the one
giving the most consistent number of fields. Columns, rows walked and cell
lengths are checked before the step they protect (:data:`sarcoma_app.limits.LIMITS`).
"""
from __future__ import annotations

import csv
import io

from sarcoma_app.ingest.tables import (CONTROL_CHARACTERS, MAX_TEXT_LENGTH, Problem, ReadResult, clean_cell,
                                       long_cell_problems, short_text, table_from_rows, too_many_columns,
                                       too_many_rows)
from sarcoma_app.limits import LIMITS

#: Lines named in a note or message before "…".
LINES_NAMED = 10
#: Characters of a text file looked at to guess its delimiter (a header is shorter).
SNIFF_CHARS = 256 * 1024

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


def _line_list(numbers: list[int]) -> str:
    """'lines 4, 17' (the first :data:`LINES_NAMED`, then '…')."""
    shown = ", ".join(str(n) for n in numbers[:LINES_NAMED]) + (" …" if len(numbers) > LINES_NAMED else "")
    return f"line{'s' if len(numbers) > 1 else ''} {shown}"


def _decode_lines(data: bytes) -> tuple[str, str, str | None]:
    """Text of a file that is not valid UTF-8: each line as UTF-8 when it is, else as Windows-1252.

    Returns the text, the encoding's name and a note naming the lines that
    forced the fallback (so one stray byte does not turn a UTF-8 file into
    mojibake, and the user sees which lines to check).
    """
    parts, fallback, utf8_accents = [], [], False
    for number, line in enumerate(data.splitlines(keepends=True), start=1):
        try:
            text = line.decode("utf-8")
            utf8_accents = utf8_accents or not line.isascii()
        except UnicodeDecodeError:
            fallback.append(number)
            try:
                text = line.decode("cp1252")
            except UnicodeDecodeError:  # bytes cp1252 leaves undefined
                text = line.decode("latin-1")
        parts.append(text)
    lines = _line_list(fallback)
    if utf8_accents:
        return "".join(parts), "UTF-8 (some lines Windows-1252)", (
            f"{lines} contain{'s' if len(fallback) == 1 else ''} bytes that are not UTF-8: "
            f"{'that line was' if len(fallback) == 1 else 'those lines were'} read as Windows-1252, the rest of "
            "the file as UTF-8. Check the accents there, or save the file as UTF-8.")
    return "".join(parts), "Windows-1252", (f"the file is not UTF-8 ({lines} contain{'s' if len(fallback) == 1 else ''}"
                                            " other bytes): it was read as Windows-1252.")


def decode_text(data: bytes) -> tuple[str | None, str, str | None]:
    """Text, encoding name and a note on the decoding of ``data`` (text None when it does not look like text)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "UTF-8 with BOM", None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16", None
        except UnicodeDecodeError:
            return None, "UTF-16", None
    sample = data[:4096]
    if len(sample) >= 4 and b"\x00" in sample:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        half = len(sample) / 2
        for encoding, zeros in (("utf-16-le", odd), ("utf-16-be", even)):
            if zeros > 0.3 * half:
                try:
                    return data.decode(encoding), "UTF-16", None
                except UnicodeDecodeError:
                    return None, "UTF-16", None
        return None, "binary", None
    try:
        return data.decode("utf-8"), "UTF-8", None
    except UnicodeDecodeError:
        return _decode_lines(data)


def looks_binary(text: str) -> bool:
    """True when decoded text is mostly not text (control characters, replacement characters)."""
    sample = text[:20_000]
    if not sample:
        return False
    if "\x00" in sample:
        return True
    odd = len(CONTROL_CHARACTERS.findall(sample)) + sample.count("\ufffd")
    return odd > max(2, 0.01 * len(sample))


def _sniff_delimiter(text: str) -> str:
    """The delimiter giving the most consistent number (> 1) of fields over the first lines."""
    lines = [line for line in text[:SNIFF_CHARS].splitlines()[:50] if line.strip()][:25]
    if not lines:
        return ","
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        header = counts[0]
        if header < 2:
            continue
        consistent = sum(1 for c in counts if c == header)
        score = (consistent, header)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_delimited_text(file: str, text: str, encoding: str, max_rows: int, note: str | None = None) -> ReadResult:
    problems: list[Problem] = []
    notes: list[str] = [f"{file}: {note}"] if note else []
    delimiter = _sniff_delimiter(text)
    # the header's width from its head only: a header within the limits fits in it (1,000,000 names would not)
    head = text[: (LIMITS.columns.value + 1) * (MAX_TEXT_LENGTH + 3)]
    width, header_at = 0, 1
    try:
        for header_at, record in enumerate(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter), start=1):
            if any(cell.strip() for cell in record):
                width = len(record)
                break
    except csv.Error:
        pass  # the full read below says what is wrong
    if width > LIMITS.columns.value:
        return ReadResult(None, [too_many_columns(file, header_at, None)])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    header_row = 1
    rows: list[list[str]] = []
    numbers: list[int] = []
    try:
        for index, record in enumerate(reader, start=1):
            if header is None:
                if not any(cell.strip() for cell in record):
                    continue
                if len(record) > LIMITS.columns.value:  # before any row is kept
                    return ReadResult(None, [too_many_columns(file, index, len(record))])
                header, header_row = record, index
                continue
            if index - header_row > max_rows:  # rows walked, empty ones included
                return ReadResult(None, [too_many_rows(file, max_rows)])
            cells = [clean_cell(cell) for cell in record]
            if not any(cells):
                continue  # blank line
            if max(map(len, cells)) > MAX_TEXT_LENGTH:
                long_cell_problems(file, index, cells, header, problems)
                continue
            rows.append(cells)
            numbers.append(index)
    except csv.Error as error:
        problems.append(Problem(file, None, None, f"not a readable CSV table ({short_text(error, 120)})"))
        return ReadResult(None, problems)
    if header is None:
        return ReadResult(None, [Problem(file, None, None, "the file is empty")])
    if problems:
        return ReadResult(None, problems)
    if not rows:
        return ReadResult(None, [Problem(file, None, None, "the file has a header row but no data rows")])
    description = f"CSV, {encoding}, {DELIMITER_NAMES[delimiter]}-separated"
    table = table_from_rows(file, rows, numbers, header, header_row, description, problems, notes)
    return ReadResult(table, problems)
