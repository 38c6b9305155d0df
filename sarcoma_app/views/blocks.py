"""The vocabulary of a page: what a view builder returns and :mod:`sarcoma_app.render.blocks` draws.

A page's work is a pure function from (patients, methods) to a list of blocks. Text in blocks is Markdown
written by the project; any data value inside it is escaped by the builder
(:func:`sarcoma_app.text.escape_markdown`). Choices describe the controls a page offers, each already
resolved against what the data can answer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal, Sequence, Union

import altair as alt
import pandas as pd

from sarcoma_app.exports.snippets import Snippet


@dataclass(frozen=True)
class Heading:
    """A section title (``st.subheader``)."""

    text: str


@dataclass(frozen=True)
class Note:
    """A sentence for the reader: ``caption`` (grey), ``info``, ``warning`` or plain ``markdown``."""

    text: str
    kind: Literal["caption", "info", "warning", "markdown"] = "caption"
    icon: str | None = None


@dataclass(frozen=True)
class Chart:
    """An Altair chart with PNG and SVG downloads; ``title`` heads the downloaded figure."""

    chart: alt.TopLevelMixin
    name: str
    title: str
    caption: str = ""


@dataclass(frozen=True)
class Table:
    """A table with a CSV download. ``download`` is the whole table when ``frame`` shows only part of it;
    ``styler`` styles the shown frame (a function of it)."""

    frame: pd.DataFrame
    name: str
    caption: str = ""
    column_config: dict | None = None
    download: pd.DataFrame | None = None
    styler: Callable[[pd.DataFrame], object] | None = None
    height: int | str = "auto"


@dataclass(frozen=True)
class Pick:
    """A control of the page itself, not of the view state (nor the URL), drawn where it stands.

    The page reads its value with ``sarcoma_app.render.blocks.picked(key)`` before building (None before
    the first change); the builder resolves it against ``options`` into ``value`` (what the blocks show).
    ``kind`` is ``select``, ``segmented`` (``options``) or ``toggle`` (``value`` a bool).
    """

    key: str
    label: str
    options: tuple = ()
    value: object = None
    format: Callable[[object], str] = str
    help: str | None = None
    kind: Literal["select", "segmented", "toggle"] = "select"
    disabled: bool = False


Part = Union[Heading, Note, Chart, Table, Pick]


@dataclass(frozen=True)
class SlideFallback:
    """What a view's slide shows when its chart cannot have all its text at 14 pt on a slide.

    ``chart`` (or None: no chart) replaces the view's chart; ``table``, if any, goes on slides of its own,
    headed ``name`` (the slide's table when the view has none); ``note``, if any, says so on the slide.
    """

    chart: alt.TopLevelMixin | None
    table: pd.DataFrame | None = None
    name: str = ""
    note: str = ""


@dataclass(frozen=True)
class View:
    """One analysis shown once: its parts in order, then 'Show the code' and 'Add to deck'.

    The slide takes the first chart and the first table of ``parts``; ``n_text`` and ``methods_text`` go
    into its footnote (defaults: the number of ``patients``; the method choices).

    Parameters
    ----------
    key : str
        Stable, unique widget key prefix.
    title : str
        Slide title.
    parts : sequence of Heading, Note, Chart, Table
    patients : DataFrame, optional
        The patients behind the view (CSV of the code, source of the footnote).
    code : Snippet, optional
    n_text, methods_text, caption : str, optional
        Footnote and slide caption.
    data_files : dict, optional
        File name -> table the code reads besides the patients.
    tools : bool
        False for a view without deck or code tools.
    result : object, optional
        The analysis result the view shows (its unformatted numbers, for tests and the code's check).
    slide_table : DataFrame, optional
        The table of the slide when it is not among ``parts`` (e.g. the counts behind a chart).
    slide_fallback : SlideFallback or callable, optional
        The slide's chart and table when the chart cannot reach 14 pt on a slide (e.g. a KM plot whose risk
        table of many groups goes on slides of its own); or a function of no arguments returning it, called
        only when a slide needs it (a fallback chart costs as much to build as the view's own).
    code_view : callable, optional
        A view of a counted page, without ``code``: returns the same view built from each patient (its
        ``code``, ``patients`` and ``data_files``), or why it cannot be built (Markdown); called only when
        "Show the code" is opened.
    """

    key: str
    title: str
    parts: Sequence[Part]
    patients: pd.DataFrame | None = None
    code: Snippet | None = None
    n_text: str | None = None
    methods_text: str | None = None
    caption: str = ""
    data_files: dict[str, pd.DataFrame] = field(default_factory=dict)
    tools: bool = True
    result: object = None
    slide_table: pd.DataFrame | None = None
    slide_fallback: SlideFallback | Callable[[], SlideFallback] | None = None
    code_view: Callable[[], "View | str"] | None = None

    @property
    def chart(self) -> Chart | None:
        return next((p for p in self.parts if isinstance(p, Chart)), None)

    @property
    def table(self) -> Table | None:
        return next((p for p in self.parts if isinstance(p, Table)), None)


@dataclass(frozen=True)
class Expander:
    """Blocks folded under a label."""

    label: str
    blocks: Sequence["Block"]
    icon: str | None = None


@dataclass(frozen=True)
class Controls:
    """Choices drawn where they stand among the blocks (a control that belongs to one section of the page,
    not to the row at its top). Their values are already resolved (``Choice.value``), so the builder uses
    them; the renderer binds the widgets to the view state."""

    choices: Sequence["Choice"]


@dataclass(frozen=True)
class Metric:
    """A headline number (``st.metric``) with an optional caption under it."""

    label: str
    value: object
    caption: str = ""
    help: str | None = None


@dataclass(frozen=True)
class Metrics:
    """Numbers side by side, one column each."""

    items: Sequence[Metric]


@dataclass(frozen=True)
class Columns:
    """Blocks side by side: one sequence of blocks per column (``border`` draws each in a box)."""

    columns: Sequence[Sequence["Block"]]
    border: bool = False


@dataclass(frozen=True)
class Tabs:
    """Blocks under tabs: (label, blocks) per tab."""

    tabs: Sequence[tuple[str, Sequence["Block"]]]


@dataclass(frozen=True)
class PageLink:
    """A link to another page of the app (``page`` its script path)."""

    page: str
    label: str
    icon: str | None = None


@dataclass(frozen=True)
class Card:
    """A bordered box: a title (data text escaped), a caption and metrics side by side."""

    title: str
    metrics: Sequence[Metric]
    caption: str = ""


@dataclass(frozen=True)
class Cards:
    """Cards side by side, ``columns`` to a row."""

    cards: Sequence[Card]
    columns: int = 2


#: What a builder returns (a control inside the page is a :class:`Controls` block).
Block = Union[Heading, Note, Chart, Table, View, Expander, Controls, Pick, Metrics, Columns, Tabs, PageLink, Cards]


@dataclass(frozen=True)
class Choice:
    """A control of a page, resolved against the data.

    ``value`` is what the view uses: the state's value when ``options`` have it, otherwise the first
    option, with ``note`` saying why. ``kind`` is ``select``, ``multiselect`` or ``text`` (``to_text`` and
    ``parse`` convert a text choice; ``parse`` returns None for text it does not understand, and the
    page then says so with ``invalid_hint``).
    """

    field: str
    label: str
    options: tuple = ()
    value: object = None
    format: Callable[[object], str] = str
    help: str | None = None
    kind: Literal["select", "multiselect", "text"] = "select"
    note: str | None = None
    to_text: Callable[[object], str] | None = None
    parse: Callable[[str], object] | None = None
    invalid_hint: str | None = None



def resolve(wanted: object, options: Sequence, format: Callable[[object], str] = str) -> tuple[object, str | None]:
    """The option a view uses for ``wanted``, and the note when it had to fall back to the first option."""
    if wanted in options or not options:
        return wanted, None
    used = options[0]
    return used, (f"“{format(wanted)}” cannot be shown here (not recorded, or a single value, among these "
                  f"patients): showing “{format(used)}”.")


def blocks_text(blocks: Sequence[Block]) -> str:
    """Every text of ``blocks`` (headings, notes, captions, table cells) as one string, for tests."""
    out: list[str] = []

    def walk(items) -> None:
        for item in items:
            if isinstance(item, (Heading, Note)):
                out.append(item.text)
            elif isinstance(item, Chart):
                out.extend([item.title, item.caption])
            elif isinstance(item, Table):
                out.append(item.caption)
                out.append(item.frame.to_csv(index=False))
            elif isinstance(item, View):
                walk(item.parts)
            elif isinstance(item, Expander):
                out.append(item.label)
                walk(item.blocks)
            elif isinstance(item, Controls):
                for choice in item.choices:
                    out.extend([choice.label, ", ".join(choice.format(o) for o in choice.options), choice.note or ""])
            elif isinstance(item, (Pick, PageLink)):
                out.append(item.label)
            elif isinstance(item, Metrics):
                out.extend(f"{metric.label}: {metric.value}" for metric in item.items)
            elif isinstance(item, Columns):
                for column in item.columns:
                    walk(column)
            elif isinstance(item, Tabs):
                for label, tab in item.tabs:
                    out.append(label)
                    walk(tab)
            elif isinstance(item, Cards):
                for card in item.cards:
                    out.extend([card.title, card.caption])
                    out.extend(f"{m.label}: {m.value}\n{m.caption}" for m in card.metrics)

    walk(blocks)
    return "\n".join(t for t in out if t)


def views_of(blocks: Sequence[Block]) -> list[View]:
    """The views among ``blocks`` (inside expanders too), in order."""
    found: list[View] = []
    for item in blocks:
        if isinstance(item, View):
            found.append(item)
        elif isinstance(item, Expander):
            found.extend(views_of(item.blocks))
        elif isinstance(item, Columns):
            for column in item.columns:
                found.extend(views_of(column))
        elif isinstance(item, Tabs):
            for _, tab in item.tabs:
                found.extend(views_of(tab))
    return found


def picks_of(blocks: Sequence[Block]) -> dict[str, Pick]:
    """The page's own controls among ``blocks`` (inside views, expanders, columns and tabs), by key."""
    found: dict[str, Pick] = {}

    def walk(items) -> None:
        for item in items:
            if isinstance(item, Pick):
                found[item.key] = item
            elif isinstance(item, View):
                walk(item.parts)
            elif isinstance(item, Expander):
                walk(item.blocks)
            elif isinstance(item, Columns):
                for column in item.columns:
                    walk(column)
            elif isinstance(item, Tabs):
                for _, tab in item.tabs:
                    walk(tab)

    walk(blocks)
    return found
