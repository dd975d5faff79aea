"""The connection layer: the database URLs the commands take, and the per-engine code that
opens a connection and runs statements on it, shared by ingest, derive, bench and the tests.

- `parse` reads a URL: `sqlite:///path` or a plain path (SQLite), `postgresql://...`,
  `postgres://...` or a libpq `key=value` DSN (PostgreSQL, TimescaleDB, PGlite), and
  `chdb:///dir?database=NAME` (ClickHouse in process through chdb).
- `connection.sqlite`, `connection.postgres`, `connection.clickhouse`: opening a connection of
  that engine and the statement/transaction part of a database object (placeholders,
  BEGIN/COMMIT, the driver's errors); `connection.dbapi` wraps an open sqlite3 or psycopg
  connection the caller owns.
- `connection.schema`: the schema.yaml the commands that write a database read (the one the
  package was built with, or the command's `--schema`).

It builds on the generator only; each driver is imported when a connection of its kind is
opened, so importing this package costs nothing (`python -m ingest --help` loads no driver).
Failures raise `ConnectionFailed` with the message the user sees; each command re-raises it as
its own error (ingest: UsageError, derive: DeriveError), exit codes unchanged.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass

# the URL forms, as the error for any other names them
URL_FORMS = "sqlite:///path, postgresql://..., or chdb:///path?database=NAME"


class ConnectionFailed(Exception):
    """A database could not be opened (bad URL, missing file or directory, server refused,
    driver missing): the message says why."""


@dataclass(frozen=True)
class Url:
    kind: str  # sqlite | postgres | clickhouse
    text: str  # the URL as given
    path: str = ""  # sqlite: the database file; clickhouse: the chdb data directory
    database: str = ""  # clickhouse: the database in that directory


def parse(url: str) -> Url:
    """What `url` names (see the module's docstring); ConnectionFailed for another scheme."""
    if url.startswith("chdb://"):
        path, _, query = url[len("chdb://") :].partition("?")
        options = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
        return Url("clickhouse", url, path, options.get("database", "default"))
    if url.startswith(("postgresql://", "postgres://")) or "dbname=" in url:
        return Url("postgres", url)
    if url.startswith("sqlite:///"):
        return Url("sqlite", url, url[len("sqlite:///") :])
    if "://" in url:
        raise ConnectionFailed(f"unsupported database URL {url!r} ({URL_FORMS})")
    return Url("sqlite", url, url)


def defer_import(name: str) -> None:
    """Make `import name` cheap until the module is used: the ADBC drivers' dbapi imports
    pyarrow.dataset (and with it Parquet) for a type test the loader never needs, a tenth of
    its start-up; the module runs on its first attribute access."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
