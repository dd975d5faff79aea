"""`liam-erd-schema COMMAND ...`: the generator's commands (generator/cli.py), and the ones of
the rooms that build on it, which the generator may not import (pyproject.toml:
[tool.importlinter]): `ingest` (the loader), `derive` (the derivations), `export` (training
sets and BDF files out) and `predictions` (a model's predictions in, evaluated), each imported only
when it is the command asked for, so the generator's commands start as fast as before and
need none of their dependencies.

A room's dependencies are an extra of the package (`pip install 'liam-erd-schema[ingest]'`):
a command whose extra is missing says which one, with exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

PROG = "liam-erd-schema"
EXIT_USAGE = 2

# command -> (its line in `liam-erd-schema --help`, the extra its dependencies come with)
COMMANDS = {
    "ingest": ("load cycler files into a database of this schema", "ingest"),
    "derive": ("derive cycles, cycle features and SOC/SOH labels in a database", "derive"),
    "export": ("export training sets (Parquet, CSV) and sessions as BDF files", "export"),
    "predictions": (
        "import a model's predictions and evaluate them per run, split, cell",
        "export",
    ),
}
# a driver that comes with another extra than the command's own (ClickHouse's, for both)
EXTRA_OF_MODULE = {"chdb": "ingest-clickhouse"}
OURS = ("generator", "liam_erd_schema", "connection", "ingest", "derive", "export", "predictions")


def _ingest() -> Callable[..., int]:
    from ingest.cli import main

    return main


def _derive() -> Callable[..., int]:
    from derive.cli import main

    return main


def _export() -> Callable[..., int]:
    from export.cli import main

    return main


def _predictions() -> Callable[..., int]:
    from predictions.cli import main

    return main


RUNNERS = {"ingest": _ingest, "derive": _derive, "export": _export, "predictions": _predictions}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else None
    if command not in RUNNERS:
        from generator.cli import main as generate

        return generate(args, commands={name: text for name, (text, _) in COMMANDS.items()})
    try:
        run = RUNNERS[command]()
        if command == "ingest" and argv is None:  # the process's own: as python -m ingest
            from ingest.cli import start_without_pandas

            start_without_pandas(args[1:])
        code = run(args[1:], prog=f"{PROG} {command}")
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if not missing or missing in OURS:
            raise
        extra = EXTRA_OF_MODULE.get(missing, COMMANDS[command][1])
        print(
            f"error: {PROG} {command} needs {missing}, which is not installed: "
            f"pip install '{PROG}[{extra}]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if command == "ingest" and argv is None:  # the process's own command line
        from ingest.cli import exit_now

        exit_now(code)
    return code
