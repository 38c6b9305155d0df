"""The server's long-lived objects are frozen out of Streamlit's full GC pass after each rerun; a rerun's own
cyclic garbage is still collected."""
from __future__ import annotations

import gc
import weakref

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
