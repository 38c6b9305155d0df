"""The upload page with standard-format files (CDISC ADaM, cBioPortal, REDCap) under Streamlit's AppTest.

Each format: the files are recognised, the mapping and checks are shown, a choice changes
what is loaded, and once loaded every page runs on it; a refused delivery loads nothing.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.apptest_helpers import caption, run_app

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "formats"
PAGES = ["pages/overview.py", "pages/response.py", "pages/survival.py", "pages/hazard-ratios.py",
         "pages/adverse-events.py", "pages/patients.py"]
DELIVERIES = {"adam": ("adam", None, 32), "cbioportal": ("cbioportal", None, 30),
              "redcap": ("redcap", ("export_raw.csv", "data_dictionary.csv"), 30)}


def standard_files(folder: str, names=None) -> list[tuple[str, bytes, str]]:
    return [(p.name, p.read_bytes(), "application/octet-stream") for p in sorted((FIXTURES / folder).iterdir())
            if names is None or p.name in names]


def upload(at, files):
    uploader = next(u for u in at.file_uploader if u.label == "Standard-format files")
    uploader.set_value(files)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text_of(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [e.value for e in at.error] + [w.value for w in at.warning]
                     + [s.value for s in at.success] + [c.value for c in at.caption])


@pytest.mark.parametrize("name", list(DELIVERIES))
def test_each_format_loads_and_every_page_runs_on_it(name):
    folder, names, n = DELIVERIES[name]
    at = upload(run_app(page="pages/upload.py"), standard_files(folder, names))
    body = text_of(at)
    assert "Recognised:" in body and "No problem found" in body, body[-2000:]
    load = next(b for b in at.button if b.key == "upload_load")
    load.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert caption(at) == f"Showing {n} of {n} patients"
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert caption(at) == f"Showing {n} of {n} patients"
    labels = {b.label for b in at.get("download_button")}  # the Patients page, last: the format exports
    assert {"cBioPortal patient file", "ADSL-like CSV", "ADTTE-like CSV"} <= labels


def test_a_population_choice_changes_what_is_loaded():
    at = upload(run_app(page="pages/upload.py"), standard_files("adam"))
    population = next(s for s in at.selectbox if s.label == "Population")
    assert population.value.startswith("all subjects")
    population.set_value(next(o for o in population.options if o.startswith("SAFFL"))).run()
    assert not at.exception
    assert "No problem found:** 29 patients" in text_of(at)


def test_a_refused_delivery_loads_nothing():
    at = upload(run_app(page="pages/upload.py"), standard_files("cbioportal"))
    rule = next(s for s in at.selectbox if s.label == "Patients with several samples")
    rule.set_value("refuse patients whose samples differ in histology").run()
    body = text_of(at)
    assert "nothing was loaded" in body and "P-001" in body.replace("\\", "")
    assert not [b for b in at.button if b.key == "upload_load"]


def test_a_refused_curve_leaves_the_other_endpoint_and_every_page_working():
    rows = [f"P{i},LMS,SD,{'' if i < 8 else 5 + i},0,{10 + i},0" for i in range(20)]
    rows += [f"E{i},LMS,PD,{3 + i},1,{8 + i},1" for i in range(10)]
    data = ("patient_id,histology,best_response,pfs_months,pfs_event,os_months,os_event\n" + "\n".join(rows)).encode()
    at = run_app(page="pages/upload.py")
    next(u for u in at.file_uploader if u.label == "Patients (required)").upload("biased.csv", data, "text/csv")
    at.run()
    assert "the PFS curve is refused" in "\n".join(i.value for i in at.info)
    next(b for b in at.button if b.key == "upload_load").click().run()
    for page in ("pages/survival.py", "pages/hazard-ratios.py", "pages/overview.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert caption(at) == "Showing 30 of 30 patients"
