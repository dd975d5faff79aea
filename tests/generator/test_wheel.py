"""The package as an installable tool, used outside this repository.

A wheel is built from the checkout's sources (once per session), installed into a fresh virtual
environment outside the checkout, and its `liam-erd-schema` command runs `sql`, `diagrams`,
`docs` and `check` on a copy of schema.yaml in a temporary directory, as another lab would on
its own schema. The pre-commit hooks of .pre-commit-hooks.yaml run there too, by their entry.
A second environment holds the wheel with its `ingest` extra: `liam-erd-schema ingest` loads a
BDF file into SQLite and `liam-erd-schema derive` derives it, with the schema the package was
built with or the user's own (--schema). The wheel must hold every room under liam_erd_schema/
with no import of a bare `ingest`, `derive` or `connection` left.

The wheel's dependencies come from the package index (pip's cache makes reruns quick).
"""

from __future__ import annotations

import ast
import gzip
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

import harness
from generator.targets import TARGETS

# slow: a wheel built and installed into a fresh virtual environment
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PIP_TIMEOUT = 600  # seconds; a cold pip cache downloads the core dependencies
RUN_TIMEOUT = 120

# What a wheel is built from: everything else in the checkout stays out of the build.
WHEEL_SOURCES = (
    "pyproject.toml",
    "README.md",
    "schema.yaml",
    "generator",
    "liam_erd_schema",
    "connection",
    "ingest",
    "derive",
    "export",
    "predictions",
    "scripts/hatch_build.py",
)
PACKAGE = "liam_erd_schema"
ROOMS = ("connection", "ingest", "derive", "export", "predictions")  # inside PACKAGE in the wheel


def _env() -> dict[str, str]:
    """The environment without anything that would let the checkout leak into the tool."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(cmd: list[str], cwd: Path, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def _ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, (
        f"{shlex.join(proc.args)} exited {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the checkout's sources (the checkout is never written)."""
    src = tmp_path_factory.mktemp("wheel-src")
    for name in WHEEL_SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("wheel")
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out)]
    _ok(_run([*build, "."], cwd=src, timeout=PIP_TIMEOUT))
    (built,) = out.glob("liam_erd_schema-*.whl")
    return built


def _venv(tmp_path_factory, requirement: str) -> Path:
    """The `liam-erd-schema` command of a fresh virtual environment holding `requirement`."""
    venv = tmp_path_factory.mktemp("venv")
    # Without its own pip (ensurepip is the slow part of venv creation): the test
    # environment's pip installs into it with --python, resolving the dependencies anew.
    _ok(_run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)], cwd=venv))
    py = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", requirement]
    _ok(_run(install, venv, PIP_TIMEOUT))
    return venv / "bin" / "liam-erd-schema"


@pytest.fixture(scope="session")
def tool(wheel, tmp_path_factory) -> Path:
    """The `liam-erd-schema` command of a fresh virtual environment holding only the wheel."""
    return _venv(tmp_path_factory, str(wheel))


@pytest.fixture(scope="session")
def ingest_tool(wheel, tmp_path_factory) -> Path:
    """The same, with the loader's extra: what `pip install 'liam-erd-schema[ingest]'` gives."""
    return _venv(tmp_path_factory, f"{wheel}[ingest]")


@pytest.fixture(scope="module")
def workdir(tool, tmp_path_factory) -> Path:
    """A directory outside the checkout holding a copy of schema.yaml and nothing else."""
    work = tmp_path_factory.mktemp("own-schema")
    shutil.copy2(ROOT / "schema.yaml", work / "schema.yaml")
    return work


def _need_dot() -> None:
    if shutil.which("dot") is None:
        reason = "Graphviz's dot is not installed (bash scripts/setup-test-env.sh --for graphviz)"
        if harness.engines_required():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def generated(tool, workdir) -> Path:
    """workdir after the tool's sql, diagrams and docs: every output `check` compares."""
    _need_dot()
    for command in ("sql", "diagrams", "docs"):
        _ok(_run([str(tool), command], workdir))
    return workdir


def test_wheel_holds_the_generator_and_its_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "generator/schema.json" in names
    assert any(n.startswith("generator/templates/docs/") and n.endswith(".j2") for n in names)
    assert not any(n.startswith(("tests/", "bench/", "sql/", "docs/")) for n in names)


def test_wheel_holds_the_rooms_inside_one_package_with_the_schema(wheel):
    """Nothing at the top level but generator and liam_erd_schema; every module of the rooms
    inside liam_erd_schema, none of them importing a room by its bare name."""
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"generator", PACKAGE}, top
    for room in (*ROOMS, PACKAGE):
        home = ROOT / room if room != PACKAGE else ROOT / PACKAGE
        inside = PACKAGE if room == PACKAGE else f"{PACKAGE}/{room}"
        for source in home.rglob("*.py"):
            name = f"{inside}/{source.relative_to(home).as_posix()}"
            assert name in names, f"the wheel lacks {name}"
    assert archive.read(f"{PACKAGE}/schema.yaml") == (ROOT / "schema.yaml").read_bytes()
    for name in sorted(n for n in names if n.startswith(f"{PACKAGE}/") and n.endswith(".py")):
        for node in ast.walk(ast.parse(archive.read(name), name)):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            bare = [m for m in modules if m.split(".")[0] in ROOMS]
            assert not bare, f"{name}:{node.lineno}: imports {bare[0]} by its bare name"
    entry = archive.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt")))
    assert f"liam-erd-schema = {PACKAGE}.cli:main" in entry.decode()


