"""Load cycler files into a database: one file, one transaction. The file streams through in
chunks (flat memory); each chunk is staged as an Arrow table, the quality report's rules run
over it (Arrow compute), and its passing rows go to timeseries_point by the driver's bulk path;
the file is recorded in source_file with its content hash (which makes a second load of the
same bytes a no-op), and the transaction commits only when the whole file passed."""

from __future__ import annotations

import datetime as dt
import itertools
import queue
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.ma  # noqa: F401 - every load's first pa.array(ndarray) imports it: at start-up
import pyarrow as pa
import pyarrow.compute as pc

from connection import sqlite

from . import cycles, quality, readers, staging
from .db import Database
from .errors import IngestError, UsageError


@dataclass
class Options:
    strict: bool = True
    discharge_positive: bool = False
    time_zone: str | None = None
    progress: bool = False
    file_format: str = "bdf"  # a name of readers.FORMATS (--format)
    allow_overlap: bool = False  # load samples whose times the session holds already
    block_size: int = staging.ReadOptions.block_size
    # how recording artefacts are judged (--gap-multiple, --gap-min-seconds)
    artefacts: quality.Artefacts = field(default_factory=quality.Artefacts)


@dataclass
class Outcome:
    file: str
    status: str  # loaded | duplicate
    rows_loaded: int = 0
    rows_rejected: int = 0
    source_file_id: int | None = None
    session_id: int | None = None
    report: quality.Report | None = None
    rejects: list[tuple[int, list[str]]] = field(default_factory=list)
    seconds: float = 0.0
    bulk_mode: str = ""
    content_sha256: str | None = None  # of the content (a .gz file's decompressed bytes)
    compressed_sha256: str | None = None  # of a .gz file's own bytes (not in source_file)
    times_resolved: int = 0  # local times of a clock change's repeated or missing hour


class Refused(IngestError):
    """The quality report refused the file; `.report` says why."""

    def __init__(self, file: str, report: quality.Report, why: str):
        super().__init__(file, why)
        self.report = report


# the tables a load writes (the sidecar's battery_cell too, when it describes a cell)
TABLES = ("test_session", "timeseries_point", "source_file")


def ensure_schema(db: Database) -> None:
    for table in TABLES:
        if not db.has_table(table):
            raise UsageError(
                f"the database has no table {table}: load the schema first "
                "(sql/<engine>/schema.sql, or liam-erd-schema db / make db for SQLite)"
            )


def create_session(db: Database, sidecar: dict[str, Any]) -> int:
    """Insert the cell (unless `cell_id` is given) and the session a sidecar describes."""
    session = dict(sidecar.get("session") or {})
    if not session:
        raise UsageError("the sidecar has no 'session' object")
    if "cell" in sidecar:
        cell = dict(sidecar["cell"])
        session["cell_id"] = _insert(db, "battery_cell", cell, "cell_id")
    if "started_at" in session and isinstance(session["started_at"], str):
        session["started_at"] = _unix(session["started_at"])
    return _insert(db, "test_session", session, "session_id", timestamps={"started_at"})


def _unix(text: str) -> float:
    stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        raise UsageError(f"started_at {text!r} has no UTC offset")
    return stamp.timestamp()


def _insert(
    db: Database, table: str, row: dict[str, Any], key: str, timestamps: set[str] = frozenset()
) -> int:
    row = {k: v for k, v in row.items() if v is not None}  # NULL is every column's default
    names = list(row)
    for name in names:
        if not name.isidentifier():
            raise UsageError(f"{table}: {name!r} is not a column name")
    return db.insert_row(table, row, key, set(timestamps))


def session_start(db: Database, session_id: int) -> float:
    rows = db.query(
        f"SELECT {db.epoch('started_at')} FROM test_session WHERE session_id = %s", [session_id]
    )
    if not rows:
        raise UsageError(f"no test_session with session_id {session_id}")
    return float(rows[0][0])


def load_file(
    db: Database,
    path: Path,
    session_id: int | None,
    options: Options,
    sidecar: dict[str, Any] | None = None,
) -> Outcome:
    """Load one file whole into `session_id` (or a session the sidecar describes, created in
    the same transaction), or raise and write nothing.

    One pass over the file: pyarrow reads it in blocks (the SHA-256 is computed on the same
    bytes), each chunk is normalised, checked against every rule in Arrow, and its passing
    rows go to timeseries_point through the driver's bulk path, all inside one transaction
    that commits only when the whole file is in and the report allows it."""
    with _rows_pyarrow_cannot_decode_are_errors():
        return _load_file(db, path, session_id, options, sidecar)


