"""Load the dataset into one engine, measure it with the engine's own accounting, query it.

One :class:`EngineRun` per engine: SQLite (Python's sqlite3), PostgreSQL 15 and 18 and
TimescaleDB (PGlite over a socket), the last three started by the test harness
(the harness/ package) and always stopped by it.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import sqlite3
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from connection.sqlite import open_sqlite3
from generator import load_schema
from generator.model import ElapsedAsStart, Schema
from generator.sqltext import split_statements

from . import dataset, pgbinary, queries

ROOT = Path(__file__).resolve().parents[1]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
POINT_TYPES = [
    "timestamptz",
    "float8",
    "int4",
    "int4",
    "int4",
    "float4",
    "float4",
    "float4",
    "int2",
]
SQLITE_ROWS_PER_INSERT = 100  # 900 parameters, well under SQLite's 32766
TIMESCALE_BATCH_ROWS = 10_000  # larger messages are slower through pglite-socket
LABEL_METHOD = "coulomb_counting"
CELL = ("Bench Cells", "INR21700-50E", "NMC", "cylindrical", 5.0, 3.6, 2.5, 4.2)
SESSION = ("Cycle aging 0.5C/1C", "1.0", "cycle_aging", "Bench cycler, 8 channels")


@dataclass
class RunConfig:
    engine: str
    scratch: Path
    ddl_path: Path
    variant: str | None = None
    loader: str | None = None
    query_runs: int = 7
    batch_rows: int = dataset.BATCH_ROWS
    options: dict = field(default_factory=dict)


def timed() -> Iterator[float]:
    """``t = timed(); next(t)`` ... ``next(t)`` returns seconds since the first call."""
    start = time.perf_counter()
    while True:
        yield time.perf_counter() - start


def vm_hwm_kib(pid: int | None) -> int | None:
    """Peak resident set size of a process (VmHWM), in KiB."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def process_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time a process has used so far (Linux /proc)."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


class EngineRun:
    """The common sequence; subclasses implement the engine-specific steps."""

    def __init__(self, cfg: RunConfig):
        self.cfg = cfg
        self.manifest = dataset.load_manifest(cfg.scratch)
        self.params = queries.choose_params(self.manifest)
        self.result: dict = {
            "engine": cfg.engine,
            "variant": cfg.variant,
            "loader": cfg.loader or self.default_loader,
            "n": self.manifest.n,
            "errors": [],
        }

    default_loader = ""

    # -- the sequence ------------------------------------------------------------------

    def execute(self) -> dict:
        r = self.result
        r["loadavg_start"] = loadavg()
        with self.session():
            ddl = self.cfg.ddl_path.read_text()
            t = timed()
            next(t)
            self.create_schema(ddl)
            r["ddl_seconds"] = round(next(t), 3)
            self.insert_parents()
            own, server = own_cpu_seconds(), process_cpu_seconds(self.server_pid())
            r["load"] = self.load_points()
            r["load"]["rows_per_second"] = round(self.manifest.n / r["load"]["seconds"])
            r["load"]["loader_cpu_seconds"] = round(own_cpu_seconds() - own, 3)
            after = process_cpu_seconds(self.server_pid())
            if server is not None and after is not None:
                r["load"]["server_cpu_seconds"] = round(after - server, 3)
                r["load"]["rows_per_server_cpu_second"] = round(
                    self.manifest.n / max(after - server, 1e-9)
                )
            r["labels_load"] = self.load_cycles_and_labels()
            r["counts"] = self.counts()
            t = timed()
            next(t)
            self.maintain()
            r["maintenance_seconds"] = round(next(t), 3)
            r["size"] = self.size()
            r["queries"] = self.run_queries()
            if self.cfg.variant is None:
                # same rows, same loader, same run: the denominators of every speed ratio
                r["baseline"] = self.baseline_load()
                r["constraint_costs"] = self.constraint_costs()
            self.after_queries()
            r["memory"] = {
                "loader_peak_rss_kib": own_peak_rss_kib(),
                "server_peak_rss_kib": vm_hwm_kib(self.server_pid()),
                "server_process": self.server_process_name(),
            }
        r["loadavg_end"] = loadavg()
        return r

    # -- hooks -------------------------------------------------------------------------

    @contextlib.contextmanager
    def session(self):
        raise NotImplementedError

    def create_schema(self, ddl: str) -> None:
        raise NotImplementedError

    def insert_parents(self) -> None:
        raise NotImplementedError

    def load_points(self) -> dict:
        raise NotImplementedError

    def load_cycles_and_labels(self) -> dict:
        raise NotImplementedError

    def counts(self) -> dict:
        return {
            table: self.scalar(f"SELECT count(*) FROM {table}")
            for table in ("timeseries_point", "cycle", "label_soc", "label_soh", "test_session")
        }

    def maintain(self) -> None:
        raise NotImplementedError

    def size(self) -> dict:
        raise NotImplementedError

    def run_queries(self) -> dict:
        raise NotImplementedError

    def after_queries(self) -> None:
        pass

    def baseline_load(self) -> dict | None:
        """Load the same samples the same way into a table with the same columns and no
        key, index or constraint: the engine's own speed on this machine in this run."""
        return None

    def constraint_costs(self) -> list[dict] | None:
        """Load the same samples into tables with one kind of constraint each."""
        return None

    def server_pid(self) -> int | None:
        return None

    def server_process_name(self) -> str | None:
        return None

    def scalar(self, sql: str, args: tuple = ()):
        raise NotImplementedError

    # -- shared data -------------------------------------------------------------------

    def cell_rows(self) -> list[tuple]:
        return [
            (c["cell_id"], CELL[0], CELL[1], c["serial_number"], *CELL[2:])
            for c in self.manifest.cells
        ]

    def session_rows(self, to_time) -> list[tuple]:
        return [
            (
                s.session_id,
                s.cell_id,
                *SESSION,
                f"CH{s.cell_id}",
                dataset.AMBIENT_CELSIUS,
                dataset.CHARGE_C_RATE,
                dataset.DISCHARGE_C_RATE,
                to_time(s.started_at_us),
                f"bench/session_{s.session_id:03d}.csv",
            )
            for s in self.manifest.sessions
        ]

    def cycle_rows(self) -> list[tuple]:
        return [
            (
                c.session_id,
                c.cycle_index,
                c.record_index_first,
                c.record_index_last,
                c.test_time_start_second,
                c.test_time_end_second,
            )
            for c in self.manifest.cycles
        ]

    def soh_rows(self) -> list[tuple]:
        return [
            (s, c, "capacity", "nominal", queries.LABEL_VERSION, soh, dataset.NOMINAL_CAPACITY_AH)
            for s, c, soh in self.manifest.soh_labels()
        ]


