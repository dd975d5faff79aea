"""PostgreSQL and TimescaleDB servers, and PGlite (PostgreSQL built to WebAssembly: the tests'
TimescaleDB): psycopg, or adbc-driver-postgresql (binary COPY straight from Arrow)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from . import ConnectionFailed, defer_import
from .adbc import AdbcConnection


def open_psycopg(url: str):
    """A psycopg connection in autocommit mode, without server-side prepared statements:
    PGlite keeps one backend, and psycopg's prepared statements with it, across connections."""
    import psycopg

    try:
        raw = psycopg.connect(url, autocommit=True)
    except psycopg.Error as exc:
        raise ConnectionFailed(f"cannot connect to the PostgreSQL database: {exc}") from None
    raw.prepare_threshold = None
    return raw


def is_pglite(raw) -> bool:
    """Whether a psycopg connection's server is PGlite (it crashes on COPY FROM STDIN over its
    socket, so writers take another way)."""
    return "Emscripten" in raw.execute("SELECT version()").fetchone()[0]


def dollar(sql: str) -> str:
    """%s placeholders to $1, $2, ... (ADBC's PostgreSQL driver binds those)."""
    count = 0

    def next_mark(_match) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return re.sub(r"%s", next_mark, sql)


# pg_advisory_xact_lock's key for loads: the bytes of "liamload" (any fixed bigint would do)
LOAD_LOCK = int.from_bytes(b"liamload", "big")


class AdbcPostgres(AdbcConnection):
    """The statements of an adbc-driver-postgresql connection."""

    def open_adbc(self, url: str) -> None:
        defer_import("pyarrow.dataset")
        from adbc_driver_postgresql import dbapi

        self.errors = (dbapi.Error,)
        try:
            self.raw = dbapi.connect(url, autocommit=True)  # the caller says BEGIN and COMMIT
        except dbapi.Error as exc:
            raise ConnectionFailed(f"cannot connect to the PostgreSQL database: {exc}") from None
        self.in_transaction = False

    def statement(self, sql, params):
        return dollar(sql) if params else sql

    def begin_load(self) -> None:
        """BEGIN and the loads' advisory lock: loads into one database run one after the
        other, each from its first statement to its commit. Two loads into one session read
        the session's last record index in turn (unique, continuous indexes), and no load
        waits for another's ACCESS EXCLUSIVE lock (the bulk recipe's DROP CONSTRAINT) while
        holding a lock the other needs (`deadlock detected`)."""
        self.begin()
        self.query("SELECT pg_advisory_xact_lock(%s)", [LOAD_LOCK])


class PsycopgConnection:
    """The statements and transaction of a psycopg connection in autocommit mode (`raw`)."""

    raw: Any
    errors: tuple[type[BaseException], ...] = ()

    def attach(self, raw) -> None:
        import psycopg

        self.errors = (psycopg.Error,)
        self.raw = raw
        # its one backend outlives connections, and with it psycopg's prepared statements
        self.raw.prepare_threshold = None

    def execute(self, sql: str, params: Iterable[Any] = ()) -> None:
        self.raw.execute(sql, tuple(params))

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        return self.raw.execute(sql, tuple(params)).fetchall()

    def begin(self) -> None:
        self.raw.execute("BEGIN")

    def commit(self) -> None:
        self.raw.execute("COMMIT")

    def rollback(self) -> None:
        from psycopg.pq import TransactionStatus

        if self.raw.info.transaction_status != TransactionStatus.IDLE:
            self.raw.execute("ROLLBACK")

    def close(self) -> None:
        self.raw.close()
