"""Which schema.yaml the commands that write a database read (the loader's rules, its sidecar
check and the SQLite table it compares with): the one the package was built with, or the
user's own (`--schema PATH`).

The one they were built with sits beside the rooms: `schema.yaml` in a checkout's root, where
`connection/` is a folder of it, and `liam_erd_schema/schema.yaml` in the installed wheel,
where `connection/` is `liam_erd_schema/connection/` (pyproject.toml: the wheel's build).
The same relative path finds both, so no code asks which of the two it runs from.
"""

from __future__ import annotations

import os
import pickle
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
    """Loaded and validated, or read from the run cache (generator/cache.py: the same
    directory, its safety checks and its key: the schema's bytes, the generator's files, the
    installed libraries, the interpreter), where a load of the same schema left it: a command
    that writes a database then starts without YAML, the validator or pglast (about 0.2 s of
    the loader's start-up on a quiet machine). A schema with problems is never stored, so
    every message comes from the code that runs now; an entry that cannot be read is a miss."""
    from generator import cache, load_schema

    where = cache.directory()
    raw = cache.read_schema(path) if where is not None else None
    entry = where / f"model-{cache.key(raw, str(path), {'model': PICKLE})}.pickle" if raw else None
    if entry is not None:
        try:
            with open(entry, "rb") as handle:
                return pickle.load(handle)
        except Exception:  # missing, damaged or of another version: a miss
            pass
    model = load_schema(path)
    if entry is not None and cache.read_schema(path) == raw:  # the bytes the key was made of
        tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(pickle.dumps(model, protocol=PICKLE))
            os.replace(tmp, entry)
            _prune(where, cache.MAX_ENTRIES)
        except OSError:
            tmp.unlink(missing_ok=True)
    return model


def _prune(where: Path, keep: int) -> None:
    """At most `keep` cached models, the newest."""
    entries = sorted(where.glob("model-*.pickle"), key=lambda e: e.stat().st_mtime_ns)
    for old in entries[:-keep]:
        old.unlink(missing_ok=True)


PICKLE = 5  # the pickle protocol of a cached model; part of its key
