"""Make the README's report screenshots from a fresh `make demo` benchmark.

    python docs/make_screenshot.py                 # runs the demo benchmark, then shoots its report
    python docs/make_screenshot.py --run RUN_DIR   # shoots an existing run's report.html

Writes ``docs/report-retail-small-top.png`` (the first screen at 1,024 x 900 px, shown in the
README) and ``docs/report-retail-small.png`` (the whole page at 1,024 px). Needs the dev install
(Playwright) and Debian's chromium (``make test`` installs both).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
DEMO = ["benchmark", "--scenario", "retail-small", "--episodes", "20"]  # the Makefile's demo target
WIDTH, HEIGHT = 1024, 900


def run_demo(out: Path) -> Path:
    """The demo's benchmark into ``out``; the run folder."""
    cli = [sys.executable, "-m", "allocsim.experiments.cli", *DEMO, "--out", str(out)]
    subprocess.run(cli, check=True)
    return out


def shoot(report: Path, top: Path, full: Path) -> None:
    """The first screen and the whole page of ``report`` in headless chromium."""
    from playwright.sync_api import sync_playwright

    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser_path is None:
        raise SystemExit("error: chromium is missing (apt-get install -y chromium, or make test)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            page.goto(report.resolve().as_uri())
            page.wait_for_load_state("load")
            page.screenshot(path=str(top))
            page.screenshot(path=str(full), full_page=True)
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="an existing run folder (default: run the demo benchmark)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run or run_demo(Path(tmp) / "run")
        report = run / "report.html"
        if not report.is_file():
            raise SystemExit(f"error: {report}: no report.html there")
        shoot(report, DOCS / "report-retail-small-top.png", DOCS / "report-retail-small.png")
    print(f"wrote {DOCS / 'report-retail-small-top.png'} and {DOCS / 'report-retail-small.png'}")


if __name__ == "__main__":
    main()
