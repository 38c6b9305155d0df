"""CSV downloads carry numbers: estimates with CIs, k/n counts and numbers printed as text become numeric
columns beside the formatted text."""
from __future__ import annotations

import io
import math

import pandas as pd

from sarcoma_app.exports import downloads
from sarcoma_app.views import response
from sarcoma_app.views.blocks import views_of
from sarcoma_app.viewstate.url_state import FilterState, MethodState
from tests.test_snippets import load_patients


def read_back(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(downloads.csv_bytes(downloads.with_numbers(frame))), encoding="utf-8-sig")


def test_rates_with_ci_counts_and_plain_numbers_become_numeric_columns():
    shown = pd.DataFrame({
        "Group": ["Angiosarcoma", "All"],
        "Patients": ["5", "1,234"],
        "ORR n/N": ["3/5", "7/28"],
        "ORR % (95% CI)": ["60.0% (14.7–94.7)", "25.0% (10.7–44.9)"],
        "Median, months (95% CI)": ["2.25 (1.80–NR)", "NR (1.50–NR)"],
        "p": ["0.012", "–"],
        "Note": ["only 5 patients", ""],
    })
    back = read_back(shown)
    assert list(back.columns[:9]) == ["Group", "Patients", "ORR n/N", "ORR n/N: n", "ORR n/N: N", "ORR % (95% CI)",
                                      "ORR % (95% CI): estimate", "ORR % (95% CI): lower", "ORR % (95% CI): upper"]
    assert back["ORR % (95% CI)"].tolist() == shown["ORR % (95% CI)"].tolist()  # the text stays beside them
    assert back["ORR % (95% CI): estimate"].tolist() == [60.0, 25.0]
    assert back["ORR % (95% CI): upper"].tolist() == [94.7, 44.9]
    assert back["ORR n/N: n"].tolist() == [3, 7] and back["ORR n/N: N"].tolist() == [5, 28]
    assert back["Patients"].tolist() == [5, 1234]
    assert back["Median, months (95% CI): estimate"].iloc[0] == 2.25
    assert math.isnan(back["Median, months (95% CI): upper"].iloc[0])  # not reached: empty, never a number
    assert back["p"].iloc[0] == 0.012 and math.isnan(back["p"].iloc[1])
    assert back["Note"].iloc[0] == "only 5 patients"  # text stays text


def test_mixed_column_stays_text():
    shown = pd.DataFrame({"Value": ["7/28", "50.0% (30.6–69.4)", "Nab-paclitaxel"]})
    assert list(downloads.with_numbers(shown).columns) == ["Value"]


def test_response_table_download_has_the_rates_as_numbers():
    patients = load_patients(FilterState())
    view = {v.key: v for v in views_of(response.build(patients, MethodState()))}["response_table"]
    back = read_back(view.table.frame)
    numeric = [c for c in back.columns if c.endswith(": estimate")]
    assert numeric and all(pd.api.types.is_float_dtype(back[c]) for c in numeric)
    assert any(c.endswith(": n") and pd.api.types.is_integer_dtype(back[c]) for c in back.columns)


def test_table_columns_are_wide_enough_for_their_header_and_short_cells():
    from sarcoma_app.render.ui import column_widths
    frame = pd.DataFrame({"p adjusted (BH)": ["0.17"], "DCR % (95% CI)": ["50.0% (30.6–69.4)"],
                          "Why": ["x" * 300], "n": [1]})
    config = column_widths(frame, {"n": {"width": "small"}})
    assert config["n"] == {"width": "small"}  # a width the view chose is kept
    assert config["p adjusted (BH)"]["width"] >= len("p adjusted (BH)") * 8
    assert "DCR % (95% CI)" not in config and "Why" not in config  # cells longer than the header: sized by the grid


def test_thousands_format_skips_empty_and_all_missing_integer_columns():
    """A nullable integer column with no value (an upload's unrecorded ages) has NA as its maximum."""
    from sarcoma_app.render.ui import _with_thousands
    frame = pd.DataFrame({"age": pd.array([None, None], dtype="Int64"), "n": pd.array([1200, None], dtype="Int64")})
    config = _with_thousands(frame, {"age": {"label": "Age"}, "n": {"label": "n"}})
    assert config["age"] == {"label": "Age"}
    assert _with_thousands(frame.iloc[:0], {"n": {"label": "n"}}) == {"n": {"label": "n"}}
    assert config["n"] != {"label": "n"}  # 1,200 is shown with a separator


def test_thousands_format_reaches_columns_the_view_did_not_configure():
    """The risk table's first columns (wide enough for their cells, so not sized) had no separators."""
    from sarcoma_app.render.ui import _with_thousands
    frame = pd.DataFrame({"0 mo": [100000, 0], "6 mo": [25771, 7307], "small": [3, 4], "hidden": [5000, 1]})
    config = _with_thousands(frame, {"hidden": None})
    assert config["0 mo"]["type_config"]["format"] == "localized"
    assert config["6 mo"]["type_config"]["format"] == "localized"
    assert "small" not in config and config["hidden"] is None


def test_slide_scaling_grows_label_padding_with_the_font():
    """On a slide the KM risk table's row labels grow with the font; their padding must too ('at risk28')."""
    from sarcoma_app.exports.downloads import _scaled
    spec = {"encoding": {"y": {"axis": {"labelPadding": 23, "labelLimit": 260, "labelFontSize": 11}}}}
    axis = _scaled(spec, 2.0, 1.0)["encoding"]["y"]["axis"]
    assert axis == {"labelPadding": 46.0, "labelLimit": 520.0, "labelFontSize": 22.0}
