"""`liam-erd-schema migrate`: diff the previous schema.yaml (a git ref or a file) with the
current one and write sql/<engine>/migrations/ files. Exit codes follow generator.cli."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..errors import SchemaError
from ..load import load, load_text
from ..model import Schema
from ..validate import validate
from ..write import write_all
from . import MigrationError, MigrationRefused, VersionNotRaised, diff, render, version_id, writers

EXIT_OK, EXIT_SCHEMA, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 4
EXIT_REFUSED, EXIT_VERSION = 6, 7  # generator.cli.EXIT_CODES says what each means


def previous(source: str, schema_path: str) -> Schema:
    """The older model: a file if `source` names one, else schema.yaml at git ref `source`."""
    path = Path(source)
    if path.is_file():
        return validate(load(path))
    target = Path(schema_path).resolve()
    try:
        text = subprocess.run(
            ["git", "-C", str(target.parent), "show", f"{source}:./{target.name}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except FileNotFoundError:
        raise MigrationError("git is not installed; pass the previous schema as a file") from None
    except subprocess.CalledProcessError as exc:
        raise MigrationError(
            f"--from {source}: neither a file nor a git revision holding {target.name} "
            f"({exc.stderr.strip().splitlines()[-1] if exc.stderr.strip() else 'git failed'})"
        ) from None
    return validate(load_text(text, f"{source}:{target.name}"))


def run(args, schema: Schema, root: Path, say) -> int:
    engines = list(writers())
    unknown = [t for t in args.target or [] if t not in engines]
    if unknown:
        print(
            f"error: unknown target {unknown[0]!r}; choose from {', '.join(engines)} "
            "(Liam ERD just regenerates)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        old = previous(args.from_, args.schema)
    except SchemaError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"the previous schema ({args.from_}) has problems", file=sys.stderr)
        return EXIT_SCHEMA
    except MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    plan = diff(old, schema)
    if plan.empty:
        say(f"no change between {args.from_} and {args.schema}: nothing to migrate")
        if args.summary:
            print(f"No change between `{args.from_}` and `{args.schema}`: nothing to migrate.")
        return EXIT_OK
    for op in plan.ops:
        say(f"  [{op.safety}] {op.summary}")
    name = args.name or f"schema_v{schema.version}"
    files: dict[str, str] = {}
    try:
        files = render(
            plan,
            name,
            allow_destructive=args.allow_destructive,
            targets=args.target or engines,
            two_step=args.two_step,
            schema_file=args.schema,
        )
    except MigrationRefused as exc:
        print(f"{args.schema}: {exc}", file=sys.stderr)
        return _summary(args, plan, files, EXIT_REFUSED)
    except VersionNotRaised as exc:
        print(f"error: {exc}", file=sys.stderr)
        return _summary(args, plan, files, EXIT_VERSION)
    except MigrationError as exc:
        print(f"error: {args.schema}: {exc}", file=sys.stderr)
        return _summary(args, plan, files, EXIT_SCHEMA)
    _summary(args, plan, files, EXIT_OK)
    stale = same_version(root, schema.version, args.target or engines, files)
    written = write_all(root, files)
    for rel in written:
        say(f"wrote {rel}")
    for path in stale:  # after the new files are in place: one file per version and step
        path.unlink()
        say(f"removed {path.relative_to(root)} (version {schema.version} under another name)")
    say(
        f"migration {old.version} -> {schema.version}: {len(plan.ops)} operations, "
        f"{len(written)} files; review them, then apply with dbmate (see docs: Evolving the "
        "schema)"
    )
    return EXIT_OK


def same_version(root: Path, version: int, targets: list[str], files: dict[str, str]):
    """The files already under the targets' migration folders for this schema version that
    this run does not write (an earlier --name, or a validate file --two-step no longer
    asks for): dbmate would apply both."""
    chosen = writers()
    prefix = version_id(version, 0)[:-2]
    out = []
    for target in targets:
        folder = root / chosen[target].directory()
        for path in sorted(folder.glob(f"{prefix}[0-9][0-9]_*.sql")):
            if path.relative_to(root).as_posix() not in files:
                out.append(path)
    return out


def _summary(args, plan, files: dict[str, str], status: int) -> int:
    """The plan as Markdown on stdout (with --summary): a table of labelled operations, then
    each file folded. Returns `status`."""
    if not args.summary:
        return status
    counts = {}
    for op in plan.ops:
        counts[op.safety] = counts.get(op.safety, 0) + 1
    print(
        f"Schema version {plan.old.version} -> {plan.new.version}: {len(plan.ops)} operations "
        f"({', '.join(f'{n} {label}' for label, n in counts.items())}).\n"
    )
    print("| label | operation | at risk |\n|---|---|---|")
    for op in plan.ops:
        risk = (op.at_risk or "").replace("|", "\\|")
        summary = op.summary.replace("|", "\\|")
        print(f"| {op.safety} | {summary} | {risk} |")
    if status != EXIT_OK and not files:
        print("\nNo files were written (see the error below).")
    for path, text in sorted(files.items()):
        print(f"\n<details><summary><code>{path}</code></summary>\n\n```sql")
        print(f"{text}```\n</details>")
    return status
