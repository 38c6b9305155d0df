"""What every rerun of every page costs the server, kept small without losing a check:

* the long-lived objects are frozen out of Streamlit's full GC pass after each rerun, and a rerun's own cyclic
  garbage is still collected;
* Altair does not validate each schema object as it is made, and a chart is still validated whole when shown;
* a table's CSV is built when its button is pressed, not at each rerun.
"""
from __future__ import annotations

import gc
import weakref

import altair as alt
import pandas as pd
import pytest
from altair.utils import schemapi

from sarcoma_app.exports import downloads
from sarcoma_app.render import memory
from tests.apptest_helpers import run_app


class _Node:
    pass


def _unfreeze(monkeypatch):
    gc.unfreeze()
    monkeypatch.setattr(memory, "_frozen", False)
    assert gc.get_freeze_count() == 0


def test_the_app_freezes_the_long_lived_objects_once_per_process(monkeypatch):
    _unfreeze(monkeypatch)
    freezes = []
    real_freeze = gc.freeze
    monkeypatch.setattr(gc, "freeze", lambda: (freezes.append(1), real_freeze()))
    run_app()
    assert gc.get_freeze_count() > 10_000  # the modules and Altair's schema, at the least
    run_app()
    assert len(freezes) == 1  # a second session freezes nothing more
    assert memory.freeze_long_lived() is False


def test_garbage_made_after_the_freeze_is_still_collected(monkeypatch):
    _unfreeze(monkeypatch)
    assert memory.freeze_long_lived() is True
    node = _Node()
    node.self = node  # a cycle: only the collector frees it
    alive = weakref.ref(node)
    del node
    gc.collect(2)  # what Streamlit runs after each script run
    assert alive() is None


def test_a_full_pass_after_the_freeze_visits_far_fewer_objects(monkeypatch):
    _unfreeze(monkeypatch)
    import altair  # noqa: F401  (loaded, as in the app)
    before = len(gc.get_objects())
    memory.freeze_long_lived()
    assert len(gc.get_objects()) < before / 10


def test_charts_are_built_without_per_object_validation_and_still_validated_when_shown():
    from sarcoma_app.render import ui  # noqa: F401  (the app's rendering turns the debug mode off)

    assert schemapi.DEBUG_MODE is False
    wrong = alt.Chart(pd.DataFrame({"x": [1]})).mark_point(size="big").encode(x="x:Q")  # no error yet
    with pytest.raises(schemapi.SchemaValidationError):
        wrong.to_dict()  # what st.altair_chart calls


def test_a_pages_csv_downloads_are_built_only_when_pressed(monkeypatch):
    built = []
    real = downloads.csv_bytes
    monkeypatch.setattr(downloads, "csv_bytes", lambda frame: (built.append(len(frame)), real(frame))[1])
    at = run_app(page="pages/data-methods.py")
    assert len(at.get("download_button")) >= 5  # the page's tables have their CSV buttons
    assert built == []