@contextmanager
def _rows_pyarrow_cannot_decode_are_errors() -> Iterator[None]:
    """A malformed row holding bytes that are not UTF-8 never reaches the readers' invalid-row
    handler: pyarrow fails to decode it first and prints 'Exception ignored in ...' with a
    traceback, then refuses the file (ArrowInvalid), which the reader locates. The print is
    kept off the user's terminal; any other unraisable exception is reported as before."""
    previous = sys.unraisablehook

    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, UnicodeDecodeError) and (
            getattr(unraisable.object, "__name__", "") == "on_invalid"
        ):
            return
        previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


def _load_file(
    db: Database,
    path: Path,
    session_id: int | None,
    options: Options,
    sidecar: dict[str, Any] | None,
) -> Outcome:
    started = time.monotonic()
    file = str(path)
    if not path.is_file():
        raise IngestError(file, "no such file")
    read_options = staging.ReadOptions(
        discharge_positive=options.discharge_positive,
        time_zone=options.time_zone,
        block_size=options.block_size,
    )
    # A file loaded before is known by its hash alone: answer before reading it into the
    # database (the streamed hash below still guards against a load running beside this one).
    try:
        content = staging.content_sha256(path)
    except EOFError:  # a .gz cut short
        raise IngestError(
            file,
            "cannot read the file: its compressed data ends before the end-of-stream marker "
            "(the file was cut short: copy it again)",
        ) from None
    except OSError as exc:  # a .gz that is not one, a file that cannot be opened
        raise IngestError(file, f"cannot read the file: {_first_line(exc)}") from None
    seen = db.query(
        "SELECT source_file_id, session_id FROM source_file WHERE content_sha256 = %s",
        [content],
    )
    if seen:
        return Outcome(
            file, "duplicate", source_file_id=int(seen[0][0]), session_id=int(seen[0][1])
        )
    source = staging.HashingReader(path)
    chunks = None
    try:
        info, chunks = readers.FORMATS[options.file_format].read(path, read_options, source)
        return _load(
            db, path, session_id, options, sidecar, read_options, source, info, chunks, started
        )
    finally:
        # Loaded or refused, nothing the read started outlives the load: the reader's
        # generator is closed (its pyarrow reader with it, no read-ahead left running on
        # pyarrow's threads) before the file it reads is released (issue 22, item 8).
        _close(chunks)
        source.release()


