"""Session fixtures for real engines; the logic lives in the harness/ package.

pg15, pg18, timescale  an engines.Engine each (.name, .version, .major, .connect(),
                       .conninfo(), .fresh_database(prefix)), started once per session
pg_engines             the PostgreSQL engines under test: [pg15, pg18], or only the
                       server of $LIAM_ERD_SCHEMA_PG_DSN when that is set
pg_engine              one of pg_engines; tests using it run once per engine
pg_env                 the $LIAM_ERD_SCHEMA_PG_DSN server, or None; when set it replaces
                       pg15/pg18 (the one of the other major version is skipped)
liam_cli               engines.LiamCli (.build(sql_path, out_dir) -> schema.json dict)
sqlite_demo, pg_demo,  the demo database built once per session on SQLite (whole), PostgreSQL
timescale_demo,        and TimescaleDB (no curves, no models), and by `python -m demo` in chdb
chdb_demo              ((url, rows)), for the tests that only read it

An engine that cannot start skips its tests with the reason, or fails them when
CI=true or LIAM_ERD_SCHEMA_REQUIRE_ENGINES=1.

Markers (pyproject.toml): `engines` is given here to every test that uses one of the fixtures
above, directly or through a parameter (fresh_target's "pg18"); a test that starts an engine
from a fixture of its own is marked in its module. `slow` marks the long corpora, fuzzers and
builds. `make test-fast` deselects both and sets LIAM_ERD_SCHEMA_NO_ENGINES=1: a test in it
that starts an engine fails, naming the marker it lacks.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

import harness

# The tests exercise the generator itself: the run cache (generator/cache.py) is off for them
# and for every process they start; tests/generator/test_startup.py turns it on in a directory
# of its own.
os.environ["LIAM_ERD_SCHEMA_CACHE"] = "off"


def pytest_configure(config):
    harness.stop_on_sigterm()  # servers are stopped when `timeout` ends the run


ENGINE_FIXTURES = frozenset(
    {
        "pg_env",
        "pg15",
        "pg18",
        "timescale",
        "pg_engines",
        "pg_engine",
        "liam_cli",
        "pg_demo",
        "timescale_demo",
        "chdb_demo",
    }
)
NO_ENGINES_ENV = "LIAM_ERD_SCHEMA_NO_ENGINES"


def pytest_collection_modifyitems(config, items):
    for item in items:
        params = item.callspec.params.values() if hasattr(item, "callspec") else ()
        if ENGINE_FIXTURES & set(item.fixturenames) or any(
            isinstance(value, str) and value in ENGINE_FIXTURES for value in params
        ):
            item.add_marker(pytest.mark.engines)
    _check_worker_groups(items)
    # the longest groups first, so that no worker starts one when the other is nearly done
    first = {group: n for n, group in enumerate(("demo", "site"))}
    items.sort(key=lambda item: first.get(worker_group(item.nodeid), len(first)))


# `make test` runs the suite on two workers (pytest-xdist), each starting engines of its own.
# A worker is sent whole groups: a module (its module fixtures, an engine loaded with a
# session or a built wheel, are built once), or one of these groups of modules, which share a
# session fixture built once per worker (the demo databases) or build the site (mkdocs, from
# the checkout) and so run one after the other.
WORKER_GROUPS = {
    "tests/demo/test_demo.py": "demo",
    "tests/demo/test_feature_plots.py": "demo",
    "tests/docs/test_cookbook.py": "demo",
    "tests/derive/test_derive_clickhouse.py": "demo",
    "tests/docs/test_site_browser.py": "site",
    "tests/docs/test_docs_extra.py": "site",
}
DEMO_FIXTURES = frozenset({"sqlite_demo", "pg_demo", "timescale_demo", "chdb_demo"})


def worker_group(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0]
    return WORKER_GROUPS.get(module, module)


def _check_worker_groups(items):
    """A module reading a demo database outside the demo group would build it again."""
    stray = sorted(
        {
            item.nodeid.split("::", 1)[0]
            for item in items
            if DEMO_FIXTURES & set(item.fixturenames) and worker_group(item.nodeid) != "demo"
        }
    )
    if stray:
        raise pytest.UsageError(
            f"{', '.join(stray)} read(s) a demo database: add it to WORKER_GROUPS in "
            "tests/conftest.py as 'demo', so that each worker builds the demo once"
        )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's own groups (--dist loadgroup) rename the test ids, which pytest 9 no longer
    allows; its module scheduler, grouping by worker_group() instead."""
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    return ByGroup(config, log)


def _no_engines_here(what: str):
    if os.environ.get(NO_ENGINES_ENV) == "1":
        pytest.fail(
            f"{what} started with {NO_ENGINES_ENV}=1 (make test-fast): mark the test "
            "@pytest.mark.engines",
            pytrace=False,
        )


def _unavailable(exc: harness.EngineUnavailable):
    if harness.engines_required():
        pytest.fail(str(exc), pytrace=False)
    pytest.skip(str(exc))


