"""The only module that touches the output tree.

A run is all or nothing. Outputs are written only after everything rendered without error;
then every changed file is first written in full to a temporary file next to it
(`.<name>.<random>.tmp`), and only when all of them are on disk are they renamed over the old
files. If anything fails on the way (a full disk or a file-size limit, a read-only folder, a
target path that is a directory, permission denied), the temporary files are removed, files
already renamed get their previous bytes back, and directories the run created are removed:
every output is exactly as it was, and :class:`WriteError` says which path failed and why.
Temporary files left by an interrupted run are removed by the next run.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FILE_MODE = 0o644
_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


class WriteError(Exception):
    """An output could not be read or written; nothing in the output tree was changed."""

    def __init__(self, path: Path | str, action: str, reason: str):
        self.path = str(path)
        self.action = action
        self.reason = reason
        super().__init__(f"{self.path}: {action}: {reason}")


def _reason(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if exc.errno in _FULL:
        reason += " (the disk is full or a file-size limit was reached)"
    return reason


@contextlib.contextmanager
def _os_errors(action: str, fallback: Path) -> Iterator[None]:
    """Any OSError not already explained (e.g. a parent folder that cannot be searched)
    becomes a WriteError naming the path the system names."""
    try:
        yield
    except OSError as exc:
        raise WriteError(exc.filename or fallback, action, _reason(exc)) from None


def normalise(content: str | bytes) -> bytes:
    """LF line endings and exactly one trailing newline, for text; bytes pass through."""
    if isinstance(content, bytes):
        return content
    text = content.replace("\r\n", "\n").rstrip("\n") + "\n"
    return text.encode("utf-8")


def require_directory(root: Path) -> None:
    """WriteError unless `root` is a directory or does not exist yet."""
    if root.exists() and not root.is_dir():
        raise WriteError(root, "cannot be the output folder", "it is not a directory")


@dataclass(frozen=True)
class _Change:
    rel: str
    data: bytes
    old: bytes | None  # the bytes on disk before the run; None when there was no file


def _plan(root: Path, outputs: dict[str, str | bytes]) -> list[_Change]:
    require_directory(root)
    plan = []
    for rel, content in sorted(outputs.items()):
        data = normalise(content)
        path = root / rel
        try:
            old: bytes | None = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            old = None  # missing, or in the way: reported when it is written
        except OSError as exc:
            raise WriteError(path, "cannot read", _reason(exc)) from None
        if old != data:
            plan.append(_Change(rel, data, old))
    return plan


def changed(root: Path, outputs: dict[str, str | bytes]) -> dict[str, bytes]:
    """The outputs whose bytes differ from what is on disk (or that are missing)."""
    with _os_errors("cannot read", Path(root)):
        return {change.rel: change.data for change in _plan(Path(root), outputs)}


def _temporaries(directory: Path, name: str) -> list[Path]:
    return sorted(directory.glob(f".{glob.escape(name)}.*.tmp"))


def remove_stale_temporaries(root: Path, rels) -> list[Path]:
    """Remove `.<name>.*.tmp` files an interrupted run left next to these outputs."""
    removed = []
    for rel in sorted(set(rels)):
        path = Path(root) / rel
        try:
            stales = _temporaries(path.parent, path.name) if path.parent.is_dir() else []
        except OSError:
            continue  # a folder we cannot read: the write itself will say why
        for stale in stales:
            try:
                stale.unlink()
            except OSError:
                continue  # not ours to remove (or already gone): harmless, never renamed
            removed.append(stale)
    return removed


def _make_directory(directory: Path, created: list[Path]) -> None:
    """mkdir -p that records each directory it creates (for rollback)."""
    missing = []
    probe = directory
    while not probe.exists():
        if probe.is_symlink():  # a dangling link: do not create through it
            raise WriteError(probe, "cannot create directory", "a broken symbolic link")
        missing.append(probe)
        probe = probe.parent
    if not probe.is_dir():
        raise WriteError(probe, "cannot create a directory in it", "it is not a directory")
    for path in reversed(missing):
        try:
            path.mkdir()
        except OSError as exc:
            raise WriteError(path, "cannot create directory", _reason(exc)) from None
        created.append(path)


def _remove_directories(created: list[Path]) -> None:
    for path in reversed(created):
        try:
            path.rmdir()
        except OSError:
            pass


def _stage(path: Path, data: bytes) -> Path:
    """Write `data` in full to a temporary file next to `path`; return its path."""
    import tempfile  # only a run that writes something needs it

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise WriteError(path, "cannot write", _reason(exc)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, FILE_MODE)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise WriteError(path, "cannot write", _reason(exc)) from None
        raise
    return Path(tmp)


def _restore(path: Path, old: bytes | None) -> None:
    """Best effort: put back what was at `path` before this run."""
    try:
        if old is None:
            path.unlink(missing_ok=True)
        else:
            os.replace(_stage(path, old), path)
    except (OSError, WriteError):
        pass


def write_all(root: Path, outputs: dict[str, str | bytes]) -> list[str]:
    """Write what changed, all or nothing; return the relative paths written.

    Raises WriteError, after undoing everything, when any output cannot be written.
    """
    root = Path(root)
    with _os_errors("cannot write", root):
        return _write_all(root, outputs)


def _write_all(root: Path, outputs: dict[str, str | bytes]) -> list[str]:
    plan = _plan(root, outputs)
    remove_stale_temporaries(root, outputs)
    created: list[Path] = []
    staged: list[tuple[_Change, Path]] = []
    renamed: list[_Change] = []
    try:
        for change in plan:
            path = root / change.rel
            _make_directory(path.parent, created)
            staged.append((change, _stage(path, change.data)))
        for change, tmp in staged:
            path = root / change.rel
            try:
                os.replace(tmp, path)
            except OSError as exc:
                reason = "it is a directory" if path.is_dir() else _reason(exc)
                raise WriteError(path, "cannot replace", reason) from None
            renamed.append(change)
    except BaseException:
        for change in reversed(renamed):
            _restore(root / change.rel, change.old)
        for _, tmp in staged:
            tmp.unlink(missing_ok=True)
        _remove_directories(created)
        raise
    return [change.rel for change in plan]


# SQLite result codes that mean the file system, not the DDL, failed.
_SQLITE_IO = {
    3,  # SQLITE_PERM
    8,  # SQLITE_READONLY
    10,  # SQLITE_IOERR
    13,  # SQLITE_FULL
    14,  # SQLITE_CANTOPEN
}


def write_sqlite_database(path: Path, ddl: str) -> None:
    """Build a fresh SQLite database from DDL next to `path`, then rename it into place.

    All or nothing like write_all: on failure the previous database (if any) is untouched
    and WriteError names the path. Leftover `.<name>.*.tmp` files are removed first.
    """
    path = Path(path)
    with _os_errors("cannot write", path):
        _write_sqlite_database(path, ddl)


def _write_sqlite_database(path: Path, ddl: str) -> None:
    import sqlite3  # only `db` needs it

    remove_stale_temporaries(path.parent, [path.name])
    if path.is_dir():
        raise WriteError(path, "cannot replace", "it is a directory")
    created: list[Path] = []
    tmp: Path | None = None
    try:
        _make_directory(path.parent, created)
        tmp = _stage(path, b"")
        try:
            connection = sqlite3.connect(tmp)
            try:
                # A database built from scratch needs no rollback journal on disk.
                connection.execute("PRAGMA journal_mode = MEMORY")
                connection.executescript(ddl)
                connection.commit()
            finally:
                connection.close()
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code in _SQLITE_IO:
                reason = str(exc)
                if code in (10, 13):
                    reason += " (is the disk full or a file-size limit reached?)"
                raise WriteError(path, "cannot build the database", reason) from None
            raise
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise WriteError(path, "cannot replace", _reason(exc)) from None
        tmp = None
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        _remove_directories(created)
        raise