def _load(db, path, session_id, options, sidecar, read_options, source, info, chunks, started):
    file = str(path)
    size = path.stat().st_size
    report = quality.Report(file)
    own_records = any(c.quantity.key == "record_index" for c in info.columns)
    native_first: int | None = None
    checker = quality.Checker(
        report,
        db.target,
        info.record_reader,
        options.artefacts,
        own_records=own_records,
    )
    progress = _Progress(file, size, options.progress)
    outcome = Outcome(file, "loaded", report=report)
    ahead: _Ahead | None = None
    try:
        db.begin_load()  # a load running beside this one: wait for it (connection/)
        created = session_id is None
        if created:
            if sidecar is None:
                raise UsageError("say which session: --session ID or --sidecar FILE.json")
            if "started_at" not in sidecar["session"]:
                started, chunks = _file_start(file, chunks)
                sidecar = {**sidecar, "session": {**sidecar["session"], "started_at": started}}
            session_id = create_session(db, sidecar)
        # a session this load's own transaction made holds no sample and no file yet
        # (ClickHouse has no transaction to say so: asked, as for any session)
        fresh = created and db.kind != "clickhouse"
        read_options.started_at = session_start(db, session_id)
        offset = 0 if fresh else _record_offset(db, session_id)
        checker.use_limits(quality.asset_limits(db, session_id))
        chunks = _empty_cycles(info, chunks)
        counter = cycles.for_session(db, session_id) if info.derive_cycles else None
        if counter is not None:
            counter.why = info.cycles_why
        overlap = None if options.allow_overlap or fresh else _Overlap(file, db, session_id)
        first_record: int | None = None
        last_record: int | None = None
        staged = _staged(
            file,
            chunks,
            db,
            checker,
            options.strict,
            session_id,
            offset,
            lambda: min(source.bytes_read, read_options.block_size),
            counter,
            overlap,
        )
        ahead = _Ahead(staged)

        def rows():  # the chunks' rows, as the driver's bulk path takes them (db.write_all)
            nonlocal first_record, last_record, native_first
            for chunk in ahead:
                if chunk.first_bytes is not None:
                    db.prepare_bulk(_expected_rows(size, chunk.first_bytes, chunk.first_rows))
                if chunk.rows is not None:
                    outcome.rows_loaded += chunk.rows.num_rows
                    if first_record is None:
                        first_record = chunk.first_record
                        native_first = first_record - chunk.shift if own_records else None
                    last_record = chunk.last_record
                    yield chunk.rows
                progress.update(source.bytes_read, report.rows)

        db.write_all(rows())
        checker.finish()
        # rows the reader left out (a vendor library's drops): in the report, never hidden
        report.findings += info.findings + _clock_findings(read_options)
        report.dropped = _dropped(info)
        report.notes += info.notes
        if counter is not None:
            report.notes.append(counter.note())
        report.rows += info.rows_left_out
        checker.rejects[:0] = info.rejects
        digest = source.hexdigest()
        outcome.content_sha256 = digest
        outcome.compressed_sha256 = source.compressed_sha256
        outcome.times_resolved = read_options.clock.resolved
        seen = db.query(
            "SELECT source_file_id, session_id FROM source_file WHERE content_sha256 = %s",
            [digest],
        )
        if seen:  # the same bytes are in already: undo this pass, write nothing
            db.rollback()
            return Outcome(
                file, "duplicate", source_file_id=int(seen[0][0]), session_id=int(seen[0][1])
            )
        refusing = ("error", "refuse", "warning") if options.strict else ("refuse",)
        failed = report.failed(refusing)
        if failed:
            raise Refused(
                file, report, f"refused ({len(failed)} rule(s) fail); nothing was written"
            )
        db.finish_bulk()
        outcome.session_id = session_id
        outcome.rejects = checker.rejects
        outcome.rows_rejected = report.rows - outcome.rows_loaded
        outcome.source_file_id = _insert(
            db,
            "source_file",
            {
                "session_id": session_id,
                "uri": file,
                "content_sha256": digest,
                "file_format": info.file_format or readers.FORMATS[options.file_format].FILE_FORMAT,
                "cycler_software": info.cycler_software,
                "original_units": _original_units(db, info),
                "assumed_time_zone": info.assumed_time_zone,
                "record_index_first": first_record,
                "record_index_last": last_record,
                # the cycler's own number of the first sample stored (Arbin Data_Point, Maccor
                # Rec#, Neware DataPoint); NULL for a file the loader numbered by position
                "native_record_first": native_first,
                "compressed_sha256": source.compressed_sha256,
                "imported_at": time.time(),
            },
            "source_file_id",
            timestamps={"imported_at"},
        )
        db.commit()
    except db.errors as exc:
        # a constraint the rules do not cover (a sidecar value, a foreign key): the engine's
        # own words, located at the file, and nothing kept
        db.rollback()
        if "database is locked" in str(exc):  # SQLite: another writer for too long
            raise IngestError(
                file,
                "the database is locked by another writer (a load running beside this one?) "
                f"for more than {sqlite.BUSY_TIMEOUT_SECONDS:g} s; nothing was written: load "
                "the file again when it is done",
            ) from None
        raise IngestError(file, f"the database refused the load: {_first_line(exc)}") from None
    except BaseException:
        db.rollback()
        raise
    finally:
        if ahead is not None:
            ahead.close()  # the reader thread joined, whatever stopped the load
        progress.close()
    outcome.seconds = time.monotonic() - started
    outcome.bulk_mode = db.bulk_mode
    return outcome


def _empty_cycles(info: staging.FileInfo, chunks):
    """The chunks, the first one read already: a cycle column empty on every row of the
    first chunk (a contact or formation test exported with a blank Cycle_Index) is numbered
    from the data as a file without one (ingest/cycles.py); a later chunk with numbers is
    then numbered so too, and the report says so."""
    if info.derive_cycles or not any(c.quantity.key == "cycle_count" for c in info.columns):
        return chunks
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        return iter(())
    column = first[1].column("cycle_count")
    if len(column) and column.null_count == len(column):
        info.derive_cycles = True
        header = next(c.header for c in info.columns if c.quantity.key == "cycle_count")
        info.cycles_why = f"the file's '{header}' is empty on every row"
    return itertools.chain([first], chunks)


def _file_start(file: str, chunks):
    """A sidecar without `started_at`: the test's start the file's first sample with an
    absolute time implies (recorded_at - test_time_second), and the chunks, the first one
    read already. A file without absolute time refuses to be read without a start time."""
    chunks = iter(chunks)
    seen = []
    for item in chunks:
        seen.append(item)
        table = item[1]
        start = pc.subtract(table.column("recorded_at"), table.column("test_time_second"))
        known = pc.drop_null(start)
        if len(known):
            return float(known[0].as_py()), itertools.chain(seen, chunks)
    raise IngestError(
        file,
        "no sample with both an absolute time and a test time: give the "
        "session's started_at in the sidecar",
    )