CELL_COLUMNS = (
    "cell_id, manufacturer, model_name, serial_number, chemistry, form_factor, "
    "nominal_capacity_ah, nominal_voltage_volt, voltage_min_volt, voltage_max_volt"
)
SESSION_COLUMNS = (
    "session_id, cell_id, protocol_name, protocol_version, protocol_type, equipment, channel, "
    "ambient_temperature_celsius, charge_c_rate, discharge_c_rate, started_at, source_file"
)
CYCLE_COLUMNS = (
    "session_id, cycle_index, record_index_first, record_index_last, "
    "test_time_start_second, test_time_end_second"
)
SOH_COLUMNS = (
    "session_id, cycle_index, definition, reference_basis, label_version, soh, "
    "reference_capacity_ah"
)
SOC_COLUMNS = (
    "session_id, record_index, recorded_at, method, label_version, soc, "
    "reference_capacity_ah, initial_soc"
)
POINT_COLUMNS = ", ".join(dataset.POINT_COLUMNS)


def engine_harness():
    """The engine harness the tests use (throwaway servers, always stopped). The bench's
    only import of it (the top-level harness/ package, shared with the tests)."""
    import harness

    return harness


def own_peak_rss_kib() -> int | None:
    """Peak resident set of this process (VmHWM). Not ru_maxrss: Linux carries ru_maxrss
    over execve, so a worker would report the orchestrator's peak as its own."""
    return vm_hwm_kib(os.getpid())


def _placeholders(n: int, mark: str) -> str:
    return "(" + ", ".join([mark] * n) + ")"


# ===================================================================================== SQLite


def _unix_seconds(column: pa.Array) -> list[float]:
    return pc.divide(pc.cast(column.cast(pa.int64()), pa.float64()), 1e6).to_pylist()


