"""The bad-input corpus (tests/generator/hostile.py) on the real command and the real engines.

Every bad case: exit 1, every report line in `file:line:col: path: message` form with nothing
unescaped, the expected rule's problem on the expected line, and the output tree untouched.
Every accepted case: the DDL of every target loads into SQLite, PostgreSQL and TimescaleDB with
exactly the model's columns (nothing injected). And every error site in the generator (each
problem code) has at least one case here.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from generator import cli, load_schema_text
from generator.cli import main
from generator.errors import SchemaError
from generator.load import load
from generator.rules import CODES
from generator.targets import TARGETS
from tests.generator.hostile import ACCEPTED, CASES, ROOT

# A call that reports a problem: ctx.report(...), _fail(...) and error(...) in load.py, and
# fail(...) in the expression walker (the first argument is the site's code), and a Problem
# built with a literal code="...".
CODE_CALL = re.compile(
    r"""(?:(?:report|_fail|fail|self\.error|problem)\(\s*|code=)"([a-z]+\.[a-z0-9-]+)\""""
)


@pytest.fixture()
def workdir(tmp_path):
    shutil.copytree(ROOT / "sql", tmp_path / "sql")
    return tmp_path


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def run_bad(path: Path, workdir: Path, capsys, monkeypatch=None) -> list:
    """Run `sql` on a bad file; returns the problems the command reported (observed on their
    way out of load/validate, so each case runs the generator once)."""
    seen: list = []
    if monkeypatch is not None:
        for name in ("load", "validate"):
            monkeypatch.setattr(cli, name, _observe(getattr(cli, name), seen))
    before = snapshot(workdir / "sql")
    started = time.perf_counter()
    code = main(["sql", str(path), "--out", str(workdir)])
    elapsed = time.perf_counter() - started
    err = capsys.readouterr().err
    assert code == 1, err
    assert elapsed < 10, f"took {elapsed:.1f} s"
    lines = err.splitlines()
    assert lines[-1].endswith("nothing was written."), err
    for line in lines[:-1]:
        assert line.startswith(f"{path}:"), f"report line not located (forged?): {line!r}"
        assert re.match(rf"^{re.escape(str(path))}:\d+:\d+: \S.*: \S", line), line
        assert line.isprintable(), f"unescaped character in {line!r}"
    assert snapshot(workdir / "sql") == before, "a failed run changed generated files"
    assert not list(workdir.rglob("*.tmp")), "a failed run left temporary files"
    assert [str(p) for p in seen] == lines[:-1], "printed lines differ from the problems"
    return seen