@dataclass
class _Chunk:
    rows: pa.Table | None  # the rows to write, in the engine's form; None: nothing to write
    first_record: int | None = None
    last_record: int | None = None
    first_bytes: int | None = None  # the first chunk: bytes read for it and its rows, from
    first_rows: int = 0  # which the file's rows are estimated (prepare_bulk)
    shift: int = 0  # stored record_index - the file's own record number (its numbering's offset)


def _staged(
    file, chunks, db: Database, checker, strict, session_id, offset, first_bytes, counter, overlap
):
    """The per-chunk work before the write, as a generator `_ahead` runs on its reader thread
    (Arrow compute releases the GIL): record indexes continued from `offset`, the quality
    rules, the passing rows with their session and in the engine's column types. The loader's
    thread is left with the driver's write, the pipeline's slowest stage."""
    base: int | None = None
    writing = True  # strict mode stops writing at the first failing row, keeps checking
    for _line, table in chunks:
        if not table.num_rows:
            continue
        chunk = _Chunk(None)
        records = table.column("record_index")
        if base is None:
            base = records[0].as_py() or 0
            chunk.first_bytes = first_bytes()
            chunk.first_rows = table.num_rows
        records = pc.add(pc.subtract(records, base), offset)
        chunk.shift = offset - base
        table = table.set_column(table.column_names.index("record_index"), "record_index", records)
        if counter is not None:  # the file has no cycle counter: numbered from the current
            table = counter.number(table)
        if overlap is not None:
            overlap.check(table)
        passing = checker.passing(table)
        if (strict and not passing.all()) or checker.not_increasing:
            writing = False  # the file will be refused: only the report goes on
        if writing:
            rows = table if passing.all() else table.filter(pa.array(passing))
            if rows.num_rows:
                lines = rows.column("line")
                rows = rows.drop_columns(["line"])
                rows = rows.add_column(
                    0, "session_id", pa.array(np.full(rows.num_rows, session_id, np.int64))
                )
                recorded = rows.column("record_index")
                chunk.first_record = recorded[0].as_py()
                chunk.last_record = recorded[-1].as_py()
                try:
                    chunk.rows = db.arrow_form(rows)
                except (pa.ArrowInvalid, OverflowError) as exc:
                    # a value the rules let through that the engine's column cannot hold
                    raise IngestError(
                        file,
                        f"a value in lines {lines[0]}-{lines[-1]} does not fit the database's "
                        f"column type: {_first_line(exc)}",
                    ) from None
        yield chunk


