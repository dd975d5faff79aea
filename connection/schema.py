"""Which schema.yaml the commands that write a database read (the loader's rules, its sidecar
check and the SQLite table it compares with): the one the package was built with, or the
user's own (`--schema PATH`).

The one they were built with sits beside the rooms: `schema.yaml` in a checkout's root, where
`connection/` is a folder of it, and `liam_erd_schema/schema.yaml` in the installed wheel,
where `connection/` is `liam_erd_schema/connection/` (pyproject.toml: the wheel's build).
The same relative path finds both, so no code asks which of the two it runs from.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.model import Schema

BUILT_WITH = Path(__file__).resolve().parents[1] / "schema.yaml"

_chosen: list[Path] = []  # --schema of the running command (innermost last)


def schema_file() -> Path:
    """The schema in force: the command's `--schema`, else the one the package was built with."""
    return _chosen[-1] if _chosen else BUILT_WITH


@contextmanager
def using(path: str | Path | None) -> Iterator[Path]:
    """Within the block, `schema_file()` is `path` (None: the built-in one)."""
    _chosen.append(Path(path) if path is not None else BUILT_WITH)
    try:
        yield _chosen[-1]
    finally:
        _chosen.pop()


def model() -> Schema:
    """The schema in force, loaded and validated once per file and process; SchemaError (with
    UnreadableSchema for a file that cannot be read) lists its problems."""
    return _load(schema_file())


@cache
def _load(path: Path) -> Schema:
    from generator import load_schema

    return load_schema(path)
