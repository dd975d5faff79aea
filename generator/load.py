"""Read schema.yaml into plain Python data, remembering where every key and value stood.

PyYAML's composer gives nodes with line/column marks; we build the data ourselves from those
nodes so that duplicate keys (which PyYAML would silently overwrite) become errors, and so that
every later error can point at the exact place in the file.

The file is untrusted (it arrives through pull requests), so reading it is bounded before any
of it is expanded: at most MAX_BYTES are read, nesting deeper than MAX_DEPTH and documents that
would expand (through aliases) to more than MAX_NODES nodes are refused while streaming the
parser's events, before a single node is built. Only the plain YAML types are accepted: text,
numbers (finite, integers of at most 64 bits), true/false and null; any other tag is an error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem, SchemaError, UnreadableSchema

Path_ = tuple[str | int, ...]

MAX_BYTES = 512 * 1024  # 512 KiB; the real schema.yaml is about 33 KB
MAX_DEPTH = 32  # the format nests 7 levels deep
MAX_NODES = 100_000  # nodes after alias expansion; the real schema has about 4,000
MAX_INT_DIGITS = 20
MAX_PROBLEMS = (
    100  # reading stops reporting after this many  # a signed 64-bit integer has at most 19 digits
)

# libyaml's parser when PyYAML was built with it (it keeps marks too); the pure one otherwise.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONSTRUCTOR = yaml.constructor.SafeConstructor()

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
# Characters YAML itself refuses; finding them first gives a located, readable message.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
# YAML 1.2 (JSON) floats that YAML 1.1 reads as text, e.g. 1e400 or 5e-3: numbers to a user.
_FLOAT_12 = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)$")


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

    def problem(
        self, code: str, path: Path_, message: str, hint: str | None = None, *, at_value=False
    ) -> Problem:
        line, col = self.value_where(path) if at_value else self.where(path)
        return Problem(self.file, line, col, dotted(path), message, hint, code=code)


def dotted(path: Path_) -> str:
    parts = []
    for p in path:
        parts.append(f"[{p}]" if isinstance(p, int) else ("." + p if parts else p))
    return "".join(parts) or "<root>"


def _mark(node: yaml.Node | yaml.Event) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _fail(code: str, file: str, line: int, col: int, where: str, message: str, hint=None):
    raise SchemaError([Problem(file, line, col, where, message, hint, code=code)])


def load(path: Path | str) -> Source:
    path = Path(path)
    display = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)  # never more: /dev/zero ends here too
    except OSError as exc:
        raise UnreadableSchema(display, exc.strerror or str(exc)) from None
    return load_bytes(raw, display)


def load_bytes(raw: bytes, file: str) -> Source:
    """The file's bytes as read (at most MAX_BYTES + 1 of them), e.g. by the run cache."""
    if len(raw) > MAX_BYTES:
        _too_large(file)
    return load_text(decode(raw, file), file)


def _too_large(file: str) -> None:
    _fail(
        "load.too-large",
        file,
        1,
        1,
        "<file>",
        f"the file is larger than {MAX_BYTES:,} bytes ({MAX_BYTES // 1024} KiB), the limit "
        "for a schema",
        "a schema is a few dozen kilobytes; is this the right file?",
    )


