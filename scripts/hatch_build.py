"""The wheel's build hook (hatchling; pyproject.toml [tool.hatch.build.targets.wheel.hooks]).

A checkout keeps its rooms at the top level (`connection/`, `ingest/`, `derive/`), where they
import each other by those names. Installed under those names they would collide with whatever
else a user's environment calls `ingest` or `connection`, so the wheel places them inside one
package (`liam_erd_schema/`, which in a checkout holds the command alone) and rewrites their
imports of each other to match:

    from connection.sqlite import AdbcSqlite
    ->  from liam_erd_schema.connection.sqlite import AdbcSqlite

Only `from ROOM... import` statements (absolute, at any depth of the code) are rewritten, with
libcst, so every other byte of a file stays as written; `generator` is not a room here (it
ships at the top level as it is). An `import ROOM` statement would bind the bare name that the
rest of the module uses, so the build refuses one, naming its file and line. The schema the
package was built with goes in beside the rooms (`liam_erd_schema/schema.yaml`:
connection/schema.py reads it). An editable install (`pip install -e .`) runs the checkout as
it is: nothing to do.
"""

from __future__ import annotations

import ast
import shutil
import tempfile
from pathlib import Path

import libcst as cst

try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # the tests import the rewriter alone
    BuildHookInterface = object  # type: ignore[assignment,misc]


class RoomImportError(Exception):
    """An import the wheel cannot carry into the package (file:line: what, and what instead)."""


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    raise TypeError(node)


class _Rewrite(cst.CSTTransformer):
    def __init__(self, package: str, rooms: frozenset[str]):
        super().__init__()
        self.package, self.rooms = package, rooms

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom):
        if updated.relative or updated.module is None:
            return updated
        name = _dotted(updated.module)
        if name.split(".")[0] not in self.rooms:
            return updated
        return updated.with_changes(module=cst.parse_expression(f"{self.package}.{name}"))


def rewrite(source: str, file: str, package: str, rooms: frozenset[str]) -> str:
    """`source` with its absolute `from ROOM... import` statements made `from PACKAGE.ROOM...`;
    RoomImportError for an `import ROOM` statement."""
    found = room_imports(source, rooms)
    for line, statement in found:
        if statement.startswith("import "):
            name = statement.removeprefix("import ")
            raise RoomImportError(
                f"{file}:{line}: `{statement}` cannot move into the {package} package of the "
                f"wheel; write `from {name} import ...`"
            )
    if not found:
        return source  # most files: nothing to parse twice
    code = cst.parse_module(source).visit(_Rewrite(package, rooms)).code
    left = room_imports(code, rooms)
    if left:  # cannot happen unless the rewriter is wrong: the wheel must not ship it
        raise RoomImportError(f"{file}:{left[0][0]}: `{left[0][1]}` left unrewritten")
    return code


def room_imports(source: str, rooms: frozenset[str] | set[str]) -> list[tuple[int, str]]:
    """(line, `import ROOM...` or `from ROOM...`) of each absolute import of a room by its bare
    name in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, f"import {alias.name}")
                for alias in node.names
                if alias.name.split(".")[0] in rooms
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in rooms:
                found.append((node.lineno, f"from {node.module}"))
    return sorted(found)


def place(root: Path, out: Path, package: str, rooms: list[str], data: list[str]) -> dict:
    """Copy the package folder and the rooms from `root` into `out/package/`, rewritten, and
    the data files beside them; {path written: its path in the wheel} for hatchling."""
    names = frozenset(rooms)
    target = out / package
    sources = [(root / package, target), *((root / r, target / r) for r in rooms)]
    for src, dst in sources:
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for path in sorted(dst.rglob("*.py")):
            file = path.relative_to(out).as_posix()
            text = path.read_text(encoding="utf-8")
            path.write_text(rewrite(text, file, package, names), encoding="utf-8")
    for name in data:
        shutil.copy2(root / name, target / name)
    return {str(target): package}


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        self._out = Path(tempfile.mkdtemp(prefix="liam-erd-schema-wheel-"))
        mapping = place(
            Path(self.root),
            self._out,
            self.config["package"],
            list(self.config["rooms"]),
            list(self.config.get("data", [])),
        )
        build_data["force_include"].update(mapping)

    def finalize(self, version: str, build_data: dict, artifact_path: str) -> None:
        out = getattr(self, "_out", None)
        if out is not None:
            shutil.rmtree(out, ignore_errors=True)
