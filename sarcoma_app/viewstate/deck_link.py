"""The tumour-board deck in a link: a list of view references <-> the ``deck`` query parameter (pure).

A slide of a shared link is not its picture but the way back to it: the
page, the view's key, the filters and methods that differ from the defaults
(the same words as the link's own parameters, :func:`~sarcoma_app.viewstate.url_state.to_query`),
the page's own picks (e.g. the histology of *Subtype across studies*) and the
data source. The app rebuilds the slide by running the page's view builder
with them (:mod:`sarcoma_app.render.deck_link`).

Encoding: ``deck=1.<base64url of the zlib-compressed JSON list>``. The
leading ``1`` is the format's version. Reading never raises: a link longer
than :data:`~sarcoma_app.limits.DECK` allows, not of this version, not
decodable, or unpacking to more than its bound is ignored as a whole; a
slide with an unknown page or view key, a malformed entry or a data source
that cannot be shared is left out; a filter or method value not allowed is
dropped by :func:`~sarcoma_app.viewstate.url_state.parse_query` - each with a
:class:`~sarcoma_app.viewstate.url_state.Notice` naming what was ignored.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

from sarcoma_app.limits import DECK, MAX_DECK_SLIDES
from sarcoma_app.viewstate.url_state import (
    DECK_PARAM, DEFAULT_SOURCE, MAX_NOTICES, MAX_VALUE_LENGTH, SOURCES, UPLOADED_SOURCE, AllowedValues, Notice, ViewState, parse_query,
    shorten, to_query,
)

#: Version of the encoding (the text before the first dot).
DECK_LINK_VERSION = "1"
#: Page ids and view keys are short snake_case words.
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")
#: Picks a slide may carry, and values a query of one slide may have.
MAX_PICKS = 4
MAX_TITLE_CHARS = 80
MAX_QUERY_ITEMS = 40
#: Data sources a link can rebuild a slide from (an upload stays in the session that made it).
SHAREABLE_SOURCES = tuple(source for source in SOURCES if source != UPLOADED_SOURCE)


@dataclass(frozen=True)
class SlideRef:
    """The way back to one slide: page id, view key, view state (filters, methods, source) and page picks.

    ``state.present`` is never used; ``picks`` are ``(key, value)`` pairs of the page's own controls
    (:class:`sarcoma_app.views.blocks.Pick`), which the page's builder resolves against the data.
    """

    page: str
    view: str
    state: ViewState = ViewState()
    picks: tuple[tuple[str, str | bool], ...] = ()
    #: The slide's title, only to name it when it cannot be rebuilt (plain text, never interpreted).
    title: str = ""

    @property
    def label(self) -> str:
        """'“Log-rank test” (survival / survival_logrank)', for messages."""
        return (f"“{self.title}” " if self.title else "") + f"({self.page} / {self.view})"


def _record(ref: SlideRef) -> dict:
    record: dict = {"p": ref.page, "v": ref.view}
    if ref.title:
        record["t"] = shorten(ref.title, MAX_TITLE_CHARS)
    query = to_query(replace(ref.state, present=False, source=DEFAULT_SOURCE))
    if query:
        record["q"] = query
    if ref.picks:
        record["k"] = {key: value for key, value in ref.picks}
    if ref.state.source != DEFAULT_SOURCE:
        record["s"] = ref.state.source
    return record


def encode_deck(refs: Sequence[SlideRef]) -> str:
    """The ``deck`` parameter for ``refs`` ('' for an empty deck; the first :data:`MAX_DECK_SLIDES` only).

    Slides of an uploaded cohort cannot be shared and are left out (:func:`shareable`).
    """
    records = [_record(ref) for ref in refs if shareable(ref)][:MAX_DECK_SLIDES]
    if not records:
        return ""
    text = json.dumps(records, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    packed = base64.urlsafe_b64encode(zlib.compress(text, 9)).decode("ascii").rstrip("=")
    return f"{DECK_LINK_VERSION}.{packed}"


def shareable(ref: SlideRef) -> bool:
    """True when a link can rebuild the slide (its data are not an upload of one session)."""
    return ref.state.source in SHAREABLE_SOURCES


def fits_in_link(refs: Sequence[SlideRef]) -> bool:
    """True when the deck's parameter is within :data:`~sarcoma_app.limits.DECK` ``link_chars``."""
    return len(encode_deck(refs)) <= DECK.link_chars.value


