"""The server process's long-lived objects, kept out of the garbage collector's full passes.

Streamlit runs a full collection (``gc.collect(2)``, option ``runner.postScriptGC``) after every script run, so
that a rerun's cyclic garbage (charts, frames) is freed at once. A full pass visits every tracked object: the
imported modules, Altair's Vega-Lite schema and its validators are about 170,000 of them here, and visiting them
cost 0.1–0.17 s of every rerun of every page on this machine (measured with ``gc.callbacks``). They live as long as
the process, so :func:`freeze_long_lived` moves them once into the permanent generation (``gc.freeze``); every
object made after it, such as a session's data and a rerun's charts, is collected as before.
"""
from __future__ import annotations

import gc
import threading

import altair as alt

_lock = threading.Lock()
_frozen = False


def freeze_long_lived() -> bool:
    """Once per process: load what every page run needs (Altair's schema validator), collect, then freeze.

    Returns True the one time it froze. Objects alive now that later become cyclic garbage would not be
    collected; at the first script run of a process they are the modules and a first session's few objects.
    """
    global _frozen
    with _lock:
        if _frozen:
            return False
        alt.Chart(alt.Data(values=[{"x": 0}])).mark_point().encode(x="x:Q").to_dict()  # loads the validator
        gc.collect()
        gc.freeze()
        _frozen = True
        return True
