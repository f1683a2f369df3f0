"""Read a YAML file with ``safe_load`` into plain data; every failure is one line naming the file.

Numbers written the way people write them (``1e30``, ``2.5E-3``) are floats, not strings
(YAML 1.1, PyYAML's dialect, wants a dot), so a bound can refuse them by value.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

from allocsim.core.error_text import shorten

_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 20x faster


class NumberLoader(_SAFE_LOADER):  # type: ignore[valid-type, misc]
    """``yaml.SafeLoader`` (libyaml's when installed) that also reads ``1e30`` as a float and refuses
    a key written twice in one mapping (YAML would silently keep the last: ``mode: events`` then
    ``mode: aggregated``). Keys a merge (``<<: *anchor``) brings in may be overridden, as YAML means."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node, deep=True)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {shorten(repr(key), 80)} appears twice in one mapping (first at "
                        f"line {seen[key] + 1}), here", key_node.start_mark)
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


NumberLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for key, resolvers in _SAFE_LOADER.yaml_implicit_resolvers.copy().items()
}
NumberLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def parse_yaml(text: str, source: str, error: type[ValueError]) -> Any:
    """The data of YAML ``text``; ``error`` naming ``source`` and the line when it is not YAML."""
    try:
        return yaml.load(text, Loader=NumberLoader)  # safe: SafeLoader plus one number rule
    except yaml.reader.ReaderError as err:  # a control character such as NUL
        code = err.character if isinstance(err.character, int) else ord(err.character)
        raise error(f"{source}: unacceptable character #x{code:04x} at position {err.position}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = _problem(str(getattr(err, "problem", None) or "invalid YAML"))
        raise error(f"{source}: {problem}{where}") from None
    except RecursionError:
        raise error(f"{source}: nested too deeply") from None
    except ValueError as err:  # e.g. an integer of more digits than Python converts
        if "integer string conversion" in str(err):
            raise error(f"{source}: a number of more than {sys.get_int_max_str_digits():,} digits") from None
        raise error(f"{source}: {shorten(str(err))}") from None


_UNKNOWN_TAG = "could not determine a constructor for the tag "


def _problem(text: str) -> str:
    """PyYAML's problem in plain words; a refused tag is named whole (``!!python/object/apply:...``),
    shortened only past 100 characters of the tag itself, never cut at its ``tag:yaml.org,2`` prefix."""
    if not text.startswith(_UNKNOWN_TAG):
        return shorten(text)
    tag = text.removeprefix(_UNKNOWN_TAG).strip("'\"").replace("tag:yaml.org,2002:", "!!")
    return f"tag {shorten(tag, 100)} is not allowed: plain data only (no Python objects, no custom tags)"


def read_text(path: Path, error: type[ValueError]) -> str:
    """The UTF-8 text of ``path`` (a byte-order mark is allowed); ``error`` naming the file otherwise."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise error(f"{path}: cannot read ({err.strerror or err})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text (byte {err.start}); save the file as UTF-8") from None


def read_yaml(path: Path, error: type[ValueError]) -> Any:
    """The data of the YAML file ``path``; ``error`` (one line naming the file) on any problem."""
    return parse_yaml(read_text(path, error), str(path), error)
