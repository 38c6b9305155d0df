"""House theme for every chart: large type for a tumour-board screen, Okabe-Ito colours.

Registered and enabled once, on import of :mod:`charts`. The theme is merged
into each spec by Altair's ``to_dict()``, so the app (``theme=None``) and the
PNG/SVG exports look the same.
"""
from __future__ import annotations

import altair as alt

THEME_NAME = "sarcoma_house"
FONT = "'Source Sans Pro', 'Liberation Sans', Arial, Helvetica, sans-serif"

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "grey": "#999999",
}
#: Fixed colours of the RECIST categories (same in every chart).
RESPONSE_COLOURS = {
    "CR": OKABE_ITO["blue"],
    "PR": OKABE_ITO["sky_blue"],
    "SD": OKABE_ITO["orange"],
    "PD": OKABE_ITO["vermillion"],
    "NE": OKABE_ITO["grey"],
}
RESPONSE_ORDER = ("CR", "PR", "SD", "PD", "NE")
#: Categorical palette for groups (response colours are kept for responses).
GROUP_PALETTE = [
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["orange"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["black"],
    OKABE_ITO["grey"],  # instead of yellow, which is too light for lines on white
]
LABEL_SIZE = 15
TITLE_SIZE = 17


#: Pixels per character of text at the house label size (the text panel beside a forest plot).
TEXT_PX_PER_CHAR = 8.2


def text_panel_width(texts, minimum: int = 200) -> int:
    """Width in pixels of a text panel holding the longest of ``texts`` (a pandas Series) at the label size,
    so annotations never run off the chart's right edge."""
    longest = int(texts.astype(str).str.len().max()) if len(texts) else 0
    return int(max(minimum, longest * TEXT_PX_PER_CHAR + 12))


def resolved(**scales: str) -> alt.Resolve:
    """How a compound chart resolves its scales (``y="shared"``), to pass as its ``resolve=``: the same
    specification as ``.resolve_scale(...)``, without the deep copy of the whole chart that method makes."""
    return alt.Resolve(scale=alt.ScaleResolveMap(**scales))


def response_scale() -> alt.Scale:
    """Colour scale with the fixed RECIST colours."""
    return alt.Scale(domain=list(RESPONSE_ORDER), range=[RESPONSE_COLOURS[r] for r in RESPONSE_ORDER])


@alt.theme.register(THEME_NAME, enable=True)
def house_theme() -> alt.theme.ThemeConfig:
    """Large, plain, colour-blind-safe defaults."""
    axis = {
        "labelFontSize": LABEL_SIZE,
        "titleFontSize": TITLE_SIZE,
        "titleFontWeight": "normal",
        "labelColor": "#222222",
        "titleColor": "#222222",
        "gridColor": "#e6e6e6",
        "domainColor": "#888888",
        "tickColor": "#888888",
        "labelLimit": 320,
    }
    return {
        "config": {
            "font": FONT,
            "background": "white",
            "padding": 8,
            "axis": axis,
            "legend": {
                "labelFontSize": LABEL_SIZE,
                "titleFontSize": TITLE_SIZE,
                "titleFontWeight": "normal",
                "symbolSize": 160,
                "labelLimit": 320,
                "orient": "bottom",
                "direction": "horizontal",
                "columns": 4,
            },
            "header": {"labelFontSize": TITLE_SIZE, "titleFontSize": TITLE_SIZE, "labelFontWeight": "bold"},
            "title": {"fontSize": 20, "anchor": "start", "fontWeight": "bold", "subtitleFontSize": 15,
                      "subtitleColor": "#444444"},
            "text": {"fontSize": LABEL_SIZE, "font": FONT},
            "mark": {"font": FONT},
            "range": {"category": GROUP_PALETTE},
            "view": {"stroke": None},
            "line": {"strokeWidth": 3},
            "point": {"size": 90, "filled": True},
        }
    }
