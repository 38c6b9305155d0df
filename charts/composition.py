"""Layered and concatenated charts without Altair's copies of subcharts that carry no parameters.

Altair 6.3 lifts selection parameters out of the subcharts of ``alt.layer``, ``alt.hconcat`` and ``alt.vconcat``
(``_remove_duplicate_params``, ``_combine_subchart_params``) and deep-copies every subchart to do so, whether or
not any has a parameter. The copy rebuilds each schema object through its constructor, and a compound chart is
rebuilt again (with the same copies) by every ``copy(deep=False)``, which ``to_dict()`` and ``.properties()``
make. The app's charts have no parameters: those copies were a quarter of a Hazard ratios redraw here (two
forest plots and a faceted residual plot; 0.82–0.86 s → 0.64–0.66 s per rerun, 100,000 patients).

:func:`install` wraps the two functions so that subcharts without parameters, at any depth, are passed through
as they are, which is what the two functions return for them apart from the copy; a chart with a parameter or
a view name anywhere goes through Altair's own code. Altair never mutates the subcharts it is given here
(``_remove_layer_props`` copies before it removes a property). tests/test_chart_composition.py checks that every
chart the pages show converts to the same spec with and without it, and that parameters are still lifted.

The price: a compound chart holds the caller's subcharts themselves, not copies, so changing a subchart in place
afterwards (``chart.mark = ...``, ``chart.layer.append(...)``, ``chart += other`` on a chart already composed)
changes every chart it went into. Altair's chainable methods (``.properties()``, ``.encode()``, ``+``, ``|``,
``&``) return copies and are safe; the modules of charts/ use only those, which the same tests check.
"""
from __future__ import annotations

from altair.utils import schemapi
from altair.vegalite.v6 import api

_SUBCHART_KEYS = ("layer", "hconcat", "vconcat", "concat", "spec")
_altair_combine = api._combine_subchart_params
_altair_remove_duplicates = api._remove_duplicate_params


def has_params(chart) -> bool:
    """Whether ``chart`` or any chart inside it (layers, concatenations, a facet's spec) declares parameters or
    a view name (which Altair renames when it concatenates)."""
    if not isinstance(chart, schemapi.SchemaBase):
        return False
    kwds = chart._kwds
    if any(not schemapi.is_undefined(kwds.get(key, schemapi.Undefined)) for key in ("params", "name")):
        return True
    for key in _SUBCHART_KEYS:
        inner = kwds.get(key, schemapi.Undefined)
        if isinstance(inner, list):
            if any(has_params(sub) for sub in inner):
                return True
        elif has_params(inner):
            return True
    return False


def _combine_subchart_params(params, subcharts):
    if schemapi.is_undefined(params) and not any(has_params(sub) for sub in subcharts):
        return params, list(subcharts)
    return _altair_combine(params, subcharts)


def _remove_duplicate_params(layer):
    if not any(has_params(sub) for sub in layer):
        return list(layer)
    return _altair_remove_duplicates(layer)


def install() -> None:
    """Use the pass-through versions in Altair's compound charts (idempotent)."""
    api._combine_subchart_params = _combine_subchart_params
    api._remove_duplicate_params = _remove_duplicate_params


def uninstall() -> None:
    """Altair's own versions again (the tests compare both)."""
    api._combine_subchart_params = _altair_combine
    api._remove_duplicate_params = _altair_remove_duplicates