def test_installed_tool_runs_from_its_own_environment(tool, workdir):
    py = tool.parent / "python"
    proc = _run([str(py), "-c", "import generator; print(generator.__file__)"], workdir)
    _ok(proc)
    location = Path(proc.stdout.strip()).resolve()
    assert location.is_relative_to(tool.parent.parent), location
    assert not location.is_relative_to(ROOT), f"the tool imported the checkout: {location}"
    _ok(_run([str(tool), "--help"], workdir))


def test_the_one_command_lists_the_rooms_commands_and_names_a_missing_extra(tool, workdir):
    proc = _run([str(tool), "--help"], workdir)
    _ok(proc)
    assert "ingest " in proc.stdout and "derive " in proc.stdout, proc.stdout
    # the bare wheel: --help imports nothing a load needs, and it answers
    proc = _run([str(tool), "ingest", "--help"], workdir)
    _ok(proc)
    assert proc.stdout.startswith("usage: liam-erd-schema ingest"), proc.stdout
    # a load needs the loader's extra, which is not installed: the command says which it is
    (workdir / "one.csv").write_text("Test Time / s,Voltage / V,Current / A\n0,3.6,0\n")
    proc = _run([str(tool), "ingest", "one.csv", "--db", "none.sqlite", "--session", "1"], workdir)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().endswith("pip install 'liam-erd-schema[ingest]'"), proc.stderr
    assert "Traceback" not in proc.stderr
    # the derivations on SQLite need nothing more than Python
    proc = _run([str(tool), "derive", "--help"], workdir)
    _ok(proc)
    assert proc.stdout.startswith("usage: liam-erd-schema derive"), proc.stdout


def test_sql_outside_the_checkout_matches_the_committed_ddl(tool, workdir, tmp_path):
    shutil.copy2(workdir / "schema.yaml", tmp_path / "schema.yaml")
    _ok(_run([str(tool), "sql"], tmp_path))  # needs nothing but Python: no Graphviz here
    for name, target in TARGETS.items():
        written = tmp_path / target.path
        assert written.is_file(), f"{name}: {target.path} was not written"
        committed = (ROOT / target.path).read_bytes()
        assert written.read_bytes() == committed, f"{name}: differs from the checkout's file"


def test_diagrams_and_docs_outside_the_checkout(generated):
    assert (generated / "docs" / "diagrams" / "erd.svg").read_text().lstrip().startswith("<")
    assert (generated / "docs" / "reference" / "nav.yml").is_file()
    tables = sorted(p.stem for p in (generated / "docs" / "reference" / "tables").glob("*.md"))
    assert "timeseries_point" in tables


def test_check_passes_then_catches_drift(tool, generated):
    workdir = generated
    _ok(_run([str(tool), "check"], workdir))
    stale = workdir / TARGETS["sqlite"].path
    original = stale.read_text()
    stale.write_text(original + "-- edited by hand\n")
    try:
        proc = _run([str(tool), "check", "--only", "sql"], workdir)
        assert proc.returncode == 3, proc.stderr
        assert TARGETS["sqlite"].path in proc.stderr
    finally:
        stale.write_text(original)


def _hooks() -> list[dict]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(hooks, list) and hooks, ".pre-commit-hooks.yaml defines no hook"
    return hooks


def test_pre_commit_hooks_are_installable_python_hooks():
    for hook in _hooks():
        assert hook["language"] == "python", hook["id"]
        assert hook["pass_filenames"] is False, hook["id"]
        assert shlex.split(hook["entry"])[0] == "liam-erd-schema", hook["id"]


@pytest.mark.parametrize("hook", _hooks(), ids=lambda hook: hook["id"])
def test_pre_commit_hook_command_passes_on_an_own_schema(hook, tool, generated):
    """What pre-commit runs in a repository holding schema.yaml, by the hook's own entry."""
    workdir = generated
    entry = shlex.split(hook["entry"])
    command = [str(tool.parent / entry[0]), *entry[1:], *hook.get("args", [])]
    _ok(_run(command, workdir))


@pytest.mark.parametrize("hook", _hooks(), ids=lambda hook: hook["id"])
def test_pre_commit_hook_command_passes_in_this_repository(hook):
    """The hooks' commands pass on this checkout (the test environment's entry point)."""
    _need_dot()
    entry = shlex.split(hook["entry"])
    command = [str(Path(sys.executable).parent / entry[0]), *entry[1:], *hook.get("args", [])]
    _ok(_run(command, ROOT))


