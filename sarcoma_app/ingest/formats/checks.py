"""Checks of a time-to-event endpoint read from a standard format, before anything is drawn (pure).

Each check is a :class:`~.base.Finding` naming the count, the column and
example patient IDs:

* a status without a time, or a time without a status;
* censored patients lacking a time far more often than patients with an event:
  a Kaplan–Meier curve of the patients with times would be badly biased
  (informative missingness), so the endpoint is refused (``endpoint``);
* negative times (refused) and zero times (shown);
* times whose size does not fit their unit (days read as months, or months as days);
* several records for one patient and endpoint (refused).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from sarcoma_app.ingest.formats.base import FormatResult, examples, patients_have, patients_word

#: Censored patients without a time, at least this share of them, and ...
DIFFERENTIAL_MIN_SHARE = 0.2
#: ... at least this many times the share among patients with an event: the curve is refused.
DIFFERENTIAL_RATIO = 2.0
#: A median time above this many months reads as days (unit check).
MONTHS_TOO_LONG = 120.0
#: Times stated in days whose largest value is below this look like months.
DAYS_TOO_SHORT = 40.0


def endpoint_checks(result: FormatResult, short: str, ids: pd.Series, months: pd.Series, events: pd.Series,
                    where: str, unit: str) -> bool:
    """Check one endpoint (``months`` float, ``events`` 0/1/NaN by patient); False when it must be left out.

    Parameters
    ----------
    result : FormatResult
        Receives the findings.
    short : str
        Endpoint name for messages ("PFS").
    ids, months, events : pandas.Series
        Patient IDs, times in months and events (1 = event, 0 = censored), aligned.
    where : str
        File and column(s) the endpoint was read from, for messages.
    unit : str
        Unit the times were read in (days, weeks, months, years), for the unit check.
    """
    ids = pd.Series(ids).reset_index(drop=True).astype(str)
    months = pd.Series(months, dtype=float).reset_index(drop=True)
    events = pd.Series(events, dtype=float).reset_index(drop=True)
    no_time = months.isna() & events.notna()
    no_status = months.notna() & events.isna()
    if no_status.any():
        result.find("warning", "time without status",
                    f"{short}: {patients_have(int(no_status.sum()))} a time but no status in {where} "
                    f"({examples(ids[no_status])}): they are left out of the {short} analyses.")
    keep = True
    if no_time.any():
        censored, event = events.eq(0), events.eq(1)
        share_censored = float((no_time & censored).sum()) / max(int(censored.sum()), 1)
        share_event = float((no_time & event).sum()) / max(int(event.sum()), 1)
        message = (f"{short}: {patients_have(int(no_time.sum()))} a status but no time in {where} "
                   f"({examples(ids[no_time])}): {int((no_time & censored).sum())} of {int(censored.sum())} censored "
                   f"({share_censored:.0%}) and {int((no_time & event).sum())} of {int(event.sum())} with an event "
                   f"({share_event:.0%}).")
        if share_censored >= DIFFERENTIAL_MIN_SHARE and share_censored >= DIFFERENTIAL_RATIO * max(share_event, 1e-9):
            keep = False
            result.find("endpoint", "status without time", message + f" Censored patients lack their follow-up "
                        f"time far more often than events do, so a Kaplan–Meier curve built only from the patients "
                        f"with times would be badly biased (too low): the {short} curve is refused. Complete the "
                        "follow-up times and upload again.")
        else:
            result.find("warning", "status without time", message + f" They are left out of the {short} analyses.")
    negative = months < 0
    if negative.any():
        result.find("error", "negative time", f"{short}: {patients_have(int(negative.sum()))} a negative time "
                    f"in {where} ({examples(ids[negative])}): a time to event cannot be negative.")
    zero = months.eq(0)
    if zero.any():
        result.find("warning", "zero time", f"{short}: {patients_have(int(zero.sum()))} a time of 0 in {where} "
                    f"({examples(ids[zero])}): an event or censoring on the day treatment started; check them.")
    known = months[months > 0]
    if len(known) >= 3:
        if unit in ("months", "years") and float(known.median()) > MONTHS_TOO_LONG:
            result.find("warning", "unit", f"{short}: the median time in {where} is {known.median():,.0f} months "
                        f"read as {unit}: these look like days. Check the unit of the times (ADaM: choose the "
                        "unit of AVAL).")
        if unit == "days" and float(known.max()) < DAYS_TOO_SHORT:
            result.find("warning", "unit", f"{short}: every time in {where} is below {DAYS_TOO_SHORT:g} read as "
                        f"days (largest {known.max() * 30.4375:,.1f} days): these look like months. Choose the unit "
                        "of the times (ADaM: choose the unit of AVAL).")
    return keep


def duplicate_records(result: FormatResult, what: str, ids: pd.Series, where: str) -> set[str]:
    """An ``error`` finding for patients with several records of one endpoint or value; their IDs."""
    ids = pd.Series(ids).astype(str)
    repeated = ids[ids.duplicated(keep=False)]
    if len(repeated):
        result.find("error", "several records", f"{what}: {patients_have(repeated.nunique())} several records "
                    f"in {where} ({examples(repeated)}): keep one record per patient (or choose another parameter).")
    return set(repeated)


def missing_from(result: FormatResult, ids: pd.Series, known: set[str], file: str, other: str,
                 severity: str = "error") -> np.ndarray:
    """A finding for subjects of ``file`` that ``other`` lacks; the mask of them."""
    ids = pd.Series(ids).astype(str)
    unknown = ~ids.isin(known)
    if unknown.any():
        result.find(severity, "subjects missing", f"{patients_word(int(ids[unknown].nunique()))} of {file} are not "
                    f"in {other} ({examples(ids[unknown])})"
                    + (": every record must belong to a patient of the patients file." if severity == "error"
                       else ": their records are not used."))
    return unknown.to_numpy()
