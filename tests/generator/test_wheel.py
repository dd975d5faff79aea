"""The generator as an installable tool, used outside this repository.

A wheel is built from the checkout's sources (once per session), installed into a fresh virtual
environment outside the checkout, and its `liam-erd-schema` command runs `sql`, `diagrams`,
`docs` and `check` on a copy of schema.yaml in a temporary directory, as another lab would on
its own schema. The pre-commit hooks of .pre-commit-hooks.yaml run there too, by their entry.

The wheel's core dependencies come from the package index (pip's cache makes reruns quick).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
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
WHEEL_SOURCES = ("pyproject.toml", "README.md", "generator")


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
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("wheel")
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out)]
    _ok(_run([*build, "."], cwd=src, timeout=PIP_TIMEOUT))
    (built,) = out.glob("liam_erd_schema-*.whl")
    return built


@pytest.fixture(scope="session")
def tool(wheel, tmp_path_factory) -> Path:
    """The `liam-erd-schema` command of a fresh virtual environment holding only the wheel."""
    venv = tmp_path_factory.mktemp("venv")
    # Without its own pip (ensurepip is the slow part of venv creation): the test
    # environment's pip installs into it with --python, resolving the core dependencies anew.
    _ok(_run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)], cwd=venv))
    py = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", str(wheel)]
    _ok(_run(install, venv, PIP_TIMEOUT))
    return venv / "bin" / "liam-erd-schema"


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
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    assert "generator/schema.json" in names
    assert any(n.startswith("generator/templates/docs/") and n.endswith(".j2") for n in names)
    assert not any(n.startswith(("tests/", "bench/", "sql/", "docs/")) for n in names)


def test_installed_tool_runs_from_its_own_environment(tool, workdir):
    py = tool.parent / "python"
    proc = _run([str(py), "-c", "import generator; print(generator.__file__)"], workdir)
    _ok(proc)
    location = Path(proc.stdout.strip()).resolve()
    assert location.is_relative_to(tool.parent.parent), location
    assert not location.is_relative_to(ROOT), f"the tool imported the checkout: {location}"
    _ok(_run([str(tool), "--help"], workdir))


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