def _unpack(text: str) -> object:
    """The JSON of a deck parameter, or a ``ValueError`` saying why not (bounded work)."""
    version, dot, packed = text.partition(".")
    if not dot or version != DECK_LINK_VERSION:
        raise ValueError(f"not a deck of this app (version “{shorten(version, 10)}”; this app reads version "
                         f"{DECK_LINK_VERSION})")
    if not _BASE64URL.match(packed):
        raise ValueError("not a deck of this app (it has characters a deck never has)")
    try:
        compressed = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))
        unpacker = zlib.decompressobj()
        unpacked = unpacker.decompress(compressed, DECK.link_unpacked_bytes.value)
    except (binascii.Error, ValueError, zlib.error):
        raise ValueError("not a deck of this app (it cannot be decoded)") from None
    if unpacker.unconsumed_tail:
        raise ValueError(f"it unpacks to more than {DECK.link_unpacked_bytes.amount}")
    try:
        return json.loads(unpacked.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError("not a deck of this app (it is not a list of slides)") from None


def _query_of(value: object) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_QUERY_ITEMS:
        raise ValueError("its filters and methods are not a list of link parameters")
    query: dict[str, object] = {}
    for name, item in value.items():
        items = item if isinstance(item, list) else [item]
        if not all(isinstance(piece, str) for piece in items):
            raise ValueError(f"its parameter “{shorten(name, 40)}” is not text")
        query[name] = item
    return query


def _picks_of(value: object) -> tuple[tuple[str, str | bool], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict) or len(value) > MAX_PICKS:
        raise ValueError(f"its page choices are not at most {MAX_PICKS} named values")
    picks = []
    for key, item in value.items():
        if not _KEY.match(key) or not (isinstance(item, bool) or isinstance(item, str)
                                       and len(item) <= MAX_VALUE_LENGTH):
            raise ValueError(f"its page choice “{shorten(key, 40)}” is not a short text or yes/no")
        picks.append((key, item))
    return tuple(picks)


def _slide(record: object, allowed: AllowedValues, pages: Sequence[str], number: int,
           notices: list[Notice]) -> SlideRef | None:
    if not isinstance(record, dict):
        raise ValueError("it is not a slide")
    page, view = record.get("p"), record.get("v")
    if not isinstance(page, str) or page not in pages:
        raise ValueError(f"the page “{shorten(str(page), 40)}” is not a page with slides")
    if not isinstance(view, str) or not _KEY.match(view):
        raise ValueError(f"the view “{shorten(str(view), 40)}” is not a view key")
    source = record.get("s", DEFAULT_SOURCE)
    if source not in SHAREABLE_SOURCES:
        raise ValueError(f"its data source “{shorten(str(source), 40)}” cannot be opened from a link"
                         + (" (an uploaded cohort stays in the browser session that uploaded it; its deck file "
                            "carries its slides)" if source == UPLOADED_SOURCE else ""))
    title = record.get("t", "")
    if not isinstance(title, str) or len(title) > MAX_TITLE_CHARS:
        raise ValueError(f"its title is not a text of at most {MAX_TITLE_CHARS} characters")
    query, picks = _query_of(record.get("q")), _picks_of(record.get("k"))
    for reserved in ("source", "present", DECK_PARAM):
        query.pop(reserved, None)
    state, ignored = parse_query(query, allowed)
    title = shorten(title, MAX_TITLE_CHARS)  # control characters out
    notices.extend(Notice(DECK_PARAM, f"slide {number} " + (f"“{title}” " if title else "") + f"({page} / {view})",
                          f"{notice.parameter}{' = “' + notice.value + '”' if notice.value else ''} ignored: "
                          f"{notice.reason}")
                   for notice in ignored)
    return SlideRef(page, view, replace(state, present=False, source=source), picks, title)


def decode_deck(raw: object, allowed: AllowedValues, pages: Sequence[str]) -> tuple[list[SlideRef], list[Notice]]:
    """The slides of a ``deck`` parameter, and what was ignored (never raises).

    Parameters
    ----------
    raw : str or list of str
        The parameter's value (the last one counts when it is repeated).
    allowed : AllowedValues
        Values the filters accept (as for the link's own filters).
    pages : sequence of str
        Page ids that have slides.

    Returns
    -------
    (list of SlideRef, list of Notice)
        At most :data:`MAX_DECK_SLIDES` slides, in order.
    """
    values = raw if isinstance(raw, (list, tuple)) else [raw]
    text = str(values[-1]).strip() if values and values[-1] is not None else ""
    if not text:
        return [], []
    if len(text) > DECK.link_chars.value:
        return [], [Notice(DECK_PARAM, f"{len(text):,} characters", f"longer than {DECK.link_chars.amount}; "
                                                                    "the deck of the link was ignored")]
    try:
        records = _unpack(text)
    except ValueError as error:
        return [], [Notice(DECK_PARAM, shorten(text, 30), f"{error}; the deck of the link was ignored")]
    if not isinstance(records, list):
        return [], [Notice(DECK_PARAM, shorten(text, 30), "not a list of slides; the deck of the link was ignored")]
    notices: list[Notice] = []
    if len(records) > MAX_DECK_SLIDES:
        notices.append(Notice(DECK_PARAM, f"{len(records):,} slides",
                              f"a deck holds at most {DECK.slides.amount}; the first {MAX_DECK_SLIDES} were kept"))
    refs = []
    for number, record in enumerate(records[:MAX_DECK_SLIDES], start=1):
        try:
            ref = _slide(record, allowed, pages, number, notices)
        except ValueError as error:
            notices.append(Notice(DECK_PARAM, f"slide {number}", f"left out: {error}"))
            continue
        refs.append(ref)
    if len(notices) > MAX_NOTICES:
        hidden = len(notices) - MAX_NOTICES + 1
        notices = notices[: MAX_NOTICES - 1] + [Notice(DECK_PARAM, f"{hidden:,} more", "further values of the "
                                                                                      "deck ignored as well")]
    return refs, notices


def deck_param(params: Mapping[str, object]) -> object:
    """The raw ``deck`` value of query parameters (None when absent; never raises)."""
    try:
        return params.get(DECK_PARAM)
    except Exception:  # noqa: BLE001 - a hostile mapping
        return None
