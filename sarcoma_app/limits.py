"""The limits of an upload, defined once (pure: no streamlit).

The app is a public link: no visitor's file may cost the shared server more
than seconds of CPU or hundreds of MB. Every limit is checked *before* the
step it protects (a workbook's declared uncompressed sizes before it is
unpacked, the header's width before the rows are read, rows as the reader
walks them, empty ones included) and the file is refused with a message
naming the limit. The reader (:mod:`sarcoma_app.ingest.read` and the
modules it calls), the upload page,
``.streamlit/config.toml`` (``server.maxUploadSize``, checked by a test) and
the README's "Upload limits" paragraph (:func:`limits_markdown`) all state
these numbers.

Examples
--------
>>> LIMITS.file_mb.text
'size of each uploaded file: at most 10 MB'
>>> LIMITS.rows("patients").value
100000
"""
from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Limit:
    """One limit: its value, unit and what it bounds, in words."""

    value: int
    unit: str
    label: str

    @property
    def amount(self) -> str:
        """'10 MB', '100,000 rows'."""
        return f"{self.value:,} {self.unit}".strip()

    @property
    def text(self) -> str:
        """'size of each uploaded file: at most 10 MB'."""
        return f"{self.label}: at most {self.amount}"


@dataclass(frozen=True)
class UploadLimits:
    """Every limit of an uploaded file (see the module docstring)."""

    file_mb: Limit = Limit(10, "MB", "size of each uploaded file")
    uncompressed_mb: Limit = Limit(30, "MB", "size of a workbook once unpacked")
    compression_ratio: Limit = Limit(100, "to 1", "compression of a part of a workbook")
    workbook_parts: Limit = Limit(1_000, "parts", "parts (files inside the ZIP) of a workbook")
    patient_rows: Limit = Limit(100_000, "rows", "rows of the patients file (empty rows count)")
    adverse_event_rows: Limit = Limit(500_000, "rows", "rows of the adverse-events file (empty rows count)")
    assessment_rows: Limit = Limit(500_000, "rows", "rows of the tumour-assessments file (empty rows count)")
    columns: Limit = Limit(200, "columns", "columns of a file")
    cell_chars: Limit = Limit(500, "characters", "text of a cell or column name")
    distinct_values: Limit = Limit(1_000, "values", "different values of a grouping column (histology, site, "
                                                    "study, AE term)")
    time_months: Limit = Limit(1_200, "months (100 years)", "a time (PFS or assessment)")
    count: Limit = Limit(10_000, "", "a count without a range of its own (AEs, cycles, weeks)")
    percent_change: Limit = Limit(10_000, "%", "a change of the target lesions")
    binary_cells: Limit = Limit(1_000_000, "cells", "cells (rows × columns) of a SAS or Parquet file")

    def rows(self, role: str) -> Limit:
        """Row limit of a file by role (``patients``, ``adverse_events``, ``assessments``)."""
        return {"patients": self.patient_rows, "adverse_events": self.adverse_event_rows,
                "assessments": self.assessment_rows}[role]

    def all(self) -> tuple[Limit, ...]:
        """Every limit, in the order of the fields."""
        return tuple(getattr(self, f.name) for f in fields(self))


LIMITS = UploadLimits()
#: Parts of a workbook smaller than this are not checked for their compression ratio (bytes).
RATIO_CHECK_MIN_BYTES = 1 << 20


def limits_markdown() -> str:
    """The limits as a Markdown list (Upload page and README): '- size of each uploaded file: at most 10 MB'."""
    return "\n".join(f"- {limit.text[0].upper()}{limit.text[1:]}" for limit in LIMITS.all())


@dataclass(frozen=True)
class ScaleLimits:
    """How much of a data source a page may hold in the server's memory.

    A source of more than ``patients_counted`` patients is counted: the analysis pages get their tables from
    a DuckDB ``GROUP BY`` over the filtered rows instead of loading the patients (at 100,000 patients a
    Survival redraw then takes about 0.5 s instead of 0.7; see README "Registries at scale"). What reads each patient's row (the Patients page, a
    view's code and its CSV, tumour measurements) still loads a selection of up to ``patients_loaded``.
    """

    patients_loaded: Limit = Limit(200_000, "patients", "patients a page loads into the server's memory")
    patients_counted: Limit = Limit(50_000, "patients", "patients of a source whose pages load each patient "
                                                        "(a larger one is counted by the database)")
    #: a count table that does not compress the patients (nearly as many distinct times as patients) costs a Cox
    #: fit seconds per model: the Hazard ratios page then asks for a smaller selection
    cox_count_rows: Limit = Limit(200_000, "rows", "rows of a count table a Cox model is fitted from")
    #: every pair of up to 40 groups is a pass over its rows: beyond this the pairwise tests are not computed
    pairwise_count_rows: Limit = Limit(500_000, "rows", "rows of a count table pairwise log-rank tests are run on")


SCALE = ScaleLimits()


@dataclass(frozen=True)
class DeckLimits:
    """How large the tumour-board deck may grow, and how much of it a shared link may carry."""

    slides: Limit = Limit(40, "slides", "slides of the deck (in the session, a deck file or a link)")
    link_chars: Limit = Limit(8_000, "characters", "the deck in a link (its deck= parameter)")
    #: Each slide of a link is a page build and a chart render on the server (about 1 s of CPU each).
    link_slides: Limit = Limit(10, "slides", "slides a shared link carries and rebuilds")
    #: What the link's compressed deck may unpack to, checked while it is unpacked (a small link cannot
    #: unpack to a large text).
    link_unpacked_bytes: Limit = Limit(64 * 1024, "bytes", "the deck of a link once unpacked")


DECK = DeckLimits()
#: Slides a deck holds at most (the oldest are dropped beyond it).
MAX_DECK_SLIDES = DECK.slides.value
