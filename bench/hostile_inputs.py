"""Cost and reach of hostile inputs on a public link: prints figures, asserts nothing.

Cases (each run in its own subprocess with a timeout, so a quadratic page cannot hang the bench):

* ``subtype``: one run of the Subtype page on an uploaded cohort with N distinct histologies;
* ``sessions``: resident memory added by each extra session on ``?source=simulated-100k``;
* ``pages``: one run of every page, histology groupings chosen (``km_by``, ``response_by``, a histology Cox
  term), on an upload with N distinct histologies; the child's address space is capped (``--memory-gb``);
* ``payloads``: an upload whose text fields hold Markdown / HTML / LaTeX / code payloads, every page run,
  and where each payload ended up (a Markdown body unescaped, code in a snippet).

``--root`` points at another checkout of the app (e.g. the code before a change) to measure it the same way::

    .venv/bin/python bench/hostile_inputs.py                       # this tree
    .venv/bin/python bench/hostile_inputs.py --root /tmp/old --sizes 10000 --timeout 300

Only APIs present in every version of the app are used (AppTest, the upload reader, ``cohort.UploadedCohort``).
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

#: Payloads: an image fetched from a URL chosen by the file, code after a line break, raw HTML, LaTeX, a colour directive.
IMAGE = "![x](http://127.0.0.1:9/x.png)"
CODE = "import os; os.system('echo PWNED')  #"
PAYLOADS = {
    "histology": f"{IMAGE}\n{CODE}",
    "histology_2": "<img src=x onerror=alert(1)>",
    "primary_site": "$\\frac{1}{2}$ :red[x]",
    "patient_id": "P<img src=x onerror=alert(1)>",
    "cohort_name": "**bold** [link](http://127.0.0.1:9/)",
}
#: Signs of a payload that Markdown would interpret (or that became code).
RAW_SIGNS = ("![x](http", "<img src", "$\\frac", ":red[", "[link](http", "**bold**")


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _load_upload(csv_text: str, name: str):
    """An UploadedCohort built with the app's own reader (as the Upload page does)."""
    from sarcoma_app.sources import cohort
    from sarcoma_app.ingest.cohort import clean_cohort_name, prepare_cohort
    from sarcoma_app.ingest.columns import mapping_dict, suggest_mapping
    from sarcoma_app.ingest.read import read_table

    result = read_table(csv_text.encode(), "hostile.csv")
    table = result.table
    mapping = mapping_dict(suggest_mapping(table.columns))
    prepared = prepare_cohort(table, mapping, cohort_name=name)
    assert prepared.ok, [p for p in prepared.problems][:5]
    connection = cohort.create_cohort_database(prepared.patients, prepared.adverse_events, prepared.studies,
                                               prepared.assessments)
    return cohort.UploadedCohort(connection=connection, name=clean_cohort_name(name), files=("hostile.csv",),
                                 n_patients=len(prepared.patients))


def _apptest(query: dict | None = None, upload=None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path.cwd() / "app.py"), default_timeout=3600)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if upload is not None:
        at.session_state["_uploaded_cohort"] = upload
        at.query_params["source"] = "uploaded"
    return at


def case_subtype(n: int) -> dict:
    text = _distinct_histologies_csv(n)
    upload = _load_upload(text, f"{n} histologies")
    at = _apptest(upload=upload)
    at.run()
    started = time.perf_counter()
    at.switch_page("pages/subtype.py").run()
    seconds = time.perf_counter() - started
    errors = [str(e.value)[:200] for e in at.exception]
    return {"case": "subtype", "histologies": n, "csv_mb": round(len(text) / 2**20, 2),
            "page_run_s": round(seconds, 2), "exceptions": errors}


def _distinct_histologies_csv(n: int) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["patient_id", "histology", "best_response", "pfs_months", "pfs_event"])
    for i in range(n):
        writer.writerow([f"P{i}", f"Histology {i:06d}", "SDPRPD"[2 * (i % 3):2 * (i % 3) + 2], 1 + i % 17, i % 2])
    return buffer.getvalue()


def case_pages(n: int) -> dict:
    upload = _load_upload(_distinct_histologies_csv(n), f"{n} histologies")
    at = _apptest({"km_by": "histology_group", "response_by": "histology_group",
                   "cox_terms": ["histology_group", "ecog"]}, upload=upload)
    at.run()
    times = {}
    for page in PAGES:
        started = time.perf_counter()
        try:
            at.switch_page(page).run()
            errors = [str(e.value)[:120] for e in at.exception]
        except Exception as error:  # noqa: BLE001 - a MemoryError or a timeout of the page is the figure
            errors = [f"{type(error).__name__}: {str(error)[:120]}"]
        times[page] = {"s": round(time.perf_counter() - started, 2), **({"errors": errors} if errors else {})}
    return {"case": "pages", "histologies": n, "peak_rss_mb": round(_peak_rss_mb(), 1), "pages": times}


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def case_sessions(sessions: int) -> dict:
    import gc

    kept, rss = [], [_rss_mb()]
    for _ in range(sessions):
        at = _apptest({"source": "simulated-100k"})
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        kept.append(at)
        gc.collect()
        rss.append(_rss_mb())
    deltas = [round(b - a, 1) for a, b in zip(rss, rss[1:])]
    return {"case": "sessions", "source": "simulated-100k", "rss_mb": [round(r, 1) for r in rss],
            "added_mb_per_session": deltas,
            "mean_extra_session_mb": round(sum(deltas[1:]) / max(len(deltas) - 1, 1), 1)}


