"""The bundled studies' display names, read from the source of the ``studies`` table (one definition).

Read with the csv module (no pandas): the labels are needed by light modules at import.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

STUDIES_CSV = Path(__file__).resolve().parent / "sources" / "studies.csv"


@lru_cache(maxsize=1)
def _labels() -> tuple[tuple[str, str], ...]:
    with STUDIES_CSV.open(newline="", encoding="utf-8") as handle:
        return tuple((row["study_id"], row["short_label"]) for row in csv.DictReader(handle) if row["short_label"])


def bundled_study_labels() -> dict[str, str]:
    """study_id -> short display name of each bundled study that has one (``studies.short_label``)."""
    return dict(_labels())