def _observe(function, seen: list):
    def observed(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except SchemaError as exc:
            seen.extend(exc.problems)
            raise

    return observed


@pytest.mark.slow  # the corpus: a run of the command per case
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_case_is_refused_with_its_rule_and_line(case, workdir, capsys, monkeypatch):
    path = workdir / "schema.yaml"
    path.write_bytes(case.content())
    problems = run_bad(path, workdir, capsys, monkeypatch)
    mine = [p for p in problems if p.code == case.code]
    assert mine, f"no {case.code} problem in:\n" + "\n".join(f"[{p.code}] {p}" for p in problems)
    expected = case.expected_line()
    assert any(p.line == expected and case.fragment in str(p) for p in mine), (
        f"expected line {expected} and {case.fragment!r} in:\n" + "\n".join(map(str, mine))
    )


def test_corpus_is_broad():
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"


def test_every_error_site_has_a_code_and_a_case():
    """Each call that reports a problem names a registered code, each code has its own call
    site, and each code has a hostile case: a new rule without a case fails here."""
    sites: dict[str, int] = {}
    for source in sorted((ROOT / "generator").rglob("*.py")):
        for code in CODE_CALL.findall(source.read_text(encoding="utf-8")):
            sites[code] = sites.get(code, 0) + 1
    assert set(sites) == set(CODES), (
        f"unregistered: {sorted(set(sites) - set(CODES))}; "
        f"registered but never reported: {sorted(set(CODES) - set(sites))}"
    )
    shared = {code: n for code, n in sites.items() if n > 1}
    assert not shared, f"codes used at more than one site (give each its own): {shared}"
    covered = {c.code for c in CASES}
    missing = sorted(set(CODES) - covered - {"load.read"})
    assert not missing, f"error sites without a hostile case: {missing}"


@pytest.mark.parametrize(
    "special", ["directory", "missing", "dev-zero", "fifo-like-device"], ids=str
)
def test_unreadable_or_endless_paths(special, tmp_path, capsys):
    path = {
        "directory": tmp_path,
        "missing": tmp_path / "nope.yaml",
        "dev-zero": Path("/dev/zero"),
        "fifo-like-device": Path("/dev/urandom"),
    }[special]
    started = time.perf_counter()
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert time.perf_counter() - started < 5
    first = err.splitlines()[0]
    if special in ("directory", "missing"):
        # not a problem of the content: one line naming the file, a usage error
        assert code == 2, err
        assert err == f"{path}: cannot read: {first.split(': cannot read: ')[1]}\n"
        assert "nothing was written" in first
        with pytest.raises(SchemaError) as caught:  # load_schema users still catch it
            load(path)
        assert caught.value.problems[0].code == "load.read"
    else:
        assert code == 1, err
        assert first.startswith(f"{path}:1:1: <file>: "), first
        assert "larger than 524,288 bytes" in first


def test_all_problems_are_reported_in_one_run(workdir, capsys):
    text = (ROOT / "schema.yaml").read_text(encoding="utf-8")
    at = text.index("        type: smallint", text.index("  battery_pack:"))
    text = text[:at] + "        type: smallnit" + text[at + len("        type: smallint") :]
    text = text.replace("          table: test_session", "          table: test_sesion", 1)
    text = text.replace("range: {min: -60, max: 150}", "range: {min: 150, max: -60}", 1)
    schema_file = workdir / "schema.yaml"
    schema_file.write_text(text, encoding="utf-8")
    assert main(["validate", str(schema_file)]) == 1
    err = capsys.readouterr().err
    assert "unknown type 'smallnit'" in err
    assert "references unknown table 'test_sesion'" in err
    assert "empty range" in err
    assert "3 problems" in err


def test_the_real_schema_is_valid(capsys):
    assert main(["validate", str(ROOT / "schema.yaml")]) == 0


def test_a_50_mb_file_ends_fast(tmp_path, capsys):
    path = tmp_path / "big.yaml"
    with open(path, "wb") as handle:
        handle.write(b"key: value\n" * (50 * 1024 * 1024 // 11))
    started = time.perf_counter()
    assert main(["validate", str(path)]) == 1
    assert time.perf_counter() - started < 2
    assert "512 KiB" in capsys.readouterr().err


def test_report_lines_cannot_be_forged(workdir, capsys, monkeypatch):
    """A key holding a newline, a fake position and terminal escapes prints as one escaped
    line."""
    from tests.generator.hostile import column, pack_column

    text = pack_column(column("type: text", name='"x\\nschema.yaml:1:1: fake\\e[2J\\u202e"'))
    path = workdir / "schema.yaml"
    path.write_text(text, encoding="utf-8")
    problems = run_bad(path, workdir, capsys, monkeypatch)
    lines = [str(p) for p in problems]
    assert any("x\\nschema.yaml:1:1: fake\\x1b[2J\\u202e" in line for line in lines), lines


# ---- accepted hostile-looking schemas: the DDL loads, nothing is injected -------------------


def _models():
    return {name: load_schema_text(text, f"{name}.yaml") for name, text in ACCEPTED.items()}


@pytest.fixture(scope="module")
def accepted():
    return {
        name: (schema, {t: TARGETS[t].render(schema, self_check=True) for t in TARGETS})
        for name, schema in _models().items()
    }


@pytest.mark.slow  # every target rendered for every accepted case
@pytest.mark.parametrize("name", list(ACCEPTED))
def test_accepted_case_loads_in_sqlite_unharmed(name, accepted):
    schema, ddl = accepted[name]
    connection = sqlite3.connect(":memory:")
    try:
        connection.executescript(ddl["sqlite"])
        for table in schema.tables:
            columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table.name})")]
            assert columns == [c.name for c in table.columns], table.name
    finally:
        connection.close()


def _pg_columns(connection, table: str) -> list[str]:
    rows = connection.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [r[0] for r in rows]


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_accepted_case_loads_in_postgres_unharmed(name, accepted, pg_engine):
    schema, ddl = accepted[name]
    for target in ("postgres", "liam"):
        with pg_engine.fresh_database("hostile") as db, db.connect() as connection:
            connection.execute(ddl[target])
            for table in schema.tables:
                assert _pg_columns(connection, table.name) == [c.name for c in table.columns]
            names = {
                r[0] for r in connection.execute("SELECT conname FROM pg_constraint").fetchall()
            }
            expected = {table.primary_key_name for table in schema.tables}
            assert expected <= names, "a generated name was truncated or changed"


def test_accepted_cases_load_in_timescaledb_unharmed(accepted, timescale):
    for name, (schema, ddl) in accepted.items():
        with timescale.fresh_database("hostile") as db, db.connect() as connection:
            connection.execute(ddl["timescaledb"])
            for table in schema.tables:
                assert _pg_columns(connection, table.name) == [c.name for c in table.columns], name
