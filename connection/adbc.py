"""The statement and transaction part shared by the ADBC (Arrow Database Connectivity) drivers:
an autocommit dbapi connection (`raw`) on which the caller says BEGIN and COMMIT itself."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class AdbcConnection:
    begin_sql = "BEGIN"
    raw: Any
    errors: tuple[type[BaseException], ...] = ()
    in_transaction = False

    def statement(self, sql: str, params: tuple) -> str:
        """`sql` with the driver's placeholders for `%s`."""
        raise NotImplementedError

    def execute(self, sql: str, params: Iterable[Any] = ()) -> None:
        self.query(sql, params, fetch=False)

    def query(self, sql: str, params: Iterable[Any] = (), fetch: bool = True) -> list[tuple]:
        params = tuple(params)
        # a fresh cursor each time: after an error ADBC's keeps the old statement's binding
        with self.raw.cursor() as cursor:
            cursor.execute(self.statement(sql, params), params or None)
            return [tuple(r) for r in cursor.fetchall()] if fetch else []

    def begin(self) -> None:
        self.execute(self.begin_sql)
        self.in_transaction = True

    def begin_load(self) -> None:
        """BEGIN for a load: SQLite's BEGIN IMMEDIATE takes the database's write lock, so a
        second load waits for the first (PostgreSQL: see AdbcPostgres.begin_load)."""
        self.begin()

    def commit(self) -> None:
        self.execute("COMMIT")
        self.in_transaction = False

    def rollback(self) -> None:
        if self.in_transaction:
            self.in_transaction = False
            self.execute("ROLLBACK")

    def close(self) -> None:
        self.raw.close()
