"""An open sqlite3 or psycopg connection that the caller owns, behind one small interface:
`%s` placeholders on both, the rows a statement wrote, and a transaction that is a savepoint
when the caller's connection is already inside one."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .sqlite import placeholders


def is_dbapi(raw: Any) -> bool:
    """Whether `raw` is a connection DbapiConnection takes (sqlite3 or psycopg)."""
    return isinstance(raw, sqlite3.Connection) or type(raw).__module__.split(".")[0] == "psycopg"


class DbapiConnection:
    """sqlite3 (`?`) and psycopg (`%s`) behind one interface."""

    def __init__(self, raw: Any, savepoint: str = "sp"):
        self.raw = raw
        self.savepoint = savepoint
        self.sqlite = isinstance(raw, sqlite3.Connection)
        if self.sqlite:
            self.errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
        else:
            import psycopg

            self.errors = (psycopg.Error,)
        # decided once, before any statement of ours: a psycopg connection that is not in
        # autocommit mode opens a transaction with our first SELECT, which is then ours
        self.callers_transaction = self.in_transaction()

    def execute(self, text: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it inserted or changed."""
        cursor = self._cursor(text, params)
        if self.sqlite:  # sqlite3's rowcount is -1 for a statement that starts with WITH
            return self.raw.execute("SELECT changes()").fetchone()[0]
        return cursor.rowcount

    def query(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._cursor(text, params).fetchall()

    def _cursor(self, text: str, params: Sequence[Any]):
        if self.sqlite:
            return self.raw.execute(placeholders(text), tuple(params))
        return self.raw.execute(text, tuple(params))

    def in_transaction(self) -> bool:
        if self.sqlite:
            return self.raw.in_transaction
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN/COMMIT, or a savepoint inside the caller's open transaction."""
        if self.callers_transaction:
            self.execute(f"SAVEPOINT {self.savepoint}")
            try:
                yield
            except BaseException:
                self.execute(f"ROLLBACK TO SAVEPOINT {self.savepoint}")
                self.execute(f"RELEASE SAVEPOINT {self.savepoint}")
                raise
            self.execute(f"RELEASE SAVEPOINT {self.savepoint}")
            return
        implicit = not self.sqlite and not self.raw.autocommit  # psycopg opens it itself
        if not implicit:
            self.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.raw.rollback() if implicit else self.execute("ROLLBACK")
            raise
        self.raw.commit() if implicit else self.execute("COMMIT")
