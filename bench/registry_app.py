"""The app on a registry read in place: filter changes in headless Chromium and the server's peak RSS.

    PYTHONPATH=. .venv/bin/python bench/registry_app.py --registry /tmp/reg_1m [--pages survival,adverse-events]

Starts ``streamlit run app.py`` with ``SARCOMA_REGISTRY`` set, opens each page with ``?source=registry`` and
times, as bench/app_timings.py does, "Pazopanib co-treatment = yes" then "Reset" (median of ``--repeats``),
from the browser's pointerdown to the last chart redrawn. Then prints the server process's peak resident set
(``VmHWM`` of /proc/<pid>/status). Only pages that count in the database on a large source are meant here
(above ``patients_counted`` of :data:`sarcoma_app.limits.SCALE`, e.g. at 100,000); others load the patients. Every
sample is printed with the number of script runs it took: the two filter states repeat, so from the second
repeat on their queries come from the server's shared cache and only the first sample of each action runs them.
Prints figures, asserts nothing; the machine is shared, so they are noisy.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.app_timings import CHROMIUM, CHROMIUM_ARGS, _start_server, filter_change_timings  # noqa: E402
from sarcoma_app.sources import registry_files  # noqa: E402


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import free_port

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", type=Path, required=True)
    parser.add_argument("--pages", default="survival,adverse-events")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    n = registry_files.patient_count(registry_files.open_registry(args.registry))
    port = free_port()
    process, start_seconds = _start_server(port, env={registry_files.REGISTRY_ENV: str(args.registry.resolve())})
    print(f"registry {args.registry}: {n:,} patients; server healthy after {start_seconds:.1f} s; "
          f"server RSS {peak_rss_mib(process.pid):.0f} MiB")
    caption = rf"^Showing ({n:,}|{n}) of ({n:,}|{n}) patients$"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
            for slug in args.pages.split(","):
                opened, changes = filter_change_timings(page, f"http://127.0.0.1:{port}", slug, "registry", caption,
                                                        args.repeats)
                print(f"{slug}: open link (new session, cold) {opened[0]:.2f} s")
                for action, samples in changes.items():
                    totals = [s["total"] for s in samples]
                    script = statistics.median(s["script"] for s in samples)
                    runs = max(s["runs"] for s in samples)
                    print(f"{slug}: filter change ({action}) to last chart drawn: median {statistics.median(totals):.2f}"
                          f" s, min {min(totals):.2f} s (script {script:.2f} s, at most {runs} script run(s)); all: "
                          + ", ".join(f"{t:.2f}" for t in totals))
                print(f"  server peak RSS so far {peak_rss_mib(process.pid):.0f} MiB", flush=True)
            browser.close()
    finally:
        print(f"server peak RSS {peak_rss_mib(process.pid):.0f} MiB")
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
