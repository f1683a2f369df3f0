"""A missing dependency names the install both ways: from the package index and in a clone."""

from __future__ import annotations

import pytest

from allocsim.experiments.cli_errors import missing_module_line


@pytest.mark.parametrize(("module", "index", "clone"), [
    ("torch", "pip install 'allocsim[learn]'", "pip install -e '.[learn]'"),
    ("gymnasium", "pip install allocsim", "pip install -e ."),
])
def test_the_hint_names_the_index_and_the_clone_install(module: str, index: str, clone: str) -> None:
    line = missing_module_line(ModuleNotFoundError(f"No module named '{module}'", name=module))
    assert line is not None and line.startswith("error: ") and "\n" not in line
    assert index in line and f"in a clone of the repository: {clone}" in line


def test_a_module_of_no_extra_gives_no_hint() -> None:
    assert missing_module_line(ModuleNotFoundError("No module named 'nowhere'", name="nowhere")) is None
