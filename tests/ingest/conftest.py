"""Fixtures of the loader tests (tests/ingest/).

target         a fresh database with the generated schema per engine, shared by a module's
               tests: SQLite and PostgreSQL 18, or the engines of the module's
               TARGET_ENGINES (tests/ingest/loading.py ENGINES: every engine); a module may
               narrow its scope by defining its own `target` on fresh_target
sqlite_target  a fresh SQLite database with the generated schema, shared by a module's tests
"""

from __future__ import annotations

import pytest

from tests.ingest.loading import fresh_target

TWO_ENGINES = ["sqlite", "pg18"]


def _label(request) -> str:
    return request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")


def pytest_generate_tests(metafunc):
    if "target" in metafunc.fixturenames:
        engines = getattr(metafunc.module, "TARGET_ENGINES", TWO_ENGINES)
        metafunc.parametrize("target", engines, indirect=True)


@pytest.fixture(scope="module")
def target(request, tmp_path_factory):
    yield from fresh_target(request, tmp_path_factory, _label(request))


@pytest.fixture(scope="module")
def sqlite_target(request, tmp_path_factory):
    request.param = "sqlite"
    yield from fresh_target(request, tmp_path_factory, _label(request) + "_sqlite")