class _Ahead:
    """Iterate `chunks` one chunk ahead in a thread: the reader parses and converts chunk N+1
    (pyarrow's CSV reader and compute kernels release the GIL) while the driver writes chunk N
    (ADBC's COPY and SQLite's inserts release it too). One chunk waits at most, so memory
    stays flat; the reader's exception is raised here, in the loader's thread, in order."""

    _END = object()

    def __init__(self, chunks):
        self.chunks = chunks
        self.slot: queue.Queue = queue.Queue(maxsize=1)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._produce, name="ingest-reader", daemon=True)
        self.thread.start()

    def _produce(self) -> None:
        try:
            for item in self.chunks:
                if not self._put((True, item)):
                    return
            self._put((True, self._END))
        except BaseException as exc:  # handed to the consumer, raised there
            self._put((False, exc))

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.slot.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        try:
            while True:
                ok, item = self.slot.get()
                if not ok:
                    raise item
                if item is self._END:
                    return
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop the reader thread and wait for it (it finishes the chunk at hand), then close
        the chunks' generator in this thread: called on every way out of a load, so no thread
        of a refused load is left running when the command exits."""
        self.stop.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join()
        _close(self.chunks)


def _close(chunks) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        try:
            close()
        except ValueError:  # still running on a thread (cannot happen once joined)
            pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _expected_rows(size: int, bytes_read: int, rows: int) -> int:
    """The file's rows, estimated from its size and its first chunk (about one block: the
    reader may have read a few blocks ahead)."""
    return max(rows, int(size / max(bytes_read, 1) * rows))


class _Progress:
    """A progress bar (tqdm) with rows/s on stderr, for loads longer than a second."""

    def __init__(self, file: str, size: int, enabled: bool):
        self.file = file
        self.size = size
        self.enabled = enabled
        self.started = time.monotonic()
        self.bar = None

    def update(self, bytes_read: int, rows: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.bar is None:
            if now - self.started < 1:
                return
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.size,
                unit="B",
                unit_scale=True,
                desc=Path(self.file).name,
                file=sys.stderr,
                leave=True,
                mininterval=0.5,
            )
        self.bar.update(min(bytes_read, self.size) - self.bar.n)
        rate = rows / max(now - self.started, 1e-9)
        self.bar.set_postfix_str(f"{rows:,} rows, {rate:,.0f} rows/s", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _clock_findings(options: staging.ReadOptions) -> list[quality.Finding]:
    """The clock_jump finding: local times whose recorded_at - test_time jumps by whole hours
    (staging.local_seconds), i.e. the file's clock changed (daylight saving) in a zone other
    than the one --time-zone named. A warning: strict mode refuses the file."""
    clock = options.clock
    if not clock.jumps:
        return []
    first = clock.jumps[0]
    hours = first.seconds / 3600
    way = "back" if hours < 0 else "forward"
    rule = quality.Rule(
        "clock_jump",
        f"Date Time jumps {way} {abs(hours):g} h at line {first.line} ('{first.value}' after "
        f"'{first.before}') while test time runs on: the cycler's clock changed (daylight "
        f"saving time) where --time-zone {options.time_zone} has no change; give the zone the "
        "cycler's PC kept with --time-zone (an IANA name such as Europe/Berlin)",
        None,
        column="recorded_at",
        severity="warning",
    )
    return [quality.Finding(rule, clock.jump_count, [j.line for j in clock.jumps])]


def _original_units(db: Database, info: staging.FileInfo) -> str | None:
    """NULL when the file was in BDF units already; but the generated SQLite CHECK
    json_valid(original_units) is false for NULL on SQLite < 3.45 (json_valid(NULL) = 0), so
    there an empty object says the same."""
    text = info.original_units_json()
    if text is None and db.kind == "sqlite":
        return "{}"
    return text


def _dropped(info: staging.FileInfo) -> dict[str, str]:
    """The file's columns that are not stored, and why: every one, in every report."""
    known = set(info.not_stored)
    return {
        name: "a BDF quantity that timeseries_point has no column for"
        if name in known
        else "not a quantity the loader reads"
        for name in info.ignored
        if name.strip()
    }


class _Overlap:
    """The time ranges of the files a session holds (recorded_at of each source_file's first
    and last record: two primary-key lookups a file), and the refusal of a sample that falls in
    one: the same data loaded twice (a re-export, a copy under another name or format), unless
    --allow-overlap."""

    def __init__(self, file: str, db: Database, session_id: int):
        self.file = file
        self.session_id = session_id
        rows = db.query(
            f"SELECT f.source_file_id, f.uri, {db.epoch('a.recorded_at')}, "
            f"{db.epoch('b.recorded_at')} FROM source_file f "
            "JOIN timeseries_point a ON a.session_id = f.session_id "
            "AND a.record_index = f.record_index_first "
            "JOIN timeseries_point b ON b.session_id = f.session_id "
            "AND b.record_index = f.record_index_last "
            "WHERE f.session_id = %s",
            [session_id],
        )
        self.ranges = [
            (int(i), str(uri), min(float(a), float(b)), max(float(a), float(b)))
            for i, uri, a, b in rows
            if a is not None and b is not None
        ]

    def check(self, table: pa.Table) -> None:
        if not self.ranges:
            return
        times = pc.fill_null(table.column("recorded_at"), np.nan).to_numpy(zero_copy_only=False)
        for source_file_id, uri, low, high in self.ranges:
            inside = np.flatnonzero((times >= low) & (times <= high))
            if len(inside):
                i = int(inside[0])
                raise IngestError(
                    self.file,
                    f"the sample at {_utc(times[i])} lies within the samples session "
                    f"{self.session_id} holds from source_file {source_file_id} ('{uri}', "
                    f"{_utc(low)} to {_utc(high)}): the same data twice? nothing was written "
                    "(--allow-overlap loads it anyway)",
                    line=int(table.column("line")[i].as_py()),
                    column="recorded_at",
                )


def _utc(seconds: float) -> str:
    stamp = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return stamp.isoformat(timespec="milliseconds" if seconds % 1 else "seconds").replace(
        "+00:00", "Z"
    )


def _record_offset(db: Database, session_id: int) -> int:
    """Record indexes continue the session's: a second file starts after the first."""
    last = db.query(
        "SELECT max(record_index) FROM timeseries_point WHERE session_id = %s", [session_id]
    )[0][0]
    return 0 if last is None else int(last) + 1


def read_sidecar(path: Path) -> dict[str, Any]:
    """The sidecar, checked against the schema (ingest/sidecar.py)."""
    from . import sidecar

    return sidecar.read(path)
