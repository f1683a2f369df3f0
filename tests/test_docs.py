"""The README and docs/ cannot rot: every relative link (and #anchor) resolves, and the README's
commands run as written, from a fresh folder (the cheap ones here; those that train or run a
whole benchmark in the slow test). A new command in the README must be classified in
``COMMANDS`` below, so none is left untested by accident."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         *sorted((ROOT / "results").glob("**/README.md"))]  # the results tables link docs/ too
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
#: README command prefixes and how the tests run them: "cheap" (here), "slow" (the slow test), or
#: a reason not to run them at all.
COMMANDS = {
    "make demo": "a make target: the slow test runs its benchmark command",
    "make test": "a make target: it is this test suite",
    "make test-fast": "a make target: it is this test suite",
    "allocsim scenarios": "cheap",
    "allocsim state ": "cheap",
    "allocsim infer ": "cheap",
    "allocsim benchmark ": "slow",
    "allocsim train ": "slow",
}
#: Folders of the repository the README's commands name relative to its root (linked, not copied).
REPO_PATHS = ("results", "experiments", "requirements-runtime.txt")


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {_slug(m) for m in re.findall(r"^#+\s+(.*)$", text, re.M)}


def _links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in _links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target}: no heading #{anchor}")
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"


def test_the_link_check_can_fail(tmp_path: Path) -> None:
    page = tmp_path / "x.md"
    page.write_text("# Title\n[a](missing.md) [b](#title) [c](#nope) [d](https://x.org/y)\n",
                    encoding="utf-8")
    assert _links(page) == ["missing.md", "#title", "#nope"]
    assert _anchors(page) == {"title"}
    assert _slug("Rollout: improving a rule by simulation") == "rollout-improving-a-rule-by-simulation"


def readme_commands() -> list[list[str]]:
    """The README's shell commands, block by block (comments and blank lines dropped)."""
    blocks = []
    for lang, body in FENCE.findall((ROOT / "README.md").read_text(encoding="utf-8")):
        if lang in ("bash", "sh"):
            lines = [re.sub(r"\s+#.*$", "", line).strip() for line in body.splitlines()]
            blocks.append([line for line in lines if line and not line.startswith("#")])
    return blocks


def _kind(command: str) -> str:
    matches = [kind for prefix, kind in COMMANDS.items() if command == prefix or command.startswith(prefix)]
    assert matches, f"README command not classified in tests/test_docs.py COMMANDS: {command!r}"
    return matches[-1]


def test_every_readme_command_is_classified() -> None:
    commands = [c for block in readme_commands() for c in block]
    assert len(commands) >= 6
    for command in commands:
        _kind(command)


def _folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A fresh working folder outside the repository, with the repository paths the README names."""
    for name in REPO_PATHS:
        (tmp_path / name).symlink_to(ROOT / name)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return tmp_path, env


#: Budgets cut so the slow test stays a few minutes: the same commands and options, fewer episodes
#: and steps (what is checked is that every door opens, not the figures).
SHORTER = ((re.compile(r"--episodes \d+"), "--episodes 2"),
           (re.compile(r"--timesteps \d+"), "--timesteps 16384"))


def shortened(command: str) -> str:
    """``command`` with its episode and step budgets cut (``SHORTER``)."""
    for pattern, replacement in SHORTER:
        command = pattern.sub(replacement, command)
    return command


def test_shortened_cuts_only_the_budgets() -> None:
    assert shortened("allocsim train --seed 0 --timesteps 100000 --out r") == (
        "allocsim train --seed 0 --timesteps 16384 --out r")  # one rollout of the packaged settings
    assert shortened("allocsim benchmark --episodes 20 --out x") == "allocsim benchmark --episodes 2 --out x"


def _run(blocks: list[list[str]], kinds: set[str], tmp_path: Path) -> int:
    """Run the commands of ``kinds`` in README order, budgets cut (``shortened``); the number run."""
    folder, env = _folder(tmp_path)
    ran = 0
    for block in blocks:
        for command in block:
            if _kind(command) not in kinds:
                continue
            command = shortened(command)
            proc = subprocess.run(["bash", "-c", command], cwd=folder, env=env, capture_output=True,
                                  text=True, timeout=3600, check=False)
            assert proc.returncode == 0, f"{command!r} exited {proc.returncode}: {proc.stderr[-2000:]}"
            assert "Traceback" not in proc.stderr, command
            ran += 1
    return ran


def test_cheap_readme_commands_run(tmp_path: Path) -> None:
    assert _run(readme_commands(), {"cheap"}, tmp_path) >= 4
    state = tmp_path / "state.json"
    assert state.is_file() and '"period": 7' in state.read_text(encoding="utf-8")
    assert (tmp_path / "my-network.yaml").is_file()


def test_readme_python_runs(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    snippets = [body for lang, body in FENCE.findall(text) if lang == "python"]
    assert snippets
    for code in snippets:
        proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                              timeout=1200, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.slow
def test_every_readme_command_runs(tmp_path: Path) -> None:
    """The doors end to end: benchmark a copied network, train then benchmark the run, infer."""
    assert _run(readme_commands(), {"cheap", "slow"}, tmp_path) >= 7
    assert list((tmp_path / "runs" / "mine").glob("report.html"))


def test_performance_page_holds_the_figures_of_bench_results() -> None:
    """docs/performance.md's bench block is what ``bench/performance.py`` makes of bench/results/*.json."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import performance  # bench/performance.py (the bench folder is not a package)
    finally:
        sys.path.remove(str(ROOT / "bench"))
    page = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    assert page == performance.with_table(page, performance.table(ROOT / "bench" / "results")), (
        "docs/performance.md is stale: run python bench/performance.py --write docs/performance.md")
    with pytest.raises(ValueError, match="no <!-- bench:start -->"):
        performance.with_table("no block here", "x")
