"""The run cache: a finished `sql` run, kept under a key made of everything that decides it.

`sql` is a pure function of the schema file's bytes, the generator's own files (code,
templates, JSON schema), the installed libraries and the interpreter (ARCHITECTURE.md: every
output is a pure function of the model, and nothing else is read). A run that loaded,
validated and rendered its outputs (and self-checked them, with --self-check, which is part of
the key) stores them here under the SHA-256 of all of
those inputs; a later run with the same inputs writes the stored outputs without importing the
YAML parser, the validator, sqlglot, Jinja or pglast. What changes the key:
- any byte of the schema file, or its name as given (it appears in messages);
- any file of the generator package (an edit of a checkout's code or templates included);
- any installed distribution (name, version, and its RECORD file's size and time, so a
  reinstall of the same version counts too), and the Python version;
- the command's options (targets, --self-check).
Only successful runs are stored: a schema with problems is loaded and validated every time,
so every message and location comes from the code that runs now.

Where: $LIAM_ERD_SCHEMA_CACHE if set (`off` or empty turns the cache off), else
$XDG_CACHE_HOME/liam-erd-schema, else ~/.cache/liam-erd-schema. A directory that is missing
and cannot be made, cannot be written, is not the user's own or can be written by others is
not used (a writable cache would let another user choose the SQL written); the run then does
the work itself. A damaged entry is a miss. At most MAX_ENTRIES entries are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from pathlib import Path

ENV = "LIAM_ERD_SCHEMA_CACHE"
FORMAT = 1  # of an entry; part of the key
MAX_ENTRIES = 32
MAX_SCHEMA_BYTES = 1024 * 1024  # read at most this; the loader refuses over 512 KiB
PACKAGE = Path(__file__).resolve().parent


def directory() -> Path | None:
    """The cache directory to use, or None when the cache is off or not safe to use."""
    configured = os.environ.get(ENV)
    if configured is not None:
        if configured.strip().lower() in ("", "off", "0", "no", "false"):
            return None
        path = Path(configured)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = Path(base) / "liam-erd-schema"
    return path if _private(path) else None


def _private(path: Path) -> bool:
    """The directory exists (made if need be), is ours and no one else can write to it."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return False
    return os.access(path, os.W_OK | os.X_OK)


def read_schema(path: str | Path) -> bytes | None:
    """The schema file's bytes (never more than the loader's limit allows it to see past), or
    None if it cannot be read (the loader then reads it itself and reports why). The run uses
    exactly these bytes, so the key and the outputs stored under it come from one reading."""
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_SCHEMA_BYTES)
    except OSError:
        return None


def _package_files(digest) -> None:
    for file in sorted(PACKAGE.rglob("*")):
        if "__pycache__" in file.parts or not file.is_file():
            continue
        digest.update(b"\0file\0" + str(file.relative_to(PACKAGE)).encode() + b"\0")
        digest.update(file.read_bytes())


def _distributions(digest) -> None:
    seen = set()
    for entry in sys.path:
        if not entry or not os.path.isdir(entry) or entry in seen:
            continue
        seen.add(entry)
        try:
            names = sorted(
                e.name for e in os.scandir(entry) if e.name.endswith((".dist-info", ".egg-info"))
            )
        except OSError:
            continue
        digest.update(b"\0path\0" + entry.encode("utf-8", "surrogateescape"))
        for name in names:
            digest.update(b"\0dist\0" + name.encode("utf-8", "surrogateescape"))
            try:
                record = os.stat(os.path.join(entry, name, "RECORD"))
                digest.update(f"{record.st_size}:{record.st_mtime_ns}".encode())
            except OSError:
                pass


def key(raw: bytes, file: str, options: dict) -> str:
    """The SHA-256 of every input of a run (see the module's docstring)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([FORMAT, sys.version, sys.platform, options, file]).encode())
    _package_files(digest)
    _distributions(digest)
    digest.update(b"\0schema\0" + raw)
    return digest.hexdigest()


def get(where: Path, run_key: str) -> dict[str, str] | None:
    """The outputs stored under `run_key`, or None (missing, unreadable or damaged)."""
    try:
        entry = json.loads((where / f"{run_key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != run_key:
        return None
    outputs = entry.get("outputs")
    if not isinstance(outputs, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in outputs.items()
    ):
        return None
    text = json.dumps(outputs, sort_keys=True, ensure_ascii=False).encode()
    if hashlib.sha256(text).hexdigest() != entry.get("sha256"):
        return None
    return outputs


def put(where: Path, run_key: str, outputs: dict[str, str]) -> None:
    """Store a run's outputs; a cache that cannot be written is simply not used."""
    text = json.dumps(outputs, sort_keys=True, ensure_ascii=False)
    entry = {
        "key": run_key,
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "outputs": outputs,
    }
    target = where / f"{run_key}.json"
    tmp = where / f".{run_key}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
        return
    _prune(where)


def _prune(where: Path) -> None:
    try:
        entries = [e for e in os.scandir(where) if e.name.endswith(".json") and e.is_file()]
        entries.sort(key=lambda e: e.stat().st_mtime_ns, reverse=True)
        for old in entries[MAX_ENTRIES:]:
            os.unlink(old.path)
    except OSError:
        pass
