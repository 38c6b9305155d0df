"""Simulated sources are shared read-only across sessions: no per-session copy, no page mutates them.

Memory per extra session is measured by ``bench/hostile_inputs.py --cases sessions``; here the
mechanism is checked: a second session gets the very same cached objects, keeps no copy of the
table in its own state, and a run of every page leaves the shared frames unchanged.
"""
from __future__ import annotations

import pandas as pd
import pytest

from sarcoma_app.sources import cohort, filter_sql
from tests.apptest_helpers import run_app

SOURCE = "simulated-1k"
PAGES = ["pages/overview.py", "pages/response.py", "pages/survival.py", "pages/hazard-ratios.py",
         "pages/adverse-events.py", "pages/patients.py", "pages/subtype.py", "pages/published.py",
         "pages/data-methods.py"]


def frames_in_session(at) -> list[pd.DataFrame]:
    """Every DataFrame a session keeps in its state (directly or in a dict, like a query memo)."""
    found = []
    for key in list(at.session_state.keys()):
        value = at.session_state[key]
        values = value.values() if isinstance(value, dict) else [value]
        found += [v for v in values if isinstance(v, pd.DataFrame)]
    return found


def fingerprint(frame: pd.DataFrame) -> tuple:
    return (tuple(frame.columns), tuple(map(str, frame.dtypes)), len(frame),
            int(pd.util.hash_pandas_object(frame, index=True).sum()))


def test_a_second_session_reuses_the_shared_table():
    first = run_app({"source": SOURCE})
    table = cohort.shared_result(SOURCE, filter_sql.ALL_PATIENTS_SQL, ())
    connection = cohort.simulated_connection(SOURCE)
    second = run_app({"source": SOURCE})
    assert cohort.shared_result(SOURCE, filter_sql.ALL_PATIENTS_SQL, ()) is table
    assert cohort.simulated_connection(SOURCE) is connection
    assert len(table) == cohort.SIMULATED_SIZES[SOURCE]
    for session in (first, second):  # no session holds its own copy of the patients
        assert not [f for f in frames_in_session(session) if len(f) >= len(table)]
        assert cohort.MEMO_KEY not in session.session_state


@pytest.mark.parametrize("page", PAGES)
def test_a_page_run_does_not_mutate_the_shared_frames(page):
    at = run_app({"source": SOURCE, "pazopanib": "yes"})
    shared = {key: cohort.shared_result(*key) for key in [(SOURCE, filter_sql.ALL_PATIENTS_SQL, ())]}
    before = {key: fingerprint(frame) for key, frame in shared.items()}
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    evaluable = [t for t in at.sidebar.toggle if t.label.startswith("Evaluable")]
    assert evaluable
    evaluable[0].set_value(True).run()  # and a filter change on it
    assert not at.exception, [e.value for e in at.exception]
    after = {key: fingerprint(frame) for key, frame in shared.items()}
    assert after == before
    assert all(cohort.shared_result(*key) is frame for key, frame in shared.items())
