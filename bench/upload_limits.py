"""What each hostile upload costs the server: CPU seconds, peak memory growth, the message shown.

Prints figures; asserts nothing (design.md: speed is measured by a benchmark
that prints figures, not by timed tests).

Usage (from the repository root)::

    .venv/bin/python bench/upload_limits.py                 # every case, 60 s each at most
    .venv/bin/python bench/upload_limits.py --timeout 30 --cases csv_1234_days,xlsx_dimension_1m

Each case of :data:`tests.hostile_uploads.CASES` runs in a fresh process: the
file is built first (not measured), then the upload page's pipeline is
measured - :func:`sarcoma_app.ingest.read.read_table`, the suggested column
mapping and :func:`sarcoma_app.ingest.cohort.prepare_cohort` - as CPU seconds of
the process and peak RSS above the RSS before reading (``VmHWM`` reset through
``/proc/self/clear_refs``). A case still running after ``--timeout`` seconds
is killed and reported as ``>timeout``, with the peak memory reached so far.

``session_registry_100k`` runs the upload page under Streamlit's AppTest
with a valid 100,000-patient CSV and reports what the session holds (RSS
after ``malloc_trim``) once the file is checked, once the cohort is loaded and
once it is removed.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import hostile_uploads  # noqa: E402


def _child(case: str) -> None:
    """Build and measure one case; print JSON lines (progress of the peak, then the result)."""
    name, data = hostile_uploads.CASES[case]()
    import sarcoma_app.ingest.cohort  # noqa: F401  (imports are not part of the measurement)
    import sarcoma_app.ingest.read  # noqa: F401

    hostile_uploads.reset_peak_rss()
    base = hostile_uploads._status_kib("VmRSS")
    start = time.process_time()

    def progress() -> None:
        while True:
            time.sleep(0.5)
            peak = (hostile_uploads._status_kib("VmHWM") - base) / 1024
            print(json.dumps({"peak_mb": peak, "cpu_s": time.process_time() - start}), flush=True)

    threading.Thread(target=progress, daemon=True).start()
    measured = hostile_uploads.measure(lambda: hostile_uploads.message_shown(data, name))
    print(json.dumps({"done": True, "size_kb": len(data) / 1024, "cpu_s": measured.cpu_s,
                      "wall_s": measured.wall_s, "peak_mb": measured.peak_growth_mb,
                      "message": measured.value}), flush=True)


#: Whole-session cases: the upload page under AppTest (file chosen, checked, loaded, removed).
SESSION_CASES = {"session_registry_100k": 100_000, "session_registry_200k": 200_000}


def _held_mb(base_kib: int) -> float:
    """RSS above ``base_kib`` after a collection and malloc_trim (freed memory returned to the system)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    return (hostile_uploads._status_kib("VmRSS") - base_kib) / 1024


def _session_child(case: str) -> None:
    """What one session holds with a cohort of the patient-row limit: checked, loaded, removed."""
    from streamlit.testing.v1 import AppTest

    name, data = hostile_uploads.csv_registry(SESSION_CASES[case])
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.run()
    at.switch_page("pages/upload.py").run()
    base = hostile_uploads._status_kib("VmRSS")
    base = base - int(_held_mb(base) * 1024)  # the trimmed RSS
    hostile_uploads.reset_peak_rss()
    start = time.process_time()
    next(u for u in at.file_uploader if u.label == "Patients (required)").upload(name, data, "text/csv")
    at.run()
    checked = _held_mb(base)
    message = ("No problem found" if any("No problem found" in s.value for s in at.success)
               else " ".join(e.value for e in at.error)[:300])
    load = [b for b in at.button if b.key == "upload_load"]
    if not load:  # refused: nothing to load
        print(json.dumps({"done": True, "size_kb": len(data) / 1024, "cpu_s": time.process_time() - start,
                          "peak_mb": (hostile_uploads._status_kib("VmHWM") - base) / 1024,
                          "message": f"{message} | session holds {checked:.0f} MB"}), flush=True)
        return
    load[0].click().run()
    loaded = _held_mb(base)
    next(b for b in at.button if b.key == "upload_remove").click().run()
    removed = _held_mb(base)
    peak = (hostile_uploads._status_kib("VmHWM") - base) / 1024
    print(json.dumps({"done": True, "size_kb": len(data) / 1024, "cpu_s": time.process_time() - start,
                      "peak_mb": peak, "message": f"{message} | session holds {checked:.0f} MB checked, "
                                                  f"{loaded:.0f} MB loaded, {removed:.0f} MB removed"}), flush=True)


def run_case(case: str, timeout: float) -> dict:
    """Run one case in a subprocess; its last report (``timed_out`` when killed)."""
    process = subprocess.Popen([sys.executable, __file__, "--child", case], stdout=subprocess.PIPE, text=True,
                               cwd=ROOT)
    last: dict = {}
    reader = threading.Thread(target=lambda: [last.update(json.loads(line)) for line in process.stdout], daemon=True)
    reader.start()
    try:
        process.wait(timeout=timeout + 30)  # building a file may take a few seconds
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    reader.join(timeout=5)
    if not last.get("done"):
        last["timed_out"] = True
    return last


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds of CPU per case before it is killed")
    parser.add_argument("--cases", default=",".join([*hostile_uploads.CASES, *SESSION_CASES]),
                        help="comma-separated case names")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        (_session_child if args.child in SESSION_CASES else _child)(args.child)
        return
    print(f"{'case':<24} {'size KB':>9} {'CPU s':>8} {'peak MB':>9}  message")
    for case in args.cases.split(","):
        result = run_case(case, args.timeout)
        cpu = f">{args.timeout:g}" if result.get("timed_out") else f"{result.get('cpu_s', float('nan')):.2f}"
        size = f"{result['size_kb']:.1f}" if "size_kb" in result else "?"
        message = " ".join(result.get("message", "(no message: killed)").split())
        print(f"{case:<24} {size:>9} {cpu:>8} {result.get('peak_mb', float('nan')):>9.0f}  {message[:300]}",
              flush=True)


if __name__ == "__main__":
    main()
