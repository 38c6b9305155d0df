"""Study facts shown in pages come from the ``studies`` table, not from page code."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from data.build import ensure_database
from data.studies import bundled_study_labels
from sarcoma_app.text import study_label

ROOT = Path(__file__).resolve().parents[1]
#: Words that name a bundled study's treatment: page and view code must take them from the data.
REGIMEN_WORDS = re.compile(r"nivolumab|pazopanib \+|sintilimab|nab-paclitaxel", re.IGNORECASE)


def studies():
    with duckdb.connect(str(ensure_database()), read_only=True) as con:
        return con.execute("SELECT study_id, short_label, regimen FROM studies ORDER BY study_id").df()


def test_study_labels_are_the_studies_table():
    table = studies()
    assert len(table) == 2 and table["short_label"].notna().all()
    assert bundled_study_labels() == dict(zip(table["study_id"], table["short_label"]))
    for row in table.itertuples():
        assert study_label(row.study_id) == row.short_label


def test_a_study_without_a_label_is_shown_by_its_id():
    assert study_label("my_registry_2025") == "my_registry_2025"
    assert "not real patients" in study_label("simulated_1k")


@pytest.mark.parametrize("folder", ["pages", "sarcoma_app/views", "sarcoma_app/render"])
def test_no_page_names_a_study_in_code(folder):
    """A regimen in page code would be wrong for every other data source (and a second definition)."""
    offenders = {}
    for path in sorted((ROOT / folder).glob("*.py")):
        lines = [n for n, line in enumerate(path.read_text().splitlines(), 1) if REGIMEN_WORDS.search(line)]
        if lines:
            offenders[path.name] = lines
    assert offenders == {}