PAGES = ["pages/overview.py", "pages/response.py", "pages/survival.py", "pages/hazard-ratios.py",
         "pages/adverse-events.py", "pages/patients.py", "pages/subtype.py", "pages/data-methods.py"]
MARKDOWN_KINDS = ("markdown", "caption", "info", "warning", "error", "success", "subheader", "header", "title",
                  "toast", "latex")


def _markdown_texts(at) -> list[tuple[str, str]]:
    texts = []
    for kind in MARKDOWN_KINDS:
        for element in getattr(at, kind, []):
            texts.append((kind, str(element.value)))
    for kind in ("expander", "tabs", "metric"):
        for element in at.get(kind) if kind != "tabs" else at.tabs:
            label = getattr(element, "label", None) or getattr(getattr(element, "proto", None), "label", "")
            texts.append((f"{kind} label", str(label)))
    return texts


def _code_texts(at) -> list[tuple[str, str]]:
    return [(f"code ({getattr(c.proto, 'language', '')})", str(c.value)) for c in at.code]


def _snippet_calls(source: str) -> list[str]:
    """Calls and imports of ``os`` in a Python snippet (code the payload may have become)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        return [f"SyntaxError: {error.msg}"]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            found += [f"import {n}" for n in names if n and n.split(".")[0] == "os"]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "system":
            found.append("call os.system")
    return found


def case_payloads() -> dict:
    rows = ["patient_id,histology,best_response,pfs_months,pfs_event,primary_site"]

    def quoted(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    for i in range(6):
        histology = PAYLOADS["histology"] if i % 2 == 0 else PAYLOADS["histology_2"]
        pid = PAYLOADS["patient_id"] + str(i)
        rows.append(",".join([quoted(pid), quoted(histology), ["PR", "SD", "PD"][i % 3], str(2 + i), str(i % 2),
                              quoted(PAYLOADS["primary_site"])]))
    upload = _load_upload("\n".join(rows) + "\n", PAYLOADS["cohort_name"])
    at = _apptest(upload=upload)
    at.run()
    found: dict[str, set] = {}
    for page in PAGES:
        at.switch_page(page).run()
        if at.exception:
            found.setdefault("exceptions", set()).update(str(e.value)[:120] for e in at.exception)
        # open every "Show the code" and press every "Add to deck" once: their text counts too
        for button in [b for b in at.button if str(b.key or "").endswith("_deck")][:2]:
            button.click().run()
        for kind, text in _markdown_texts(at):
            for sign in RAW_SIGNS:
                if sign in text:
                    found.setdefault(f"markdown unescaped: {sign}", set()).add(f"{page} {kind}")
        for kind, text in _code_texts(at):
            if "python" in kind:
                for call in _snippet_calls(text):
                    found.setdefault(f"snippet code: {call}", set()).add(page)
    return {"case": "payloads", "where": {k: sorted(v) for k, v in sorted(found.items())}}


def _child(args) -> None:
    os.chdir(args.root)
    sys.path.insert(0, str(args.root))
    import logging

    logging.disable(logging.WARNING)  # "No runtime found, using MemoryCacheStorageManager" etc.
    import resource

    limit = int(args.memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # a k x k matrix fails here, not on the shared machine
    if args.case == "pages":
        result = case_pages(args.n)
    elif args.case == "subtype":
        result = case_subtype(args.n)
    elif args.case == "sessions":
        result = case_sessions(args.n)
    else:
        result = case_payloads()
    print("RESULT " + json.dumps(result))


def _run(root: Path, case: str, n: int, timeout: float, memory_gb: float = 6) -> dict:
    command = [sys.executable, __file__, "--child", case, "--n", str(n), "--root", str(root),
               "--memory-gb", str(memory_gb)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"case": case, "n": n, "timed_out": f">{timeout:.0f} s"}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
            result["wall_s"] = round(time.perf_counter() - started, 1)
            return result
    return {"case": case, "n": n, "failed": done.stderr[-1500:]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=HERE, help="checkout of the app to measure")
    parser.add_argument("--cases", default="subtype,pages,sessions,payloads")
    parser.add_argument("--sizes", default="1000,10000,100000", help="distinct histologies of the subtype case")
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--memory-gb", type=float, default=6, help="address-space cap of each case's process")
    parser.add_argument("--child", choices=("subtype", "pages", "sessions", "payloads"), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.case = args.child
        _child(args)
        return
    cases = args.cases.split(",")
    print(f"code measured: {args.root.resolve()}")
    if "subtype" in cases:
        for n in [int(s) for s in args.sizes.split(",")]:
            print(json.dumps(_run(args.root, "subtype", n, args.timeout, args.memory_gb)), flush=True)
    if "pages" in cases:
        for n in [int(s) for s in args.sizes.split(",")]:
            print(json.dumps(_run(args.root, "pages", n, args.timeout, args.memory_gb)), flush=True)
    if "sessions" in cases:
        print(json.dumps(_run(args.root, "sessions", args.sessions, args.timeout, args.memory_gb)), flush=True)
    if "payloads" in cases:
        print(json.dumps(_run(args.root, "payloads", 0, args.timeout, args.memory_gb), indent=1), flush=True)


if __name__ == "__main__":
    main()
