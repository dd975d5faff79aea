"""`python -m ingest FILE... --db URL`: load BDF CSV files (or a cycler's export, --format).

Exit codes: 0 every file loaded (or already loaded: a no-op), 1 a file was refused (bad
input or the quality report; nothing of it written), 2 usage (options, database, sidecar).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import quality, sniff
from .db import connect
from .errors import IngestError, UsageError
from .load import Options, Refused, ensure_schema, load_file, read_sidecar
from .readers import FORMATS


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ingest",
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
        default="bdf",
        help="the files' format: bdf (BDF CSV, default), maccor (Maccor text export, every "
        "MIMS and newer layout), arbin (Arbin MITS Pro CSV export or .xlsx workbook), neware "
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
    p.add_argument("--report", type=Path, help="write the quality report and rejects as JSON")
    p.add_argument("--progress", action="store_true", help="rows/s on stderr during long loads")
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


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    options = Options(
        strict=args.strict,
        discharge_positive=args.discharge_positive,
        time_zone=args.time_zone,
        progress=args.progress or sys.stderr.isatty(),
        file_format=args.format,
        block_size=args.block_size,
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
        session_id = args.session
        for path in args.files:
            try:
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
                if outcome.report and outcome.report.findings:
                    print(outcome.report.text(), file=sys.stderr)
            record = {"file": str(path), "status": outcome.status, "session_id": session_id}
            record["rows_loaded"] = outcome.rows_loaded
            record["rows_rejected"] = outcome.rows_rejected
            record.update(seconds=round(outcome.seconds, 3), bulk_mode=outcome.bulk_mode)
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
    return {
        "rows": report.rows,
        "findings": [
            {
                "rule": f.rule.name,
                "severity": f.rule.severity,
                "column": f.rule.column,
                "rows": f.rows,
                "first_lines": f.first_lines,
                "description": f.rule.description,
            }
            for f in report.findings
        ],
    }
