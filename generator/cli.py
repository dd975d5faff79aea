"""Command line: `liam-erd-schema {sql,diagrams,docs,all,check,validate}`.

Exit codes: 0 success; 1 schema.yaml has problems (one line each on stderr); 2 usage error;
3 `check` found generated files out of date; 4 the generator or a tool it needs failed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from . import __version__
from .errors import SchemaError
from .load import load
from .validate import validate
from .write import changed, write_all

EXIT_OK, EXIT_SCHEMA, EXIT_USAGE, EXIT_DRIFT, EXIT_INTERNAL = 0, 1, 2, 3, 4

# Output groups: each module has render(schema) -> {relative path: text or bytes}.
GROUPS = {
    "sql": "generator.sql",
    "diagrams": "generator.diagrams",
    "docs": "generator.docs",
}
ALL = ("sql", "diagrams", "docs")


class ToolError(RuntimeError):
    """A tool the generator needs is missing or failed (e.g. Graphviz's dot)."""


def render_groups(schema, groups) -> dict[str, str | bytes]:
    outputs: dict[str, str | bytes] = {}
    for group in groups:
        module = importlib.import_module(GROUPS[group])
        outputs.update(module.render(schema))
    return outputs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liam-erd-schema",
        description="Compile schema.yaml (battery SOC/SOH schema) into DDL for PostgreSQL, "
        "SQLite, TimescaleDB and Liam ERD, Graphviz diagrams and documentation pages.",
        epilog="Examples:\n"
        "  liam-erd-schema sql                 write sql/<target>/schema.sql\n"
        "  liam-erd-schema sql --target sqlite only the SQLite DDL\n"
        "  liam-erd-schema check               fail if committed outputs are stale\n"
        "  liam-erd-schema validate my.yaml    only report problems\n"
        "  liam-erd-schema db                  build db/battery.sqlite to try the schema\n\n"
        "Exit codes: 0 ok, 1 schema problems, 2 usage, 3 outputs out of date, 4 tool failure.",
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
        help="only this target (repeatable): postgres, sqlite, timescaledb, liam",
    )
    sql.add_argument(
        "--self-check",
        action="store_true",
        help="also parse every emitted statement back with sqlglot (check always does)",
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
        "--target",
        action="append",
        metavar="NAME",
        help="only this engine (repeatable): postgres, sqlite, timescaledb",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    started = time.perf_counter()
    try:
        schema = validate(load(args.schema))
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

        return run(args, schema, root, say)
    if args.command == "db":
        from .targets import TARGETS
        from .write import write_sqlite_database

        target = root / args.path
        write_sqlite_database(target, TARGETS["sqlite"].render(schema))
        say(
            f"wrote {target} ({len(schema.tables)} tables; run PRAGMA foreign_keys=ON on "
            "every connection)"
        )
        return EXIT_OK
    try:
        if args.command == "sql":
            from . import sql

            outputs = sql.render(schema, args.target, self_check=args.self_check)
        elif args.command == "check":
            outputs = render_groups(schema, args.only or ALL)
        elif args.command == "all":
            outputs = render_groups(schema, ALL)
        else:
            outputs = render_groups(schema, [args.command])
    except ToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:  # a generator bug: say so plainly, write nothing
        print(
            f"internal error while generating ({type(exc).__name__}): {exc}\n"
            "nothing was written; please report this with your schema.yaml",
            file=sys.stderr,
        )
        return EXIT_INTERNAL

    if args.command == "check":
        stale = changed(root, outputs)
        for rel in stale:
            print(f"out of date: {rel}", file=sys.stderr)
        if stale:
            print(
                f"{len(stale)} generated file(s) differ from {args.schema}; run `make all` "
                "and commit the result.",
                file=sys.stderr,
            )
            return EXIT_DRIFT
        say(f"up to date: {len(outputs)} generated files match {args.schema}")
        return EXIT_OK

    written = write_all(root, outputs)
    for rel in written:
        say(f"wrote {rel}")
    elapsed = time.perf_counter() - started
    say(
        f"{args.command}: {len(written)} written, {len(outputs) - len(written)} unchanged "
        f"({elapsed:.2f} s)"
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