class SqliteRun(EngineRun):
    default_loader = "executemany_multi_row"

    @contextlib.contextmanager
    def session(self):
        self.path = self.cfg.scratch / f"{self.cfg.engine}-{self.cfg.variant or 'base'}.sqlite"
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self.conn = open_sqlite3(self.path, must_exist=False)  # as the generated DDL asks
        self.result["version"] = f"SQLite {sqlite3.sqlite_version}"
        self.result["settings"] = {
            "journal_mode": "delete (default)",
            "synchronous": "full (default)",
        }
        try:
            yield
        finally:
            self.conn.close()
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def scalar(self, sql, args=()):
        return self.conn.execute(sql, args).fetchone()[0]

    def create_schema(self, ddl):
        self.conn.executescript(ddl)
        self.result["foreign_keys_enforced"] = bool(self.scalar("PRAGMA foreign_keys"))

    def insert_parents(self):
        c = self.conn
        c.execute("BEGIN")
        c.executemany(
            f"INSERT INTO battery_cell ({CELL_COLUMNS}) VALUES {_placeholders(10, '?')}",
            self.cell_rows(),
        )
        c.executemany(
            f"INSERT INTO test_session ({SESSION_COLUMNS}) VALUES {_placeholders(12, '?')}",
            self.session_rows(lambda us: us / 1e6),
        )
        c.execute("COMMIT")

    def _insert_many(self, table: str, columns: str, width: int, rows: list[tuple]) -> None:
        """Multi-row INSERTs of SQLITE_ROWS_PER_INSERT rows, the remainder one by one."""
        single = f"INSERT INTO {table} ({columns}) VALUES {_placeholders(width, '?')}"
        per = SQLITE_ROWS_PER_INSERT
        if self.result["loader"] == "executemany_single_row":
            self.conn.executemany(single, rows)
            return
        full = len(rows) // per * per
        if full:
            multi = f"INSERT INTO {table} ({columns}) VALUES " + ", ".join(
                [_placeholders(width, "?")] * per
            )
            flat = itertools.chain.from_iterable(rows[:full])
            self.conn.executemany(multi, zip(*[flat] * (width * per), strict=False))
        if full < len(rows):
            self.conn.executemany(single, rows[full:])

    def load_points(self, table: str = "timeseries_point"):
        prep = load = engine_cpu = 0.0
        total = timed()
        next(total)
        self.conn.execute("BEGIN")
        for batch in dataset.point_batches(self.cfg.scratch, self.cfg.batch_rows):
            t = time.perf_counter()
            columns = [_unix_seconds(batch.column(0))]
            columns += [batch.column(i).to_pylist() for i in range(1, batch.num_columns)]
            rows = list(zip(*columns, strict=True))
            t2, c2 = time.perf_counter(), own_cpu_seconds()
            self._insert_many(table, POINT_COLUMNS, 9, rows)
            load += time.perf_counter() - t2
            engine_cpu += own_cpu_seconds() - c2
            prep += t2 - t
        t, c = time.perf_counter(), own_cpu_seconds()
        self.conn.execute("COMMIT")
        load += time.perf_counter() - t
        engine_cpu += own_cpu_seconds() - c
        return {
            "method": "one transaction, executemany of "
            + (
                "single-row INSERTs"
                if self.result["loader"] == "executemany_single_row"
                else f"{SQLITE_ROWS_PER_INSERT}-row INSERTs"
            ),
            "seconds": round(load, 3),
            "client_prepare_seconds": round(prep, 3),
            "end_to_end_seconds": round(next(total), 3),
            "timed": "executemany and COMMIT; reading Parquet into Python tuples is client_prepare",
            "engine_cpu_seconds": round(engine_cpu, 3),
            "rows_per_engine_cpu_second": round(self.manifest.n / max(engine_cpu, 1e-9)),
        }

    def baseline_load(self):
        columns = ", ".join(
            f"{name} {kind}"
            for name, kind in self.conn.execute(
                "SELECT name, type FROM pragma_table_info('timeseries_point') ORDER BY cid"
            )
        )
        self.conn.execute(f"CREATE TABLE timeseries_point_bare ({columns}) STRICT")
        try:
            load = self.load_points("timeseries_point_bare")
        finally:
            self.conn.execute("DROP TABLE timeseries_point_bare")
        return {
            "table": "same columns and types, STRICT rowid table, no key, index or constraint",
            "method": load["method"],
            "seconds": load["seconds"],
            "rows_per_second": round(self.manifest.n / load["seconds"]),
        }

    def load_cycles_and_labels(self):
        t = timed()
        next(t)
        c = self.conn
        c.execute("BEGIN")
        c.executemany(
            f"INSERT INTO cycle ({CYCLE_COLUMNS}) VALUES {_placeholders(6, '?')}", self.cycle_rows()
        )
        c.executemany(
            f"INSERT INTO label_soh ({SOH_COLUMNS}) VALUES {_placeholders(7, '?')}", self.soh_rows()
        )
        initial = self.manifest.soc_initial
        for batch in dataset.label_batches(self.cfg.scratch, self.cfg.batch_rows):
            n = batch.num_rows
            rows = list(
                zip(
                    batch.column(0).to_pylist(),
                    batch.column(1).to_pylist(),
                    _unix_seconds(batch.column(2)),
                    itertools.repeat(LABEL_METHOD, n),
                    itertools.repeat(queries.LABEL_VERSION, n),
                    batch.column(3).to_pylist(),
                    itertools.repeat(dataset.NOMINAL_CAPACITY_AH, n),
                    itertools.repeat(initial, n),
                    strict=False,
                )
            )
            self._insert_many("label_soc", SOC_COLUMNS, 8, rows)
        c.execute("COMMIT")
        return {"seconds": round(next(t), 3)}

    def maintain(self):
        self.conn.execute("ANALYZE")

    def size(self):
        objects = [
            name
            for (name,) in self.conn.execute(
                "SELECT name FROM sqlite_schema WHERE tbl_name = 'timeseries_point' "
                "AND type IN ('table', 'index') ORDER BY name"
            )
        ]
        per_object = {}
        for name in objects:
            pages, size = self.conn.execute(
                "SELECT count(*), coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?", (name,)
            ).fetchone()
            per_object[name] = {"pages": pages, "bytes": size}
        total = sum(o["bytes"] for o in per_object.values())
        page_size = self.scalar("PRAGMA page_size")
        page_count = self.scalar("PRAGMA page_count")
        freelist = self.scalar("PRAGMA freelist_count")
        payload, unused = self.conn.execute(
            "SELECT sum(payload), sum(unused) FROM dbstat WHERE name = 'timeseries_point'"
        ).fetchone()
        label_soc = self.scalar(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN "
            "(SELECT name FROM sqlite_schema WHERE tbl_name = 'label_soc')"
        )
        return {
            "method": "dbstat virtual table: sum(pgsize) of the table b-tree and its indexes",
            "label_soc_bytes": label_soc,
            "objects": per_object,
            "total_bytes": total,
            "bytes_per_row": round(total / self.manifest.n, 2),
            "payload_bytes_per_row": round(payload / self.manifest.n, 2),
            "unused_bytes_per_row": round(unused / self.manifest.n, 2),
            "database_file_bytes": page_size * page_count,
            "freelist_pages": freelist,
            "page_size": page_size,
        }

    def run_queries(self):
        out = {}
        for q in queries.QUERIES:
            sql = q.sql("sqlite")
            args = queries.query_args(q.key, self.params, lambda us: us / 1e6)
            plan = [row[3] for row in self.conn.execute("EXPLAIN QUERY PLAN " + sql, args)]
            verdict = queries.sqlite_verdict(plan)
            rows, samples = _time_query(
                lambda s=sql, a=args: self.conn.execute(s, a).fetchall(), self.cfg.query_runs
            )
            out[q.key] = {
                "touches_timeseries": q.touches_timeseries,
                "time_ordered": q.time_ordered,
                "rows": rows,
                "median_ms": _median_ms(samples),
                "runs": len(samples),
                "plan": "\n".join(plan),
                **verdict.as_dict(),
            }
        return out