def decode(raw: bytes, file: str) -> str:
    """UTF-8 text (a UTF-8 byte-order mark is dropped); anything else is a located error."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        _fail(
            "load.utf16",
            file,
            1,
            1,
            "<file>",
            "the file is UTF-16 (it starts with a UTF-16 byte-order mark)",
            "save it as UTF-8",
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        _fail(
            "load.encoding",
            file,
            line,
            col,
            "<file>",
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            "save it as UTF-8",
        )
    raise AssertionError("unreachable")


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def load_text(text: str, file: str = "schema.yaml") -> Source:
    if len(text) > MAX_BYTES // 4 and len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        _too_large(file)
    bad = _FORBIDDEN.search(text)
    if bad:
        line, col = _position(text, bad.start())
        what = (
            "a NUL byte" if bad.group() == "\x00" else f"control character U+{ord(bad.group()):04X}"
        )
        _fail(
            "load.control-char",
            file,
            line,
            col,
            "<file>",
            f"the file contains {what}",
            "a schema is plain text; is this a binary or UTF-16 file?",
        )
    try:
        _check_shape(text, file)
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
        _fail(
            "load.syntax",
            file,
            line,
            col,
            "<yaml>",
            f"YAML syntax error: {what}",
            "check indentation and quoting near this line",
        )
    if node is None:
        _fail("load.empty", file, 1, 1, "<root>", "the file is empty")
    source = Source(file=file, data=None)
    problems: list[Problem] = []
    source.data = _Builder(source, problems).build(node, ())
    if problems:
        raise SchemaError(problems)
    return source


def _check_shape(text: str, file: str) -> None:
    """Stream the parser's events (flat, no recursion) and refuse deep nesting and alias
    bombs before the composer builds anything: each anchored node's expanded size is known
    when it ends, and each alias adds that size to the total."""
    depth = 0
    total = 0
    sizes: dict[str, int] = {}  # anchor -> size of its node once expanded
    open_nodes: list[list] = []  # [anchor, size so far] per open collection
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            anchor, size = open_nodes.pop()
            if anchor:
                sizes[anchor] = size
            if open_nodes:
                open_nodes[-1][1] += size
            continue
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line, col = _mark(event)
                _fail(
                    "load.too-deep",
                    file,
                    line,
                    col,
                    "<yaml>",
                    f"nesting deeper than {MAX_DEPTH} levels",
                    "the schema format nests about 7 levels",
                )
            open_nodes.append([event.anchor, 1])
            total += 1
        elif isinstance(event, yaml.AliasEvent):
            size = sizes.get(event.anchor, 1)
            total += size
            if open_nodes:
                open_nodes[-1][1] += size
        elif isinstance(event, yaml.ScalarEvent):
            total += 1
            if event.anchor:
                sizes[event.anchor] = 1
            if open_nodes:
                open_nodes[-1][1] += 1
        if total > MAX_NODES:
            line, col = _mark(event)
            _fail(
                "load.too-many-nodes",
                file,
                line,
                col,
                "<yaml>",
                f"the document expands to more than {MAX_NODES:,} values (through aliases?)",
                "do not nest aliases (*name) of anchors (&name) that hold aliases",
            )


class _Builder:
    def __init__(self, source: Source, problems: list[Problem]):
        self.source = source
        self.problems = problems
        self.nodes = 0

    def error(self, code: str, node, path: Path_, message: str, hint: str | None = None):
        if len(self.problems) >= MAX_PROBLEMS:
            return  # the first ones are enough to act on
        line, col = _mark(node)
        self.problems.append(
            Problem(self.source.file, line, col, dotted(path), message, hint, code=code)
        )

    def build(self, node: yaml.Node, path: Path_, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            # _check_shape bounded the events; only an alias inside its own anchor gets here
            self.error(
                "load.alias-loop",
                node,
                path,
                "an alias refers to a node that contains it (endless nesting)",
                "an anchor (&name) cannot be used (*name) inside itself",
            )
            raise SchemaError(self.problems)
        self.source.positions.setdefault(path, _mark(node))
        allowed = {yaml.MappingNode: {f"{_TAG}map"}, yaml.SequenceNode: {f"{_TAG}seq"}}
        if node.tag not in allowed.get(type(node), _SCALAR_TAGS):
            self.error(
                "load.tag",
                node,
                path,
                f"unsupported tag {_short(node.tag)}",
                "only text, numbers, true/false and null are allowed",
            )
            return None
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self.scalar(node, path)

    def mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            # Keys are names: take the scalar text as written (so `on:` stays "on", not True).
            if key_node.tag == f"{_TAG}merge":
                self.error(
                    "load.merge",
                    key_node,
                    path,
                    "merge keys (<<) are not supported",
                    "write the keys out",
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALAR_TAGS:
                self.error("load.key", key_node, path, "keys must be plain names")
                continue
            key = key_node.value
            child = (*path, key)
            if key in result:
                first = self.source.key_positions[child]
                self.error(
                    "load.duplicate-key",
                    key_node,
                    child,
                    f"duplicate key '{key}'",
                    f"it is already defined at line {first[0]}",
                )
                continue
            self.source.key_positions[child] = _mark(key_node)
            result[key] = self.build(value_node, child, depth + 1)
        return result

    def scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        tag = node.tag
        if tag == f"{_TAG}timestamp":
            return node.value  # dates stay text: the format has no date values
        if tag == f"{_TAG}str" and not node.style and _FLOAT_12.match(node.value):
            tag = f"{_TAG}float"
            node = yaml.ScalarNode(tag, node.value, node.start_mark, node.end_mark)
        digits = node.value.lstrip("+-").replace("_", "")
        if tag == f"{_TAG}int" and len(digits) > MAX_INT_DIGITS:
            value = 2**64  # not built: int() of thousands of digits is slow and refused
        else:
            try:
                value = _CONSTRUCTOR.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError, OverflowError) as exc:
                problem = getattr(exc, "problem", None) or str(exc)
                self.error("load.bad-value", node, path, f"cannot read this value: {problem}")
                return None
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not (-(2**63) <= value < 2**63)
        ):
            self.error(
                "load.int64",
                node,
                path,
                f"the integer ({len(digits)} digits) does not fit in 64 bits",
                "integers are at most 64-bit (19 digits)",
            )
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.error(
                "load.non-finite",
                node,
                path,
                f"'{node.value}' is not a finite number",
                "NaN, infinities and numbers beyond double precision are not allowed",
            )
            return None
        if isinstance(value, str) and _FORBIDDEN.search(value):
            char = _FORBIDDEN.search(value).group()
            self.error(
                "load.text-control-char",
                node,
                path,
                f"the text holds control character U+{ord(char):04X} (written as an escape)",
                "text may hold letters, spaces, tabs and line breaks only",
            )
            return None
        return value


def _short(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag
