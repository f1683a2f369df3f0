"""report.html in a real headless browser at 1,024 and 1,400 px: no horizontal overflow, every table inside
the page, every image loaded, every link to a file of the run resolves. Debian's chromium (installed by
``make test`` when missing) driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import synthetic_page
from typer.testing import CliRunner

from allocsim.experiments.cli import app

WIDTHS = (1024, 1400)
MEASURE = """() => {
  const page = document.documentElement.clientWidth;
  const out = {page, scroll: document.documentElement.scrollWidth, tables: [], cells: 0, images: [],
               links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))};
  for (const t of document.querySelectorAll('table')) {
    const r = t.getBoundingClientRect();
    out.tables.push({right: r.right, left: r.left, scroll: t.scrollWidth, client: t.clientWidth});
  }
  for (const c of document.querySelectorAll('td, th')) {
    if (c.getBoundingClientRect().right > page || c.scrollWidth > c.clientWidth + 1) out.cells += 1;
  }
  for (const i of document.images) {
    out.images.push({complete: i.complete, natural: i.naturalWidth, right: i.getBoundingClientRect().right});
  }
  return out;
}"""


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium is missing: `make test` installs it (apt-get install -y chromium)"
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium for the module's six measurements (a launch is about 1 s of CPU); each
    measurement opens a page of its own and closes it, so nothing carries over from one to the next."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def measure(browser: Any, page_file: Path, width: int, screenshot: Path | None = None) -> dict[str, Any]:
    """Open ``page_file`` ``width`` px wide in a new page of ``browser`` (headless chromium) and measure
    tables, cells, images, links."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(page_file.resolve().as_uri())
        page.wait_for_load_state("load")
        result = page.evaluate(MEASURE)
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        page.close()
    return result


def _assert_fits(m: dict[str, Any]) -> None:
    assert m["scroll"] <= m["page"], f"page scrolls sideways: {m['scroll']} > {m['page']} px"
    assert m["tables"], "no table"
    for t in m["tables"]:
        assert t["left"] >= 0 and t["right"] <= m["page"], t
        assert t["scroll"] <= t["client"] + 1, t
    assert m["cells"] == 0, f"{m['cells']} cells overflow"
    assert len(m["images"]) == 3
    for img in m["images"]:
        assert img["complete"] and img["natural"] > 0, img
        assert img["right"] <= m["page"], img


@pytest.mark.parametrize("width", WIDTHS)
def test_wide_synthetic_report_fits(browser: Any, tmp_path: Path, width: int) -> None:
    page = synthetic_page()
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    _assert_fits(measure(browser, path, width))


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real benchmark with the shipped learned policy (its longest label) next to five rules."""
    out = tmp_path_factory.mktemp("browser") / "run"
    args = ["benchmark", "--scenario", "retail-small", "--episodes", "3", "--seed", "40000",
            "--policies", "min-max,base-stock,balanced,random,hold", "--pretrained", "--workers", "1",
            "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("width", WIDTHS)
def test_real_benchmark_report_fits(real_run: Path, browser: Any, width: int) -> None:
    m = measure(browser, real_run / "report.html", width)
    _assert_fits(m)
    assert "allocation_plan.csv" in m["links"] and "episodes.csv" in m["links"]
    for href in m["links"]:  # every link is a file of the run, next to the page
        assert "/" not in href and (real_run / href).is_file(), href


@pytest.mark.parametrize("width", WIDTHS)
def test_the_check_fails_on_an_overflowing_table(browser: Any, tmp_path: Path, width: int) -> None:
    """The measurement itself can fail: a table wider than the page is caught."""
    cells = "".join(f"<td>{'9' * 40}</td>" for _ in range(8))
    path = tmp_path / "wide.html"
    path.write_text(f"<!DOCTYPE html><html><body><table><tr>{cells}</tr></table>"
                    f"<img src='data:image/png;base64,AAAA'></body></html>", encoding="utf-8")
    m = measure(browser, path, width)
    assert m["scroll"] > m["page"] == width or any(t["right"] > m["page"] for t in m["tables"])
    assert m["images"][0]["natural"] == 0
