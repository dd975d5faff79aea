"""`python -m ingest FILE... --db URL` (installed: `liam-erd-schema ingest ...`): load BDF CSV
files (or a cycler's export, --format).

Exit codes: 0 every file loaded (or already loaded: a no-op), 1 a file was refused (bad
input or the quality report; nothing of it written), 2 usage (options, database, sidecar, --schema).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from connection import schema
from generator.errors import SchemaError, UnreadableSchema

from . import sniff
from .errors import GAP_MIN_SECONDS, GAP_MULTIPLE, IngestError, UsageError
from .readers import FORMATS
from .sidecar import TABLES as SIDECAR_TABLES

# pyarrow, the schema's model and the database drivers are imported where a load needs them
# (load.py, quality.py, db.py, a reader's module), not for --help or a refused option: the
# loader's start-up (issue 22, item 9; `python -X importtime -m ingest --help`)


def parser(prog: str = "python -m ingest") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Load Battery Data Format (BDF) CSV files into a database of this schema: "
        "staged, checked against the schema's CHECKs, loaded whole or not at all.",
    )
    p.add_argument(
        "files", nargs="+", type=Path, help="BDF CSV files (or --format exports), in session order"
    )
    p.add_argument(
        "--db",
        required=True,
        help="sqlite:///path, a SQLite path, postgresql://..., or chdb:///dir?database=NAME",
    )
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--session", type=int, help="an existing test_session.session_id")
    who.add_argument(
        "--sidecar",
        type=Path,
        help='JSON {"cell": {...battery_cell columns}, "session": {...test_session columns}}'
        " (or session.cell_id): created with the first file",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--strict", dest="strict", action="store_true", default=True, help="(default)"
    )
    mode.add_argument(
        "--lenient",
        dest="strict",
        action="store_false",
        help="load the rows that pass and report the rejected ones",
    )
    p.add_argument(
        "--discharge-positive",
        action="store_true",
        help="the source counts discharge current as positive (e.g. PyBaMM, or an EC-Lab "
        "export of a cell wired with its negative electrode on the working lead): flip the sign",
    )
    p.add_argument(
        "--format",
        type=_file_format,
        metavar="{" + ",".join(sorted(FORMATS)) + "}",
        default=None,
        help="the files' format (default: recognised from each file's content, BDF CSV when "
        "nothing else is recognised): bdf (BDF CSV), maccor (Maccor text export, every MIMS "
        "and newer layout), arbin (Arbin MITS Pro CSV export or .xlsx workbook), neware "
        "(Neware BTS 7/8 record export: CSV, English or Chinese, BTSDA's .xlsx workbook, or "
        "the binary .nda/.ndax via NewareNDA) or biologic (BioLogic EC-Lab ASCII export, "
        ".mpt/.txt); the binary .mpr is not read (see docs/loading.md)",
    )
    p.add_argument(
        "--time-zone",
        help="IANA zone of local Date Time values (Arbin Date_Time, Neware Realtime/Date "
        "and BTS 7 .nda, "
        "EC-Lab 'Acquisition started on'), e.g. Europe/Berlin",
    )
    p.add_argument(
        "--schema",
        type=Path,
        metavar="PATH",
        help="the schema.yaml the database was made from, whose rules the rows are checked "
        "against (default: the one this package was built with: "
        f"{schema.BUILT_WITH.name} of the checkout, or the copy installed with the package)",
    )
    p.add_argument(
        "--allow-overlap",
        action="store_true",
        help="load samples whose times fall within those a file of the session already "
        "loaded (refused by default as the same data twice)",
    )
    p.add_argument("--report", type=Path, help="write the quality report and rejects as JSON")
    p.add_argument(
        "--progress",
        action="store_true",
        help="a progress bar with rows/s on stderr during long loads (the default when stderr "
        "is a terminal)",
    )
    p.add_argument(
        "--gap-multiple",
        type=float,
        default=GAP_MULTIPLE,
        metavar="N",
        help="a logging gap is reported when test time jumps by more than N times the file's "
        "median sampling interval (default %(default)g) and more than --gap-min-seconds",
    )
    p.add_argument(
        "--gap-min-seconds",
        type=float,
        default=GAP_MIN_SECONDS,
        metavar="S",
        help="the shortest logging gap reported, in seconds (default %(default)g)",
    )
    p.add_argument("--block-size", type=int, default=2 << 20, help=argparse.SUPPRESS)
    return p


# formats asked for that are not read, and why (docs/loading.md, "Why battery-data-toolkit")
NOT_READ = {
    "nda": "Neware's binary .nda/.ndax files are read with --format neware",
    "ndax": "Neware's binary .nda/.ndax files are read with --format neware",
    "mpr": "BioLogic's binary .mpr files are not read (galvani, which reads them, is "
    "GPL-3.0-or-later): export them from EC-Lab as text (.mpt) and use --format biologic",
}


def _file_format(name: str) -> str:
    key = name.strip().lower()
    if key in FORMATS:
        return key
    why = NOT_READ.get(key, f"unknown format '{name}'")
    raise argparse.ArgumentTypeError(
        f"{why}; --format reads {', '.join(sorted(FORMATS))} (see docs/loading.md)"
    )


def _no_workbook(path: Path, file_format: str) -> None:
    """An .xlsx (or .xls) is read by --format neware (BTSDA's workbook export) and --format
    arbin (MITS Pro's) alone, a Neware binary by --format neware alone: as their readers
    declare (BINARY_FILES)."""
    why = sniff.workbook(path, file_format, FORMATS[file_format].BINARY_FILES)
    if why:
        raise IngestError(str(path), why)


def detect_format(path: Path) -> str:
    """The --format a file's content names (sniff.SIGNATURES on its first lines; a workbook by
    its sheets, a Neware binary by its magic), `bdf` when none does (the BDF reader then says
    what the file lacks); a file that looks like two formats is refused naming both."""
    found = _candidates(path)
    if len(found) > 1:
        shown = " and ".join(f"{what} (--format {fmt})" for fmt, what in found)
        raise IngestError(
            str(path), f"the format is ambiguous: it looks like {shown}; say which with --format"
        )
    return found[0][0] if found else "bdf"


def _candidates(path: Path) -> list[tuple[str, str]]:
    """(--format, what it is) of every format the file's content looks like."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(8)
    except OSError:
        return []  # the reader names the problem
    from .readers import workbook

    if magic.startswith(b"NEWARE") or (
        magic.startswith(workbook.ZIP) and path.suffix.lower() == ".ndax"
    ):
        return [("neware", "a Neware binary file")]
    if magic.startswith(workbook.ZIP):
        from .readers.arbin import is_channel_sheet
        from .readers.neware_vocabulary import is_record_sheet

        try:
            _, names = workbook.open_book(path)
        except IngestError:
            return []  # no readable workbook: the reader given the file names the problem
        found = []
        if any(is_channel_sheet(n) for n in names):
            found.append(("arbin", "an Arbin MITS Pro workbook"))
        if any(is_record_sheet(n) for n in names):
            found.append(("neware", "a Neware BTSDA workbook"))
        return found
    text = sniff.first_lines(path, 24)  # a Maccor preamble runs to line 15
    found = []
    for what, fmt, markers in sniff.SIGNATURES:
        if any(form in text for m in markers for form in sniff.forms(m)):
            if fmt is None:  # a file no reader reads: the default's refusal names it
                return []
            if fmt not in [f for f, _ in found]:
                found.append((fmt, what))
    return found


class _HiddenPandas:
    """A finder that says pandas is not installed (sys.meta_path, for a moment)."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("pandas is hidden while pyarrow starts", name=name)
        return None


class _Unparsed(Exception):
    pass


def start_without_pandas(argv: list[str] | None = None) -> None:
    """For the process's own command line (python -m ingest), before `main`: pyarrow imports
    pandas the first time it converts anything (and pyarrow._dataset, which the ADBC drivers
    import, at once), only to ask whether a value is a pandas object; that import is a third of
    the loader's start-up (0.3 s of 0.7 on a quiet machine). The loader hands pyarrow no pandas
    object except from Neware's binaries (NewareNDA's DataFrames), so pyarrow and the ADBC
    driver are imported here with pandas hidden, and pyarrow remembers it has none; pandas
    itself stays importable. Skipped when a file is a Neware binary, the database is
    ClickHouse (chdb), pandas is already imported, or the command line does not parse (main
    says why); any surprise only costs the import it would have saved."""
    if "pandas" in sys.modules:
        return
    p = parser()

    def refuse(*_args, **_kwargs):
        raise _Unparsed

    p.error = p.exit = p.print_help = refuse  # main parses again and says what is wrong
    try:
        args = p.parse_args(argv)
    except _Unparsed:
        return
    from connection import defer_import, parse

    try:
        if parse(args.db).kind == "clickhouse":
            return
    except Exception:
        return
    for path in args.files:
        try:
            with open(path, "rb") as handle:
                magic = handle.read(8)
        except OSError:
            continue
        if magic.startswith(b"NEWARE") or path.suffix.lower() in (".nda", ".ndax"):
            return
    hidden = _HiddenPandas()
    sys.meta_path.insert(0, hidden)
    try:
        import pyarrow as pa

        pa.lib._pandas_api.have_pandas  # noqa: B018 - pyarrow asks once, and remembers
        defer_import("pyarrow.dataset")
        import adbc_driver_manager.dbapi  # noqa: F401 - imports pyarrow._dataset
    except Exception:  # noqa: S110 - a pyarrow without the shim, no driver: nothing saved
        pass
    finally:
        sys.meta_path.remove(hidden)


def exit_now(code: int) -> None:
    """End the process with `code` without the interpreter's finalisation: pyarrow may still be
    reading ahead in a refused file on a thread of its own, and tearing that reader down at exit
    could abort (`terminate called without an active exception`, exit 134) or wait forever,
    after the right message (issue 22, item 8). Everything is written and closed by now. For
    the process's own command line only (python -m ingest, liam-erd-schema ingest)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None, prog: str = "python -m ingest") -> int:
    args = parser(prog).parse_args(argv)
    from . import staging

    if args.time_zone and (why := staging.zone_error(args.time_zone)):
        print(f"error: {why}", file=sys.stderr)
        return 2
    with schema.using(args.schema):
        problems = _schema_problems()
        if problems:
            for line in problems:
                print(line, file=sys.stderr)
            return 2
        return _main(args)


