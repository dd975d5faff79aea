"""The `docs` extra alone builds the site: what `make docs` and the Pages workflow install.

The test extra holds every library the docs build needs and more, so a docs dependency missing
from the `docs` extra would pass every other test (it did: the demo plots needed pandas). Here a
fresh virtual environment gets the core dependencies and the `docs` extra of pyproject.toml,
nothing else, and runs `mkdocs build --strict` on the checkout, docs_hooks.py included (the
downloads and the demo plots drawn from a demo database built by the loader and derivations).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

# slow: a fresh virtual environment and a site build
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PIP_TIMEOUT = 600  # seconds; a cold pip cache downloads mkdocs-material, matplotlib, pandas
BUILD_TIMEOUT = 300


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float):
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout ---\n{proc.stdout[-4000:]}\n"
        f"--- stderr ---\n{proc.stderr[-4000:]}"
    )
    return proc


def _docs_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["docs"]]


@pytest.fixture(scope="module")
def docs_venv(tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("docs-venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    _run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)], venv, env, 120)
    py = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", str(py)]
    _run([*install, "install", "--quiet", *_docs_requirements()], venv, env, PIP_TIMEOUT)
    return venv


def test_the_docs_extra_alone_builds_the_site(docs_venv, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    # the checkout's rooms (generator, ingest, derive) from the checkout, every library from
    # the fresh environment: nothing of the test environment's site-packages is reachable
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["NO_MKDOCS_2_WARNING"] = "1"
    py = docs_venv / "bin" / "python"
    probe = _run([str(py), "-c", "import sys; print(sys.prefix)"], ROOT, env, 60)
    assert Path(probe.stdout.strip()).resolve() == docs_venv.resolve()
    site = tmp_path / "site"
    cmd = [str(py), "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    _run(cmd, ROOT, env, BUILD_TIMEOUT)
    for name in (
        "discharge-curves.svg",
        "cycle-trace.svg",
        "capacity-fade.svg",
        "soc-label.svg",
        "soc-tests.svg",
        "soh-predicted.svg",  # docs/modelling.md's: the demo's baseline model
        "soh-error.svg",
        "feature-curves.svg",  # docs/features.md's: the curves and step features derived
        "feature-dqdv.svg",
        "feature-delta-q.svg",
        "feature-resistance.svg",
    ):
        svg = site / "demo-plots" / name
        assert svg.is_file(), f"the demo plot {name} was not drawn"
        assert "<svg" in svg.read_text()[:2000]
    assert (site / "downloads" / "postgres.sql").is_file()
