"""The only module that touches the output tree.

Outputs are written only after everything rendered without error; each changed file goes to a
temporary file in its own directory and is renamed over the old one, so a reader never sees a
half-written file and a failed run leaves every previous output as it was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def normalise(content: str | bytes) -> bytes:
    """LF line endings and exactly one trailing newline, for text; bytes pass through."""
    if isinstance(content, bytes):
        return content
    text = content.replace("\r\n", "\n").rstrip("\n") + "\n"
    return text.encode("utf-8")


def changed(root: Path, outputs: dict[str, str | bytes]) -> dict[str, bytes]:
    """The outputs whose bytes differ from what is on disk (or that are missing)."""
    result = {}
    for rel, content in sorted(outputs.items()):
        data = normalise(content)
        path = root / rel
        try:
            if path.read_bytes() == data:
                continue
        except FileNotFoundError:
            pass
        result[rel] = data
    return result


def write_all(root: Path, outputs: dict[str, str | bytes]) -> list[str]:
    """Write what changed, atomically per file; return the relative paths written."""
    todo = changed(root, outputs)
    for rel, data in todo.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return list(todo)


def write_sqlite_database(path: Path, ddl: str) -> None:
    """Build a fresh SQLite database from DDL next to `path`, then rename it into place."""
    import sqlite3

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        connection = sqlite3.connect(tmp)
        try:
            connection.executescript(ddl)
            connection.commit()
        finally:
            connection.close()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