def _schema_problems() -> list[str]:
    """The schema in force, read before anything is opened: its problems, one line each."""
    from .load import TABLES as LOAD_TABLES

    try:
        model = schema.model()
    except UnreadableSchema as exc:
        return [f"error: {exc.line()}; nothing was loaded"]
    except SchemaError as exc:
        n = len(exc.problems)
        return [
            *map(str, exc.problems),
            f"{schema.schema_file()}: {n} problem{'s' if n != 1 else ''}; nothing was loaded",
        ]
    tables = dict.fromkeys([*LOAD_TABLES, *SIDECAR_TABLES.values()])
    missing = [t for t in tables if t not in model.table_map]
    if missing:
        return [
            f"error: {schema.schema_file()}: no table {missing[0]}: the loader fills this "
            "project's tables (a schema of your own keeps them, with your columns and CHECKs "
            "added)"
        ]
    return []


def _main(args: argparse.Namespace) -> int:
    from . import quality
    from .db import connect
    from .load import Options, Refused, ensure_schema, load_file, read_sidecar

    options = Options(
        strict=args.strict,
        discharge_positive=args.discharge_positive,
        time_zone=args.time_zone,
        progress=args.progress or sys.stderr.isatty(),
        file_format=args.format,
        allow_overlap=args.allow_overlap,
        block_size=args.block_size,
        artefacts=quality.Artefacts(args.gap_multiple, args.gap_min_seconds),
    )
    records: list[dict] = []
    code = 0
    try:
        sidecar = read_sidecar(args.sidecar) if args.sidecar else None
        db = connect(args.db)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        ensure_schema(db)
        quality.rules(db.target)  # start-up: the schema's rules, read once per command
        db.read_schema()  # and what the bulk path compares the database with
        session_id = args.session
        for path in args.files:
            try:
                options.file_format = args.format or detect_format(path)
                _no_workbook(path, options.file_format)
                outcome = load_file(db, path, session_id, options, sidecar)
            except Refused as exc:
                print(f"error: {exc}\n{exc.report.text()}", file=sys.stderr)
                records.append({"file": str(path), "status": "refused", **_findings(exc.report)})
                code = 1
                break
            except IngestError as exc:
                print(f"error: {exc}", file=sys.stderr)
                records.append({"file": str(path), "status": "refused", "error": str(exc)})
                code = 1
                break
            session_id = outcome.session_id
            if outcome.status == "duplicate":
                print(
                    f"{path}: already loaded (source_file {outcome.source_file_id}, session "
                    f"{outcome.session_id}, same SHA-256); nothing written",
                    file=sys.stderr,
                )
            else:
                rate = outcome.rows_loaded / max(outcome.seconds, 1e-9)
                print(
                    f"{path}: {outcome.rows_loaded} rows loaded into session {session_id}"
                    f" ({outcome.rows_rejected} rejected), {rate:,.0f} rows/s",
                    file=sys.stderr,
                )
                if outcome.times_resolved:
                    print(
                        f"{path}: {outcome.times_resolved} local time(s) in a clock change's "
                        f"repeated or missing hour in {args.time_zone}, read by the test time",
                        file=sys.stderr,
                    )
                if outcome.report and outcome.report.says_more():
                    print(outcome.report.text(), file=sys.stderr)
            record = {"file": str(path), "status": outcome.status, "session_id": session_id}
            record["rows_loaded"] = outcome.rows_loaded
            record["rows_rejected"] = outcome.rows_rejected
            record.update(seconds=round(outcome.seconds, 3), bulk_mode=outcome.bulk_mode)
            if outcome.content_sha256:
                record["content_sha256"] = outcome.content_sha256
            if outcome.times_resolved:
                record["times_resolved"] = outcome.times_resolved
            if outcome.compressed_sha256:
                record["compressed_sha256"] = outcome.compressed_sha256
            if outcome.report:
                record.update(_findings(outcome.report))
            record["rejects"] = [{"line": n, "rules": r} for n, r in outcome.rejects]
            records.append(record)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    finally:
        db.close()
    if args.report:
        args.report.write_text(json.dumps(records, indent=2) + "\n")
    return code


def _findings(report) -> dict:
    return report.record()
