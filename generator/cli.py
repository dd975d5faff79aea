"""Command line: `liam-erd-schema {sql,diagrams,docs,all,check,validate,db}`.

Every failure prints one line per problem on stderr (no traceback) and exits with its code;
this table is also in `--help` (EXIT_CODES below) and in the README:

  0  success
  1  schema.yaml has problems (one file:line:col line each); nothing written
  2  usage error (unknown command, option or target; a schema file that cannot be read)
  3  check: committed generated files are out of date
  4  the generator or a tool it needs (Graphviz) failed; nothing written
  5  an output could not be written (disk full, no permission, path in the way); outputs unchanged
  6  migrate: refused, a destructive change needs --allow-destructive; nothing written
  7  migrate: version not raised above the previous schema's; nothing written
  130  interrupted (Ctrl-C); outputs unchanged
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from . import __version__
from .errors import SchemaError, ToolError, UnreadableSchema
from .write import WriteError, changed, remove_stale_temporaries, write_all

# The loader, the validator and every output module are imported by the command that needs
# them, after the run cache (generator/cache.py) had its say: a `sql` run whose inputs are
# unchanged imports none of them (tests/generator/test_startup.py lists what each command may
# import).

EXIT_OK, EXIT_SCHEMA, EXIT_USAGE, EXIT_DRIFT, EXIT_INTERNAL, EXIT_WRITE = 0, 1, 2, 3, 4, 5
EXIT_REFUSED, EXIT_VERSION = 6, 7  # migrate only (generator/migrate/command.py)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_SCHEMA: "schema.yaml has problems (one file:line:col line each); nothing written",
    EXIT_USAGE: "usage error (unknown command, option or target; a schema file that cannot be "
    "read)",
    EXIT_DRIFT: "check: committed generated files are out of date",
    EXIT_INTERNAL: "the generator or a tool it needs (Graphviz) failed; nothing written",
    EXIT_WRITE: "an output could not be written (disk full, no permission, path in the way); "
    "outputs unchanged",
    EXIT_REFUSED: "migrate: refused, a destructive change needs --allow-destructive; nothing "
    "written",
    EXIT_VERSION: "migrate: version not raised above the previous schema's; nothing written",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C); outputs unchanged",
}


# Output groups: each module has render(schema) -> {relative path: text or bytes}. Imported by
# the group that runs, with a plain import statement (not importlib), so the import graph that
# tests/test_architecture.py checks sees every edge.
def _render_sql(schema) -> dict[str, str | bytes]:
    from . import sql

    return sql.render(schema)


def _render_diagrams(schema) -> dict[str, str | bytes]:
    from . import diagrams

    return diagrams.render(schema)


def _render_docs(schema) -> dict[str, str | bytes]:
    from . import docs

    return docs.render(schema)


GROUPS = {"sql": _render_sql, "diagrams": _render_diagrams, "docs": _render_docs}
ALL = ("sql", "diagrams", "docs")


def load(path):
    """`generator.load.load`, imported when a run needs it."""
    from .load import load as load_file

    return load_file(path)


def load_bytes(raw: bytes, file: str):
    """`generator.load.load_bytes` (the bytes the run cache read), imported when needed."""
    from .load import load_bytes as load_raw

    return load_raw(raw, file)


def validate(source):
    """`generator.validate.validate`, imported when a run needs it."""
    from .validate import validate as validate_source

    return validate_source(source)


def render_groups(schema, groups) -> dict[str, str | bytes]:
    outputs: dict[str, str | bytes] = {}
    for group in groups:
        outputs.update(GROUPS[group](schema))
    return outputs


def build_parser(commands: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """The command line; `commands` (name -> help) are listed beside the generator's own: the
    ones of rooms that build on the generator, which the installed command's dispatcher
    (liam_erd_schema/cli.py) runs before this parser sees them."""
    parser = argparse.ArgumentParser(
        prog="liam-erd-schema",
        description="Compile schema.yaml (battery SOC/SOH schema) into DDL for PostgreSQL,\n"
        "SQLite, TimescaleDB, Liam ERD and ClickHouse, Graphviz diagrams and documentation\n"
        "pages.\n"
        "Run `liam-erd-schema COMMAND --help` for a command's options.",
        epilog="Examples:\n"
        "  liam-erd-schema sql                 write sql/<target>/schema.sql\n"
        "  liam-erd-schema sql --target sqlite only the SQLite DDL\n"
        "  liam-erd-schema check               fail if committed outputs are stale\n"
        "  liam-erd-schema validate my.yaml    only report problems\n"
        "  liam-erd-schema db                  build db/battery.sqlite to try the schema\n\n"
        "Writes are all or nothing: every changed output is written to a temporary file\n"
        "next to it, and only renamed into place when all of them were written.\n\n"
        + (
            f"Exit codes of the generator's commands ({', '.join(commands)}: see their --help):\n"
            if commands
            else "Exit codes:\n"
        )
        + "\n".join(f"  {code}  {text}" for code, text in EXIT_CODES.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument(
            "schema",
            nargs="?",
            default="schema.yaml",
            help="the schema file (default: schema.yaml)",
        )
        p.add_argument(
            "--out",
            default=".",
            metavar="DIR",
            help="directory the outputs are written under (default: .)",
        )
        p.add_argument("-q", "--quiet", action="store_true", help="print only problems")
        return p

    sql = add("sql", "write the DDL of every target to sql/<target>/schema.sql")
    sql.add_argument(
        "--target",
        action="append",
        metavar="NAME",
        help="only this target (repeatable); an unknown name lists the targets",
    )
    sql.add_argument(
        "--self-check",
        action="store_true",
        help="also parse every emitted statement back with sqlglot (check always does)",
    )
    sql.add_argument(
        "--no-cache",
        action="store_true",
        help="do the whole run even if an identical one is in the run cache "
        "($LIAM_ERD_SCHEMA_CACHE=off turns the cache off)",
    )
    add("diagrams", "write the Graphviz ER diagrams (SVG) under docs/")
    add("docs", "write the generated documentation pages under docs/")
    add("all", "write DDL, diagrams and documentation pages")
    check = add("check", "regenerate in memory and fail (exit 3) if any committed output differs")
    check.add_argument(
        "--only", choices=list(GROUPS), action="append", help="check only this group (repeatable)"
    )
    add("validate", "check schema.yaml and report problems; write nothing")
    db = add("db", "build a ready-to-use SQLite database file from the SQLite DDL")
    db.add_argument(
        "--path",
        default="db/battery.sqlite",
        help="database file to create; replaced if it exists (default: db/battery.sqlite)",
    )
    # schema evolution (generator/migrate): the diff of a previous version and this one
    mig = add("migrate", "write sql/<engine>/migrations/ files from a previous schema.yaml")
    mig.formatter_class = argparse.RawDescriptionHelpFormatter
    mig.epilog = (
        "A version has one file per engine (two on PostgreSQL and TimescaleDB with\n"
        "--two-step): files of the same version under another name are replaced.\n"
        "Rows that break a narrowed rule are found when the file is applied: dbmate then\n"
        "exits non-zero with the count and the first keys, and the database is unchanged.\n\n"
        "Exit codes:\n" + "\n".join(f"  {code}  {text}" for code, text in EXIT_CODES.items())
    )
    mig.add_argument(
        "--from",
        dest="from_",
        required=True,
        metavar="REF_OR_FILE",
        help="the previous version: a git revision (e.g. HEAD) or a file",
    )
    mig.add_argument(
        "--name", help="what the change does, e.g. add_cell_voltage (default: schema_vN)"
    )
    mig.add_argument(
        "--summary",
        action="store_true",
        help="also print the plan and the files as Markdown on stdout (for CI summaries)",
    )
    mig.add_argument(
        "--allow-destructive",
        action="store_true",
        help="write drops and narrowings that can lose data (refused otherwise)",
    )
    mig.add_argument(
        "--two-step",
        action="store_true",
        help="PostgreSQL/TimescaleDB: add new constraints NOT VALID and validate them in a "
        "second file, for tables too big to validate under the first file's lock",
    )
    mig.add_argument(
        "--target",
        action="append",
        metavar="NAME",
        help="only this engine (repeatable): postgres, sqlite, timescaledb, clickhouse, "
        "clickhouse-cluster",
    )
    for name, help_text in (commands or {}).items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _internal_error(exc: Exception) -> int:
    """A generator bug: say so plainly on one line; nothing was written."""
    message = " ".join(str(exc).split()) or "(no message)"
    print(
        f"internal error while generating ({type(exc).__name__}): {message}; "
        "nothing was written; please report this with your schema.yaml",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


def _write_error(exc: WriteError) -> int:
    print(f"error: {exc}; no output was changed", file=sys.stderr)
    return EXIT_WRITE


def main(argv: list[str] | None = None, commands: Mapping[str, str] | None = None) -> int:
    try:
        return _main(argv, commands)
    except KeyboardInterrupt:
        # write_all undoes a half-done run on the way out, so this is true at any point.
        print("interrupted; no output was changed", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: list[str] | None, commands: Mapping[str, str] | None = None) -> int:
    parser = build_parser(commands)
    args = parser.parse_args(argv)
    if args.command in (commands or {}):  # the dispatcher runs these; it never gets here
        parser.error(f"{args.command} is run by the {parser.prog} command, not by the generator")
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    started = time.perf_counter()
    cache_dir, run_key, raw = None, None, None
    if args.command == "sql" and not args.no_cache:
        from . import cache

        cache_dir = cache.directory()
        raw = cache.read_schema(args.schema) if cache_dir else None
        if cache_dir and raw is not None:
            options = {"command": "sql", "targets": args.target, "self_check": args.self_check}
            run_key = cache.key(raw, args.schema, options)
            outputs = cache.get(cache_dir, run_key)
            if outputs is not None:  # the same inputs gave these outputs, all checks passed
                return _write(Path(args.out), outputs, say, "sql", started, cached=True)
    try:
        schema = validate(load_bytes(raw, args.schema) if raw is not None else load(args.schema))
    except UnreadableSchema as exc:  # not a problem of its content: one line, a usage error
        print(f"{exc.line()}; nothing was written", file=sys.stderr)
        return EXIT_USAGE
    except SchemaError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        n = len(exc.problems)
        print(
            f"{args.schema}: {n} problem{'s' if n != 1 else ''}; nothing was written.",
            file=sys.stderr,
        )
        return EXIT_SCHEMA
    if args.command == "validate":
        say(f"{args.schema}: OK ({len(schema.tables)} tables)")
        return EXIT_OK

    if args.command == "sql":
        from .targets import TARGETS

        unknown = [t for t in args.target or [] if t not in TARGETS]
        if unknown:
            parser.error(f"unknown target {unknown[0]!r}; choose from {', '.join(TARGETS)}")
    root = Path(args.out)
    if args.command == "migrate":
        from .migrate.command import run

        try:
            return run(args, schema, root, say)
        except WriteError as exc:
            return _write_error(exc)
    try:
        if args.command == "db":
            return _build_database(schema, root / args.path, say)
        if args.command == "sql":
            from . import sql

            outputs = sql.render(schema, args.target, self_check=args.self_check)
            if run_key:
                cache.put(cache_dir, run_key, outputs)
        elif args.command == "check":
            outputs = render_groups(schema, args.only or ALL)
        elif args.command == "all":
            outputs = render_groups(schema, ALL)
        else:
            outputs = render_groups(schema, [args.command])
    except WriteError as exc:
        return _write_error(exc)
    except ToolError as exc:
        print(f"error: {exc}; nothing was written", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:
        return _internal_error(exc)

    if args.command == "check":
        try:
            return _check(root, outputs, args.schema, say)
        except WriteError as exc:
            return _write_error(exc)
    return _write(root, outputs, say, args.command, started)


def _write(root: Path, outputs, say, command: str, started: float, cached: bool = False) -> int:
    try:
        removed = remove_stale_temporaries(root, outputs)
        written = write_all(root, outputs)
    except WriteError as exc:
        return _write_error(exc)
    try:
        _report(say, removed, written, command, len(outputs), started, cached)
    except KeyboardInterrupt:
        pass  # everything is written: the run succeeded
    return EXIT_OK


def _report(
    say, removed, written, command: str, total: int, started: float, cached: bool = False
) -> None:
    for stale in removed:
        say(f"removed {stale} (left by an interrupted run)")
    for rel in written:
        say(f"wrote {rel}")
    elapsed = time.perf_counter() - started
    how = ", from the run cache" if cached else ""
    say(
        f"{command}: {len(written)} written, {total - len(written)} unchanged "
        f"({elapsed:.2f} s{how})"
    )


def _check(root: Path, outputs, schema_file: str, say) -> int:
    stale = changed(root, outputs)
    for rel in stale:
        print(f"out of date: {rel}", file=sys.stderr)
    if stale:
        print(
            f"{len(stale)} generated file(s) differ from {schema_file}; run `make all` "
            "and commit the result.",
            file=sys.stderr,
        )
        return EXIT_DRIFT
    say(f"up to date: {len(outputs)} generated files match {schema_file}")
    return EXIT_OK


def _build_database(schema, target: Path, say) -> int:
    from .targets import TARGETS
    from .write import write_sqlite_database

    write_sqlite_database(target, TARGETS["sqlite"].render(schema))
    say(
        f"wrote {target} ({len(schema.tables)} tables; run PRAGMA foreign_keys=ON on "
        "every connection)"
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