def _time_query(run, runs: int) -> tuple[int, list[float]]:
    rows = len(run())  # warm-up
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        run()
        samples.append(time.perf_counter() - t)
    return rows, samples


# ================================================================================= PostgreSQL


def _pg_time(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def _pg_micros(column: pa.Array) -> pa.Array:
    """A UTC timestamp[us] column as int64 microseconds since 2000-01-01 (PostgreSQL's epoch)."""
    return pc.subtract(column.cast(pa.int64()), pgbinary.PG_EPOCH_US)


class PostgresRun(EngineRun):
    default_loader = "copy_binary"

    def engine_context(self):
        harness = engine_harness()
        return {"postgres15": harness.postgres15, "postgres18": harness.postgres18}[
            self.cfg.engine
        ]()

    @contextlib.contextmanager
    def session(self):
        with self.engine_context() as engine, self.database(engine) as db:
            self.engine = engine
            self.result["version"] = self.version_string(engine)
            self.result["startup_seconds"] = round(engine.startup_seconds, 3)
            with db.connect() as conn:
                conn.prepare_threshold = None  # plan every query run, as an ad-hoc query is
                pgbinary.register(conn)
                self.conn = conn
                self.backend_pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
                self.result["settings"] = {
                    name: conn.execute(f"SHOW {name}").fetchone()[0]
                    for name in ("shared_buffers", "fsync", "synchronous_commit", "wal_level")
                }
                yield

    def database(self, engine):
        return engine.fresh_database("bench")

    def version_string(self, engine) -> str:
        return f"PostgreSQL {engine.version}"

    def server_pid(self):
        return self.backend_pid

    def server_process_name(self):
        return "backend of the loading connection (VmHWM; includes the shared buffers it touched)"

    def scalar(self, sql, args=()):
        return self.conn.execute(sql, args).fetchone()[0]

    def create_schema(self, ddl):
        # One statement at a time, as psql -f does: a continuous aggregate cannot be created
        # inside the implicit transaction of a multi-statement query.
        for statement in split_statements(ddl):
            self.conn.execute(statement)

    def insert_parents(self):
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO battery_cell ({CELL_COLUMNS}) VALUES {_placeholders(10, '%s')}",
                self.cell_rows(),
            )
            cur.executemany(
                f"INSERT INTO test_session ({SESSION_COLUMNS}) VALUES {_placeholders(12, '%s')}",
                self.session_rows(_pg_time),
            )

    def point_columns(self, batch: pa.RecordBatch) -> list[pa.Array]:
        """Arrow columns in wire order; recorded_at as microseconds since 2000-01-01."""
        return [_pg_micros(batch.column(0))] + [
            batch.column(i) for i in range(1, batch.num_columns)
        ]

    def constraints_to_defer(self) -> list[tuple[str, str, str, str | None]]:
        """(table, name, definition, comment) of what the loader drops and re-adds.

        copy_fk_after: the foreign keys of timeseries_point. copy_keys_after: also its
        primary key and the foreign keys that depend on that key (label_soc, prediction).
        Listed in the order they are re-added; dropped in reverse.
        """
        loader = self.result["loader"]
        if loader not in ("copy_fk_after", "copy_keys_after"):
            return []
        kinds = "'p', 'f'" if loader == "copy_keys_after" else "'f'"
        own = self.conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), "
            "obj_description(oid, 'pg_constraint') FROM pg_constraint "
            f"WHERE conrelid = 'timeseries_point'::regclass AND contype IN ({kinds}) "
            "ORDER BY contype DESC, conname"  # p before f
        ).fetchall()
        inbound = []
        if loader == "copy_keys_after":
            inbound = self.conn.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), "
                "obj_description(oid, 'pg_constraint') FROM pg_constraint "
                "WHERE confrelid = 'timeseries_point'::regclass AND contype = 'f' "
                "ORDER BY conrelid::regclass::text, conname"
            ).fetchall()
        return own + inbound

    def load_points(self):
        prep = 0.0
        loader = self.result["loader"]
        total = timed()
        next(total)
        with self.conn.transaction():
            deferred = self.constraints_to_defer()
            for table, name, _definition, _comment in reversed(deferred):
                self.conn.execute(
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                        sql.Identifier(table), sql.Identifier(name)
                    )
                )
            prep = self.copy_points("timeseries_point")
            copy_seconds = next(total)
            for table, name, definition, comment in deferred:
                self.conn.execute(
                    sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                        sql.Identifier(table), sql.Identifier(name)
                    )
                    + sql.SQL(definition)
                )
                if comment is not None:
                    self.conn.execute(
                        sql.SQL("COMMENT ON CONSTRAINT {} ON {} IS {}").format(
                            sql.Identifier(name), sql.Identifier(table), sql.Literal(comment)
                        )
                    )
        seconds = next(total)
        method = "one transaction, COPY FROM STDIN (FORMAT binary), rows built from Arrow buffers"
        if loader == "copy_fk_after":
            method += "; the foreign key dropped before and re-added (validated) after the COPY"
        elif loader == "copy_keys_after":
            method += (
                "; primary key and foreign keys (its own and those into it) dropped before and "
                "re-added (index built, FKs validated) after the COPY"
            )
        out = {
            "method": method,
            "seconds": round(seconds, 3),
            "client_prepare_seconds": round(prep, 3),
            "end_to_end_seconds": round(seconds, 3),
            "timed": "the whole transaction; reading Parquet and packing rows overlap with the "
            "server (psycopg QueuedLibpqWriter sends from a thread)",
        }
        if deferred:
            out["copy_seconds"] = round(copy_seconds, 3)
            out["constraints_readded_seconds"] = round(seconds - copy_seconds, 3)
            out["constraints_readded"] = [name for _, name, _, _ in deferred]
        return out

    def copy_points(self, table: str) -> float:
        """COPY every sample into `table` (binary, streamed); returns the client's packing time."""
        prep = 0.0
        with (
            self.conn.cursor() as cur,
            cur.copy(
                sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
                    sql.Identifier(table), sql.SQL(POINT_COLUMNS)
                ),
                writer=QueuedLibpqWriter(cur),
            ) as copy,
        ):
            copy.write(pgbinary.COPY_HEADER)
            for batch in dataset.point_batches(self.cfg.scratch, self.cfg.batch_rows):
                t = time.perf_counter()
                data = pgbinary.copy_rows_arrow(POINT_TYPES, self.point_columns(batch))
                prep += time.perf_counter() - t
                copy.write(data)
            copy.write(pgbinary.COPY_TRAILER)
        return prep

    def _timed_copy(self, table: str, definitions: list[str]) -> float:
        """Create `table` like timeseries_point (columns and NOT NULL only), add the given
        constraint/index definitions ({t} is the table), COPY in one transaction, drop it."""
        self.conn.execute(
            sql.SQL("CREATE TABLE {} (LIKE timeseries_point)").format(sql.Identifier(table))
        )
        try:
            for definition in definitions:
                self.conn.execute(definition.format(t=table))
            self.conn.execute("CHECKPOINT")  # do not bill the previous run's dirty pages
            t = timed()
            next(t)
            with self.conn.transaction():
                self.copy_points(table)
            return next(t)
        finally:
            self.conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))

    def baseline_load(self):
        seconds = self._timed_copy("tp_bare", [])
        return {
            "table": "CREATE TABLE ... (LIKE timeseries_point): same columns and NOT NULLs, "
            "no key, index, foreign key or CHECK",
            "method": "one transaction, COPY FROM STDIN (FORMAT binary), as the main load",
            "seconds": round(seconds, 3),
            "rows_per_second": round(self.manifest.n / seconds),
        }

    def constraint_kinds(self) -> list[tuple[str, str, list[str]]]:
        """(key, title, definitions) per constraint kind of timeseries_point, then all."""
        defs = self.conn.execute(
            "SELECT contype, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'timeseries_point'::regclass AND contype IN ('c', 'p', 'f') "
            "ORDER BY conname"
        ).fetchall()
        indexes = [
            definition.replace(" ON public.timeseries_point ", " ON {t} ")
            for (definition,) in self.conn.execute(
                "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = "
                "'timeseries_point'::regclass AND NOT indisprimary AND NOT indisunique"
            )
        ]
        indexes = [d.replace("INDEX ", "INDEX {t}_", 1) for d in indexes]

        def constraints(kind: str) -> list[str]:
            return [
                f"ALTER TABLE {{t}} ADD CONSTRAINT {{t}}_{name} {definition}"
                for contype, name, definition in defs
                if contype == kind
            ]

        checks, key, fks = constraints("c"), constraints("p"), constraints("f")
        kinds = [
            ("checks", f"{len(checks)} CHECK constraints", checks),
            ("primary_key", "the primary key (unique b-tree)", key),
            ("time_index", "the time index (b-tree)", indexes),
            ("foreign_key", "the foreign key to test_session", fks),
            ("all", "all of them: the table as generated", checks + key + indexes + fks),
        ]
        return [k for k in kinds if k[2]]

    def constraint_costs(self):
        n = self.manifest.n
        bare = self._timed_copy("tp_cc", [])
        out = [{"key": "none", "title": "no constraint", "seconds": round(bare, 3)}]
        for key, title, definitions in self.constraint_kinds():
            seconds = self._timed_copy("tp_cc", definitions)
            out.append({"key": key, "title": title, "seconds": round(seconds, 3)})
        for row in out:
            row["rows_per_second"] = round(n / row["seconds"])
            row["ratio_to_none"] = round(bare / row["seconds"], 3)
            row["us_per_row_over_none"] = round((row["seconds"] - bare) / n * 1e6, 3)
        return out

    def load_cycles_and_labels(self):
        t = timed()
        next(t)
        with self.conn.transaction():
            with self.conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO cycle ({CYCLE_COLUMNS}) VALUES {_placeholders(6, '%s')}",
                    self.cycle_rows(),
                )
                cur.executemany(
                    f"INSERT INTO label_soh ({SOH_COLUMNS}) VALUES {_placeholders(7, '%s')}",
                    self.soh_rows(),
                )
            for batch in dataset.label_batches(self.cfg.scratch, self.label_batch_rows()):
                arrays = [
                    pgbinary.array_arrow("int4", batch.column(0)),
                    pgbinary.array_arrow("int4", batch.column(1)),
                    pgbinary.array_arrow("timestamptz", _pg_micros(batch.column(2))),
                    pgbinary.array_arrow("float4", batch.column(3)),
                ]
                self.conn.execute(
                    f"INSERT INTO label_soc ({SOC_COLUMNS}) "
                    "SELECT u.s, u.r, u.t, %s, %s, u.soc, %s, %s "
                    "FROM unnest(%s, %s, %s, %s) AS u(s, r, t, soc)",
                    [
                        LABEL_METHOD,
                        queries.LABEL_VERSION,
                        dataset.NOMINAL_CAPACITY_AH,
                        self.manifest.soc_initial,
                        *arrays,
                    ],
                )
        return {"seconds": round(next(t), 3)}

    def label_batch_rows(self) -> int:
        return self.cfg.batch_rows

    def maintain(self):
        self.conn.execute("VACUUM (ANALYZE)")
        self.conn.execute("CHECKPOINT")

    def size(self):
        n = self.manifest.n
        rel = self.conn.execute(
            "SELECT pg_total_relation_size('timeseries_point'), "
            "pg_relation_size('timeseries_point', 'main'), "
            "pg_relation_size('timeseries_point', 'fsm') "
            "+ pg_relation_size('timeseries_point', 'vm'), "
            "pg_indexes_size('timeseries_point')"
        ).fetchone()
        indexes = {
            name: size
            for name, size in self.conn.execute(
                "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
                "WHERE indrelid = 'timeseries_point'::regclass ORDER BY 1"
            )
        }
        total, heap, maps, index_bytes = rel
        return {
            "method": "pg_total_relation_size after VACUUM (ANALYZE) and CHECKPOINT",
            "label_soc_bytes": self.scalar("SELECT pg_total_relation_size('label_soc')"),
            "total_bytes": total,
            "bytes_per_row": round(total / n, 2),
            "heap_bytes_per_row": round(heap / n, 2),
            "fsm_vm_bytes": maps,
            "index_bytes_per_row": round(index_bytes / n, 2),
            "indexes": indexes,
            "heap_pages": heap // 8192,
            "rows_per_heap_page": round(n / max(heap // 8192, 1), 1),
        }

    def explain(self, sql: str, args: tuple) -> tuple[str, object]:
        text = "\n".join(row[0] for row in self.conn.execute("EXPLAIN " + sql, args))
        plan_json = self.conn.execute("EXPLAIN (FORMAT JSON) " + sql, args).fetchone()[0]
        return text, plan_json

    def total_chunks(self) -> int | None:
        return None

    def run_queries(self, label: str = ""):
        out = {}
        chunks = self.total_chunks()
        for q in queries.QUERIES:
            sql = q.sql(self.cfg.engine)
            args = queries.query_args(q.key, self.params, _pg_time)
            text, plan_json = self.explain(sql, args)
            verdict = queries.postgres_verdict(plan_json, chunks)
            rows, samples = _time_query(
                lambda s=sql, a=args: self.conn.execute(s, a).fetchall(), self.cfg.query_runs
            )
            execution, planning = [], []
            for _ in range(3):
                analyzed = self.conn.execute(
                    "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + sql, args
                ).fetchone()[0][0]
                execution.append(analyzed["Execution Time"])
                planning.append(analyzed["Planning Time"])
            out[q.key] = {
                "touches_timeseries": q.touches_timeseries,
                "time_ordered": q.time_ordered,
                "rows": rows,
                "median_ms": _median_ms(samples),
                "runs": len(samples),
                "server_execution_ms": round(statistics.median(execution), 3),
                "server_planning_ms": round(statistics.median(planning), 3),
                "plan": text,
                **verdict.as_dict(),
            }
        return out


# ================================================================================ TimescaleDB


class TimescaleRun(PostgresRun):
    default_loader = "insert_unnest"

    def engine_context(self):
        return engine_harness().timescaledb()

    def version_string(self, engine) -> str:
        with engine.connect() as conn:
            ext = conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
            ).fetchone()
        return f"TimescaleDB {ext[0] if ext else '?'} on PGlite (PostgreSQL {engine.version}, WASM)"

    def server_pid(self):
        return self.engine.pid

    def server_process_name(self):
        return "node process running PGlite (VmHWM)"

    def label_batch_rows(self) -> int:
        return TIMESCALE_BATCH_ROWS

    @property
    def hypertable(self) -> str:
        """The hypertable of the samples: the store table where the generated DDL stores
        the test's start instead of test_time_second (schema.yaml: elapsed_as_start) and
        timeseries_point is a view of it; timeseries_point otherwise (some variants)."""
        elapsed = elapsed_as_start()
        if elapsed is None:
            return "timeseries_point"
        stored = self.scalar("SELECT to_regclass(%s)::text", (elapsed.store_table,))
        return elapsed.store_table if stored else "timeseries_point"

    def stores_start(self, table: str) -> bool:
        elapsed = elapsed_as_start()
        return self.cfg.options.get("test_started_at") or (
            elapsed is not None and table == elapsed.store_table
        )

    def load_points(self, table: str | None = None):
        table = table or self.hypertable
        prep = 0.0
        total = timed()
        next(total)
        types = list(POINT_TYPES)
        columns = POINT_COLUMNS
        if self.cfg.options.get("test_time_ms") or self.cfg.options.get("test_time_us"):
            types[1] = "int8"
        if self.stores_start(table):
            types[1] = "timestamptz"
            elapsed = elapsed_as_start()
            if elapsed is not None and table == elapsed.store_table:
                columns = ", ".join(
                    elapsed.start_column if c == elapsed.column else c
                    for c in dataset.POINT_COLUMNS
                )
        insert = (
            f"INSERT INTO {table} ({columns}) SELECT * FROM unnest("
            + ", ".join(["%s"] * len(types))
            + ")"
        )
        with self.conn.transaction():
            for batch in dataset.point_batches(self.cfg.scratch, TIMESCALE_BATCH_ROWS):
                t = time.perf_counter()
                arrays = [
                    pgbinary.array_arrow(type_name, column)
                    for type_name, column in zip(
                        types, self.point_columns(batch, self.stores_start(table)), strict=True
                    )
                ]
                prep += time.perf_counter() - t
                self.conn.execute(insert, arrays)
        seconds = next(total)
        return {
            "method": f"one transaction, INSERT ... SELECT * FROM unnest(9 binary arrays) in "
            f"batches of {TIMESCALE_BATCH_ROWS} rows over the socket",
            "seconds": round(seconds, 3),
            "client_prepare_seconds": round(prep, 3),
            "end_to_end_seconds": round(seconds, 3),
            "timed": "the whole transaction (client array packing included; no overlap)",
        }

    def baseline_load(self):
        self.conn.execute("CREATE TABLE tp_bare (LIKE timeseries_point)")
        try:
            load = self.load_points("tp_bare")
        finally:
            self.conn.execute("DROP TABLE tp_bare")
        return {
            "table": "CREATE TABLE ... (LIKE timeseries_point): a plain table (no hypertable) "
            "with the same columns and NOT NULLs, no key, index, foreign key or CHECK",
            "method": load["method"],
            "seconds": load["seconds"],
            "rows_per_second": round(self.manifest.n / load["seconds"]),
        }

    def constraint_costs(self):
        return None  # a PostgreSQL COPY question; COPY FROM STDIN crashes pglite-socket

    def total_chunks(self) -> int | None:
        return self.scalar(f"SELECT count(*) FROM show_chunks('{self.hypertable}')")

    def point_columns(self, batch: pa.RecordBatch, start: bool = False) -> list[pa.Array]:
        columns = super().point_columns(batch)
        if self.cfg.options.get("test_time_ms"):  # variant ts-test-time-ms
            columns[1] = pc.round(pc.multiply(columns[1], 1000.0)).cast(pa.int64())
        if self.cfg.options.get("test_time_us"):  # variant ts-test-time-us
            columns[1] = pc.round(pc.multiply(columns[1], 1_000_000.0)).cast(pa.int64())
        if start:  # the generated store table, variants ts-*started-at*
            offset = pc.round(pc.multiply(columns[1], 1_000_000.0)).cast(pa.int64())
            columns[1] = pc.subtract(columns[0], offset)  # both int64 microseconds
        return columns

    def maintain(self):
        self.conn.execute("VACUUM (ANALYZE)")

    def size(self):
        n = self.manifest.n
        table, index, toast, total = self.conn.execute(
            "SELECT table_bytes, index_bytes, toast_bytes, total_bytes "
            f"FROM hypertable_detailed_size('{self.hypertable}')"
        ).fetchone()
        return {
            "method": "hypertable_detailed_size after VACUUM (ANALYZE), uncompressed",
            "total_bytes": total,
            "bytes_per_row": round(total / n, 2),
            "heap_bytes_per_row": round(table / n, 2),
            "index_bytes_per_row": round(index / n, 2),
            "toast_bytes": toast,
            "hypertable_size": self.scalar(f"SELECT hypertable_size('{self.hypertable}')"),
            "chunks": self.total_chunks(),
            "chunk_interval": self.scalar(
                "SELECT time_interval::text FROM timescaledb_information.dimensions "
                f"WHERE hypertable_name = '{self.hypertable}'"
            ),
        }

    def after_queries(self):
        r = self.result
        settings = self.conn.execute(
            "SELECT attname, segmentby_column_index, orderby_column_index, orderby_asc "
            "FROM timescaledb_information.compression_settings "
            f"WHERE hypertable_name = '{self.hypertable}' ORDER BY attname"
        ).fetchall()
        r["compression_settings"] = [list(row) for row in settings]
        chunks = [c for (c,) in self.conn.execute(f"SELECT show_chunks('{self.hypertable}')::text")]
        t = timed()
        next(t)
        try:
            with self.conn.transaction():
                for chunk in chunks:
                    self.conn.execute("SELECT compress_chunk(%s::regclass)", (chunk,))
        except Exception as exc:  # the engine's refusal is a result, not a crash
            r["compression"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()}
            return
        seconds = next(t)
        self.conn.execute("VACUUM (ANALYZE)")
        n = self.manifest.n
        stats = self.conn.execute(
            "SELECT total_chunks, number_compressed_chunks, before_compression_total_bytes, "
            "after_compression_total_bytes, after_compression_table_bytes, "
            "after_compression_index_bytes, after_compression_toast_bytes "
            f"FROM hypertable_compression_stats('{self.hypertable}')"
        ).fetchone()
        per_chunk = self.conn.execute(
            "SELECT chunk_name, compression_status, before_compression_total_bytes, "
            f"after_compression_total_bytes FROM chunk_compression_stats('{self.hypertable}') "
            "ORDER BY chunk_name"
        ).fetchall()
        table, index, toast, total = self.conn.execute(
            "SELECT table_bytes, index_bytes, toast_bytes, total_bytes "
            f"FROM hypertable_detailed_size('{self.hypertable}')"
        ).fetchone()
        compressed_tables = self.conn.execute(
            "SELECT format('%I.%I', comp.schema_name, comp.table_name) "
            "FROM _timescaledb_catalog.chunk cc "
            "JOIN _timescaledb_catalog.chunk comp ON comp.id = cc.compressed_chunk_id "
            "JOIN _timescaledb_catalog.hypertable h ON h.id = cc.hypertable_id "
            f"WHERE h.table_name = '{self.hypertable}'"
        ).fetchall()
        batches = sum(self.scalar(f"SELECT count(*) FROM {name}") for (name,) in compressed_tables)
        columns: dict[str, int] = {}
        for (name,) in compressed_tables:
            attnames = [
                a
                for (a,) in self.conn.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
                    "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                    (name,),
                )
            ]
            sums = self.conn.execute(
                "SELECT "
                + ", ".join(f"coalesce(sum(pg_column_size({a})), 0)" for a in attnames)
                + f" FROM {name}"
            ).fetchone()
            for a, size in zip(attnames, sums, strict=True):
                columns[a] = columns.get(a, 0) + int(size)
        # where the bytes are: compressed chunk heap, its TOAST (the column values), the
        # indexes of both, and what is left of the (truncated) uncompressed chunks
        relations = self.conn.execute(
            "WITH c AS (SELECT format('%I.%I', cc.schema_name, cc.table_name)::regclass AS "
            "chunk, format('%I.%I', comp.schema_name, comp.table_name)::regclass AS comp "
            "FROM _timescaledb_catalog.chunk cc "
            "JOIN _timescaledb_catalog.chunk comp ON comp.id = cc.compressed_chunk_id "
            "JOIN _timescaledb_catalog.hypertable h ON h.id = cc.hypertable_id "
            f"WHERE h.table_name = '{self.hypertable}') "
            "SELECT sum(pg_relation_size(comp)), sum(pg_indexes_size(comp)), "
            "sum(coalesce(pg_total_relation_size(t.reltoastrelid), 0)), "
            "sum(pg_total_relation_size(chunk)) FROM c "
            "JOIN pg_class t ON t.oid = c.comp"
        ).fetchone()
        r["compression_relations_bytes_per_row"] = {
            name: round(float(value or 0) / n, 3)
            for name, value in zip(
                (
                    "compressed_heap",
                    "compressed_indexes",
                    "compressed_toast",
                    "uncompressed_chunk_left",
                ),
                relations,
                strict=True,
            )
        }
        r["compression"] = {
            "ok": True,
            "seconds": round(seconds, 3),
            "method": "compress_chunk on every chunk, then VACUUM (ANALYZE); "
            "hypertable_detailed_size and hypertable_compression_stats",
            "total_bytes": total,
            "bytes_per_row": round(total / n, 2),
            "heap_bytes": table,
            "index_bytes": index,
            "toast_bytes": toast,
            "stats": {
                "total_chunks": stats[0],
                "compressed_chunks": stats[1],
                "before_total_bytes": stats[2],
                "after_total_bytes": stats[3],
                "after_table_bytes": stats[4],
                "after_index_bytes": stats[5],
                "after_toast_bytes": stats[6],
                "after_bytes_per_row": round((stats[3] or 0) / n, 2),
                "ratio": round(stats[2] / stats[3], 2) if stats[3] else None,
            },
            "chunks": [
                {"chunk": c, "status": s, "before_bytes": b, "after_bytes": a}
                for c, s, b, a in per_chunk
            ],
            "compressed_batches": batches,
            "column_bytes_per_row": {a: round(b / n, 3) for a, b in columns.items()},
        }
        r["queries_compressed"] = self.run_queries()


RUNS = {
    "sqlite": SqliteRun,
    "postgres15": PostgresRun,
    "postgres18": PostgresRun,
    "timescaledb": TimescaleRun,
}

# the generator's target whose DDL each engine runs (its file: the target's path)
TARGET = {
    "sqlite": "sqlite",
    "postgres15": "postgres",
    "postgres18": "postgres",
    "timescaledb": "timescaledb",
}


def ddl_file(engine: str) -> Path:
    from generator.targets import TARGETS

    return ROOT / TARGETS[TARGET[engine]].path


@functools.cache
def model() -> Schema:
    """The schema model (schema.yaml), loaded once."""
    return load_schema(ROOT / "schema.yaml")


def elapsed_as_start() -> ElapsedAsStart | None:
    """How TimescaleDB stores timeseries_point's test time (the model's elapsed_as_start)."""
    return model().table("timeseries_point").timescaledb.elapsed_as_start
