"""Read schema.yaml into plain Python data, remembering where every key and value stood.

PyYAML's composer gives nodes with line/column marks; we build the data ourselves from those
nodes so that duplicate keys (which PyYAML would silently overwrite) become errors, and so that
every later error can point at the exact place in the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem, SchemaError

Path_ = tuple[str | int, ...]

# libyaml's parser when PyYAML was built with it (it keeps marks too); the pure one otherwise.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


@dataclass
class Source:
    """The loaded document plus a map from each path to its (line, column), 1-based."""

    file: str
    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path_) -> tuple[int, int]:
        """Best position for a path: the key that names it, else its value, else a parent's."""
        probe = tuple(path)
        while probe:
            if probe in self.key_positions:
                return self.key_positions[probe]
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return (1, 1)

    def value_where(self, path: Path_) -> tuple[int, int]:
        """Position of a value itself (e.g. the item of a list), falling back to where()."""
        if tuple(path) in self.positions:
            return self.positions[tuple(path)]
        return self.where(path)

    def problem(self, path: Path_, message: str, hint: str | None = None, *, at_value=False):
        line, col = self.value_where(path) if at_value else self.where(path)
        return Problem(self.file, line, col, dotted(path), message, hint)


def dotted(path: Path_) -> str:
    parts = []
    for p in path:
        parts.append(f"[{p}]" if isinstance(p, int) else ("." + p if parts else p))
    return "".join(parts) or "<root>"


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def load(path: Path | str) -> Source:
    path = Path(path)
    display = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(
            [Problem(display, 1, 1, "<file>", f"cannot read: {exc.strerror}")]
        ) from None
    return load_text(text, display)


def load_text(text: str, file: str = "schema.yaml") -> Source:
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or str(exc)
        raise SchemaError(
            [
                Problem(
                    file,
                    line,
                    col,
                    "<yaml>",
                    f"YAML syntax error: {what}",
                    "check indentation and quoting near this line",
                )
            ]
        ) from None
    source = Source(file=file, data=None)
    if node is None:
        raise SchemaError([Problem(file, 1, 1, "<root>", "the file is empty")])
    problems: list[Problem] = []
    source.data = _build(node, (), source, problems)
    if problems:
        raise SchemaError(problems)
    return source


def _build(node: yaml.Node, path: Path_, source: Source, problems: list[Problem]) -> Any:
    source.positions[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            # Keys are names: take the scalar text as written (so `on:` stays "on", not True).
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                line, col = _mark(key_node)
                problems.append(
                    Problem(source.file, line, col, dotted(path), "keys must be plain names")
                )
                continue
            child = (*path, key)
            if key in result:
                line, col = _mark(key_node)
                first = source.key_positions[child]
                problems.append(
                    Problem(
                        source.file,
                        line,
                        col,
                        dotted(child),
                        f"duplicate key '{key}'",
                        f"it is already defined at line {first[0]}",
                    )
                )
                continue
            source.key_positions[child] = _mark(key_node)
            result[key] = _build(value_node, child, source, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), source, problems) for i, item in enumerate(node.value)]
    # Scalars: let PyYAML resolve the tag (int, float, bool, null, str) as it normally would.
    return _CONSTRUCTOR.construct_object(node, deep=True)