def _page_block(lang: str, after: str) -> str:
    """The first ```lang block after the text `after` on the "own schema" docs page."""
    page = (ROOT / "docs" / "own-schema.md").read_text()
    start = page.index(after)
    begin = page.index(f"```{lang}\n", start) + len(f"```{lang}\n")
    return page[begin : page.index("```", begin)]


def test_docs_page_starter_schema_works_with_the_installed_tool(tool, tmp_path):
    """The empty-schema start and the editor set-up of docs/own-schema.md, as written there."""
    import json
    import sqlite3

    import jsonschema

    starter = _page_block("yaml", "To start from nothing")
    (tmp_path / "schema.yaml").write_text(starter)
    _ok(_run([str(tool), "validate"], tmp_path))
    _ok(_run([str(tool), "sql"], tmp_path))
    with sqlite3.connect(":memory:") as db:
        db.executescript((tmp_path / TARGETS["sqlite"].path).read_text())
        tables = db.execute("SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name")
        # the starter's one table, and dbmate's record of the schema version (docs: Evolving)
        assert [r[0] for r in tables] == ["cell", "schema_migrations"]
    # The page's command copies the JSON Schema out of the installed package.
    copy = _page_block("sh", "Copy it next to your schema").replace("\\\n", "")
    assert copy.startswith(".venv/bin/python -c ")
    code = shlex.split(copy)[2]
    _ok(_run([str(tool.parent / "python"), "-c", code], tmp_path))
    editor_schema = json.loads((tmp_path / "schema.json").read_text())
    jsonschema.validate(yaml.safe_load(starter), editor_schema)
    assert starter.startswith("# yaml-language-server: $schema=schema.json\n")


# ------------------------------------------------------------- the loader and the derivations


def _bdf_slice(path: Path, first: int, rows: int) -> int:
    """`rows` rows of the demo's aging file from its line `first` on (0: the header), written
    to `path` as a BDF CSV file; the number of cycle_count values in them (derive's cycles)."""
    with gzip.open(ROOT / "data" / "demo" / "cell_aging.bdf.csv.gz", "rt") as f:
        lines = f.read().splitlines()
    body = lines[first : first + rows]
    path.write_text("\n".join([lines[0], *body]) + "\n")
    column = lines[0].split(",").index("Cycle Count / 1")
    return len({line.split(",")[column] for line in body})


def _counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        tables = ("timeseries_point", "cycle", "cycle_feature", "label_soc")
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def test_ingest_and_derive_outside_the_checkout_as_the_docs_page_says(ingest_tool, tmp_path):
    """The block of docs/own-schema.md, as written there (`.venv/bin/` is the test's venv):
    the schema copied out of the installed package, a database made from it, a BDF file
    loaded and derived; then the same file against a schema of the user's own."""
    # from the start of a charge (after a full discharge: SOC counted from 0 holds)
    cycles = _bdf_slice(tmp_path / "run1.csv", 70, 1200)
    sidecar = json.loads((ROOT / "data" / "demo" / "cell_aging.json").read_text())
    (tmp_path / "cell.json").write_text(json.dumps(sidecar))
    block = _page_block("sh", "copy it out to make a database from it")
    bin_dir = str(ingest_tool.parent) + "/"
    assert block.count(".venv/bin/") == 4, block
    _ok(_run(["bash", "-euo", "pipefail", "-c", block.replace(".venv/bin/", bin_dir)], tmp_path))
    shipped = ingest_tool.parent.parent.glob(f"lib/python*/site-packages/{PACKAGE}/schema.yaml")
    assert (tmp_path / "schema.yaml").read_bytes() == next(shipped).read_bytes()
    counts = _counts(tmp_path / "battery.sqlite")
    assert counts == {
        "timeseries_point": 1200,
        "cycle": cycles,
        "cycle_feature": cycles,
        "label_soc": 1200,
    }, counts

    # A schema of the user's own, its voltage capped below the file's 4.2 V: refused whole.
    own = tmp_path / "own.yaml"
    voltage = "range: {min: -5, max: 1500}\n        description: Terminal voltage"
    text = (tmp_path / "schema.yaml").read_text()
    assert text.count(voltage) == 1
    own.write_text(text.replace(voltage, voltage.replace("1500", "4.1")))
    _bdf_slice(tmp_path / "run2.csv", 1270, 400)
    load = [str(ingest_tool), "ingest", "run2.csv", "--db", "battery.sqlite", "--session", "1"]
    proc = _run([*load, "--schema", str(own)], tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "ck_timeseries_point_voltage_volt_range" in proc.stderr, proc.stderr
    assert _counts(tmp_path / "battery.sqlite") == counts
    _ok(_run(load, tmp_path))  # the built-in schema takes it
    assert _counts(tmp_path / "battery.sqlite")["timeseries_point"] == 1600
