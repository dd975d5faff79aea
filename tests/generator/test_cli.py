"""The command line: help, exit codes, drift detection, atomic writes, the SQLite database."""

from __future__ import annotations

import argparse
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from generator import cli, load_schema
from generator.cli import main
from generator.targets import TARGETS

ROOT = Path(__file__).resolve().parents[2]


COMMANDS = {"sql", "diagrams", "docs", "all", "check", "validate", "db", "migrate"}


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1, "the parser has one set of subcommands"
    return dict(actions[0].choices)


def run_help(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "generator", *args, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_parser_has_exactly_the_documented_commands():
    assert set(subcommands(cli.build_parser())) == COMMANDS


def test_help_lists_every_command_with_its_summary():
    out = " ".join(run_help().split())  # argparse wraps long summaries
    listed = set()
    for action in cli.build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                # each command followed by its one-line summary
                assert f" {choice.dest} {choice.help} " in out, choice.dest
                listed.add(choice.dest)
    assert listed == COMMANDS


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_its_own_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: liam-erd-schema {command}")
    assert "--out DIR" in out and "schema" in out


def exit_codes_in(text: str, pattern: str) -> dict[int, str]:
    return {int(m[1]): " ".join(m[2].split()) for m in re.finditer(pattern, text, re.M)}


def test_exit_code_tables_agree():
    """cli.py's docstring, --help and the README list the same exit codes, word for word."""
    assert set(cli.EXIT_CODES) == {0, 1, 2, 3, 4, 5, 6, 7, 130}
    assert exit_codes_in(cli.__doc__, r"^  (\d+)  (.+)$") == cli.EXIT_CODES
    assert exit_codes_in(run_help(), r"^  (\d+)  (.+)$") == cli.EXIT_CODES
    readme = (ROOT / "README.md").read_text()
    assert exit_codes_in(readme, r"^\| (\d+) \| (.+) \|$") == cli.EXIT_CODES


def test_unknown_target_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["sql", str(ROOT / "schema.yaml"), "--target", "oracle"])
    assert exit_info.value.code == 2
    assert "unknown target 'oracle'" in capsys.readouterr().err


def test_committed_outputs_are_up_to_date(capsys):
    """`make check` as a test: every committed generated file matches schema.yaml."""
    code = main(["check", str(ROOT / "schema.yaml"), "--out", str(ROOT)])
    assert code == 0, capsys.readouterr().err


def test_check_reports_drift_and_sql_repairs_it(tmp_path, capsys):
    shutil.copytree(ROOT / "sql", tmp_path / "sql")
    stale = tmp_path / "sql" / "postgres" / "schema.sql"
    stale.write_text(stale.read_text().replace("Rated capacity", "Rated capacitance"))
    schema = str(ROOT / "schema.yaml")
    assert main(["check", schema, "--out", str(tmp_path), "--only", "sql"]) == 3
    assert "out of date: sql/postgres/schema.sql" in capsys.readouterr().err
    assert main(["sql", schema, "--out", str(tmp_path)]) == 0
    assert "wrote sql/postgres/schema.sql" in capsys.readouterr().err
    assert main(["check", schema, "--out", str(tmp_path), "--only", "sql"]) == 0


def test_rerun_writes_nothing_and_leaves_no_temp_files(tmp_path, capsys):
    schema = str(ROOT / "schema.yaml")
    assert main(["sql", schema, "--out", str(tmp_path)]) == 0
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.sql")}
    assert main(["sql", schema, "--out", str(tmp_path)]) == 0
    assert f"0 written, {len(TARGETS)} unchanged" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.sql")} == mtimes
    assert not list(tmp_path.rglob("*.tmp"))


def test_db_builds_a_usable_sqlite_database(tmp_path):
    target = tmp_path / "battery.sqlite"
    assert main(["db", str(ROOT / "schema.yaml"), "--path", str(target)]) == 0
    connection = sqlite3.connect(target)
    tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
    connection.close()
    expected = {t.name for t in load_schema(ROOT / "schema.yaml").tables}
    assert tables == expected | {"schema_migrations"}