def _start(stack: contextlib.ExitStack, engine_cm):
    try:
        return stack.enter_context(engine_cm)
    except harness.EngineUnavailable as exc:
        error = exc  # report outside the except block: no chained traceback
    _unavailable(error)


@pytest.fixture(scope="session")
def pg_env():
    """The $LIAM_ERD_SCHEMA_PG_DSN server, or None when the variable is unset."""
    if harness.own_dsn_is_set():
        _no_engines_here("the $LIAM_ERD_SCHEMA_PG_DSN server")
    with contextlib.ExitStack() as stack:
        yield _start(stack, harness.own_server_from_env())


def _throwaway_pg(pg_env, major: int, start):
    if pg_env is not None:
        if pg_env.major != major:
            pytest.skip(
                f"${harness.PG_DSN_ENV} replaces the throwaway servers and is PostgreSQL "
                f"{pg_env.major}, not {major}"
            )
        yield pg_env
        return
    _no_engines_here(f"PostgreSQL {major}")
    with contextlib.ExitStack() as stack:
        yield _start(stack, start())


@pytest.fixture(scope="session")
def pg15(pg_env):
    yield from _throwaway_pg(pg_env, 15, harness.postgres15)


@pytest.fixture(scope="session")
def pg18(pg_env):
    yield from _throwaway_pg(pg_env, 18, harness.postgres18)


@pytest.fixture(scope="session")
def timescale():
    _no_engines_here("TimescaleDB")
    with contextlib.ExitStack() as stack:
        yield _start(stack, harness.timescaledb())


def _pg_fixture_names() -> list[str]:
    return ["pg_env"] if harness.own_dsn_is_set() else ["pg15", "pg18"]


@pytest.fixture(scope="session")
def pg_engines(request):
    return [request.getfixturevalue(name) for name in _pg_fixture_names()]


def pytest_generate_tests(metafunc):
    if "pg_engine" in metafunc.fixturenames:
        metafunc.parametrize("pg_engine", _pg_fixture_names(), indirect=True, scope="session")


@pytest.fixture(scope="session")
def pg_engine(request):
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session")
def liam_cli():
    _no_engines_here("the Liam CLI")
    try:
        return harness.liam_cli()
    except harness.EngineUnavailable as exc:
        error = exc
    _unavailable(error)


# The demo database, built once per test session on each engine for the tests that only read
# it (the demo's own, the query cookbook's, the ClickHouse command line's): a build is the
# longest set-up of the suite on the slow test servers.


@pytest.fixture(scope="session")
def sqlite_demo(tmp_path_factory):
    """The whole demo on SQLite (curves and baseline models too), in a file build() creates
    with its schema, as `make demo` does."""
    from demo import database as demo

    url = demo.sqlite_url(tmp_path_factory.mktemp("demo") / "battery.sqlite")
    demo.build(url)
    return url


@pytest.fixture(scope="session")
def pg_demo(request):
    """The demo database on PostgreSQL (15, or the server of LIAM_ERD_SCHEMA_PG_DSN); build()
    creates the tables itself there. No curves, no models: SQLite's build has them (their
    760,000 curve rows take minutes on the test servers; their engine parity is tested on
    smaller sessions in tests/derive and tests/export)."""
    from demo import database as demo

    server = request.getfixturevalue("pg_env" if harness.own_dsn_is_set() else "pg15")
    with server.fresh_database("demo") as database:
        demo.build(database.conninfo(), models=False)
        yield database.conninfo()


@pytest.fixture(scope="session")
def timescale_demo():
    """The demo database on a TimescaleDB test server of its own: the session's `timescale`
    server holds one database, which each module's fresh_database() wipes. The harness's
    TimescaleDB DDL is loaded first, as in tests/ingest; no curves, no models (as pg_demo)."""
    from demo import database as demo
    from tests.support.dbkit import ddl_text, load_pg_ddl

    _no_engines_here("TimescaleDB")
    with contextlib.ExitStack() as stack:
        server = _start(stack, harness.timescaledb())
        with server.fresh_database("demo") as database:
            with database.connect() as raw:
                load_pg_ddl(raw, ddl_text("timescaledb"))
            demo.build(database.conninfo(), models=False)
            yield database.conninfo()


@pytest.fixture(scope="session")
def chdb_demo(tmp_path_factory):
    """`python -m demo --db chdb://DIR?database=demo` run once, as a user runs it (chdb holds
    one session per process, hence its own process): (url, the rows it reports per table).
    Readers query the directory from processes of their own."""
    import json
    import subprocess
    import sys

    _no_engines_here("ClickHouse (chdb)")
    try:
        import chdb  # noqa: F401
    except ImportError as exc:
        if harness.engines_required():
            pytest.fail(f"chdb (the ClickHouse engine) is not installed: {exc}", pytrace=False)
        pytest.skip(f"chdb is not installed: {exc}")
    url = f"chdb://{tmp_path_factory.mktemp('demo-ch') / 'demo'}?database=demo"
    proc = subprocess.run(
        [sys.executable, "-m", "demo", "--db", url],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return url, json.loads(proc.stdout.strip().splitlines()[-1])["rows"]
