"""The derivations (derive/) on real engines: the same BDF CSV files loaded with the loader into
SQLite, PostgreSQL 15 and 18 and TimescaleDB, derived with the same SQL, and compared: cycles,
cycle features and labels must agree across engines within float4 rounding (PostgreSQL stores
`real` in 4 bytes, SQLite in 8): |a - b| <= 1e-6 + 1e-5 |b|. Hand-checkable sessions pin the
definitions (docs/deriving.md): a constant-current cycle holds I*t, time stepping backwards
adds nothing, a cycle without the cycler's counters is integrated, CV time from the cycler's
step labels or from the voltage band, SOH against the first full cycles, versions side by side,
and a refused session leaves the database as it was."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import pytest

import derive
import harness
from derive.cli import main as derive_main
from ingest.db import connect
from tests.derive.sessions import CCCV, QUERIES, close, load_sessions
from tests.support.dbkit import ddl_text, load_pg_ddl

# every test reads `targets`, which starts every engine
pytestmark = pytest.mark.engines

ENGINES = ["sqlite"] + (["pg_env"] if harness.own_dsn_is_set() else ["pg15", "pg18"])
ENGINES.append("timescale")


@dataclass
class Target:
    name: str
    url: str
    kind: str
    sessions: dict[str, int]

    def query(self, sql: str, params=()) -> list[tuple]:
        db = connect(self.url)
        try:
            return db.query(sql, params)
        finally:
            db.close()


@pytest.fixture(scope="module")
def targets(request, tmp_path_factory):
    """Every engine loaded with the same files and derived with the defaults (initial SOC
    0.5); the cccv session's SOH also against its first two full cycles (label soh-k2)."""
    import contextlib

    found = {}
    with contextlib.ExitStack() as stack:
        for name in ENGINES:
            tmp = tmp_path_factory.mktemp(f"derive-{name}")
            if name == "sqlite":
                path = tmp / "battery.sqlite"
                conn = sqlite3.connect(path)
                conn.executescript(ddl_text("sqlite"))
                conn.close()
                url, kind, engine_name = f"sqlite:///{path}", "sqlite", "sqlite"
            else:
                engine = request.getfixturevalue(name)
                ddl = "timescaledb" if name == "timescale" else "postgres"
                database = stack.enter_context(engine.fresh_database("derive"))
                with database.connect() as raw:
                    load_pg_ddl(raw, ddl_text(ddl))
                url, kind, engine_name = database.conninfo(), "postgres", engine.name
            ids = load_sessions(url, tmp)
            derive.run(url, initial_soc=0.5)
            derive.run(
                url, [ids["cccv"]], what=["soh"], label_version="soh-k2", soh_reference_cycles=2
            )
            found[engine_name] = Target(engine_name, url, kind, ids)
        yield found


# ------------------------------------------------------------------------- across engines


@pytest.mark.parametrize("table", list(QUERIES))
def test_every_engine_derives_the_same_rows(targets, table):
    reference = targets["sqlite"].query(QUERIES[table])
    assert reference, f"{table}: nothing derived"
    for name, target in targets.items():
        got = target.query(QUERIES[table])
        assert len(got) == len(reference), (
            f"{table}: {name} {len(got)} rows, sqlite {len(reference)}"
        )
        for mine, theirs in zip(got, reference, strict=True):
            assert all(close(a, b) for a, b in zip(mine, theirs, strict=True)), (
                f"{table}: {name} {mine} != sqlite {theirs}"
            )


# ------------------------------------------------------------------------- hand-checkable


def feature(target: Target, session: str, cycle: int = 0, version: str = "derive-1") -> dict:
    columns = derive.sql.FEATURE_COLUMNS
    row = target.query(
        f"SELECT {', '.join(columns)} FROM cycle_feature WHERE session_id = %s"
        " AND cycle_index = %s AND feature_version = %s",
        [target.sessions[session], cycle, version],
    )[0]
    return dict(zip(columns, row, strict=True))


def soc_labels(target: Target, session: str, version: str = "derive-1") -> list[float]:
    return [
        r[0]
        for r in target.query(
            "SELECT soc FROM label_soc WHERE session_id = %s AND label_version = %s"
            " ORDER BY record_index",
            [target.sessions[session], version],
        )
    ]


@pytest.fixture(params=ENGINES)
def each(request, targets):
    """Each engine's target in turn (the hand checks hold on every engine)."""
    names = list(targets)
    return targets[names[ENGINES.index(request.param)]]


def test_constant_current_cycle_holds_i_times_t(each):
    f = feature(each, "constant_current")
    assert f["charge_capacity_ah"] == pytest.approx(2.0, rel=1e-6)  # 2 A * 3600 s
    assert f["discharge_capacity_ah"] == 0
    assert f["charge_energy_wh"] == pytest.approx(2.0 * 3.8, rel=1e-6)
    assert f["coulombic_efficiency"] is None and f["energy_efficiency"] is None
    assert f["voltage_mean_volt"] == pytest.approx(3.8, rel=1e-6)
    assert (f["voltage_min_volt"], f["voltage_max_volt"]) == pytest.approx((3.5, 4.1))
    assert f["current_max_ampere"] == f["current_min_ampere"] == 2.0
    assert f["temperature_mean_celsius"] is None  # no temperature in the file
    assert f["charge_throughput_ah"] == pytest.approx(2.0, rel=1e-6)
    # no step labels: the voltage band finds no CV (the voltage never stays at the top)
    assert f["cv_time_second"] == 0
    soc = soc_labels(each, "constant_current")
    assert soc[0] == 0.5 and soc[-1] == pytest.approx(0.9, rel=1e-6)  # + 2 Ah of 5 Ah nominal
    cycle_type = each.query(
        "SELECT cycle_type FROM cycle WHERE session_id = %s", [each.sessions["constant_current"]]
    )
    assert cycle_type == [("reference",)]  # protocol rpt


def test_time_stepping_backwards_adds_nothing(each):
    f = feature(each, "backwards")
    # intervals 600, 600, 0 (1200 -> 900 s), 600: 3 A over 1800 s, not 1500 s
    assert f["discharge_capacity_ah"] == pytest.approx(1.5, rel=1e-6)
    soc = soc_labels(each, "backwards")
    assert soc == pytest.approx([0.5, 0.4, 0.3, 0.3, 0.2], abs=1e-6)
    bounds = each.query(
        "SELECT test_time_start_second, test_time_end_second FROM cycle WHERE session_id = %s",
        [each.sessions["backwards"]],
    )
    assert bounds == [(0.0, 1500.0)]


def test_counters_win_and_a_cycle_without_them_is_integrated(each):
    counted, integrated = feature(each, "mixed_counters", 0), feature(each, "mixed_counters", 1)
    # the counter rose 0.5 Ah over cycle 0 while the current says 1 A * 3600 s = 1 Ah
    assert counted["charge_capacity_ah"] == pytest.approx(0.5, rel=1e-6)
    # cycle 1 has no counters: 1 A over 3600 s (its first interval starts at cycle 0's end)
    assert integrated["charge_capacity_ah"] == pytest.approx(1.0, rel=1e-6)
    assert integrated["charge_throughput_ah"] == pytest.approx(1.5, rel=1e-6)


def counter_delta(cycle: int, counter: str) -> float:
    """The cycler's cumulative counter over one cycle of CCCV: its last value in the cycle
    minus its last value in the cycle before."""
    last = {r["cycle_count"]: r[counter] for r in CCCV}
    return last[cycle] - last.get(cycle - 1, CCCV[0][counter])


def test_a_counter_that_restarts_counts_from_its_new_value(each):
    # cycle 0: 0.0, 0.1 ... 0.5; cycle 1 restarts: 0.1 (counted since the restart) ... 0.6
    assert feature(each, "reset_counters", 0)["charge_capacity_ah"] == pytest.approx(0.5)
    assert feature(each, "reset_counters", 1)["charge_capacity_ah"] == pytest.approx(0.6)


def test_cccv_cycles_capacity_cv_and_soh(each):
    ids = each.sessions["cccv"]
    cycles = each.query(
        "SELECT cycle_index, cycle_type FROM cycle WHERE session_id = %s ORDER BY cycle_index",
        [ids],
    )
    assert cycles == [(c, "aging") for c in range(4)]  # the cycler's counter, not renumbered
    for cycle in range(4):
        f = feature(each, "cccv", cycle)
        for column, counter in (
            ("charge_capacity_ah", "charging_capacity_ah"),
            ("discharge_capacity_ah", "discharging_capacity_ah"),
            ("charge_energy_wh", "charging_energy_wh"),
            ("discharge_energy_wh", "discharging_energy_wh"),
        ):
            assert f[column] == pytest.approx(counter_delta(cycle, counter), rel=1e-6), column
        assert f["voltage_max_volt"] == pytest.approx(4.2)
        labelled = [r for r in CCCV if r["cycle_count"] == cycle and r["step_type"] == "cv_charge"]
        # both ends of an interval labelled cv_charge: one interval fewer than the samples
        assert f["cv_time_second"] == pytest.approx(10.0 * (len(labelled) - 1))
        assert 0 < f["cv_capacity_ah"] < f["charge_capacity_ah"]
        # without labels the voltage band (2 mV below the top) finds the same phase, plus the
        # interval into it and at most one more CC interval that ends within the band
        bare = feature(each, "cccv_bare", cycle)
        assert 10.0 <= bare["cv_time_second"] - f["cv_time_second"] <= 20.0
        # without counters, the trapezoid agrees with them to a few half-intervals of current
        assert bare["charge_capacity_ah"] == pytest.approx(f["charge_capacity_ah"], abs=0.01)
        assert bare["discharge_energy_wh"] == pytest.approx(f["discharge_energy_wh"], abs=0.05)
        if cycle:
            assert 0.95 < f["coulombic_efficiency"] < 1.05
            assert 0.8 < f["energy_efficiency"] < 1.0
    # cycle 0 starts at half charge: partial (coulombic efficiency about 0.46), no SOH label
    assert feature(each, "cccv", 0)["coulombic_efficiency"] < 0.5
    soh = each.query(
        "SELECT cycle_index, soh, reference_basis, reference_capacity_ah FROM label_soh"
        " WHERE session_id = %s AND label_version = 'soh-k2' ORDER BY cycle_index",
        [ids],
    )
    assert [r[0] for r in soh] == [1, 2, 3]
    reference = (
        counter_delta(1, "discharging_capacity_ah") + counter_delta(2, "discharging_capacity_ah")
    ) / 2
    assert {r[2] for r in soh} == {"first_measured"}
    assert soh[0][3] == pytest.approx(reference, rel=1e-6)
    assert [r[1] for r in soh] == sorted((r[1] for r in soh), reverse=True)  # it fades
    assert (soh[0][1] + soh[1][1]) / 2 == pytest.approx(1.0, rel=1e-6)
    nominal = each.query(
        "SELECT cycle_index, soh, reference_basis, reference_capacity_ah FROM label_soh"
        " WHERE session_id = %s AND label_version = 'derive-1' ORDER BY cycle_index",
        [ids],
    )
    assert nominal[0] == (
        1,
        pytest.approx(counter_delta(1, "discharging_capacity_ah") / 5.0, rel=1e-6),
        "nominal",
        5.0,
    )


def test_soc_is_coulomb_counting_from_the_stated_start(each):
    soc = soc_labels(each, "cccv_bare")
    rows = each.query(
        "SELECT DISTINCT method, reference_capacity_ah, initial_soc FROM label_soc"
        " WHERE session_id = %s",
        [each.sessions["cccv_bare"]],
    )
    assert rows == [("coulomb_counting", 5.0, 0.5)]
    assert len(soc) == len(CCCV) and soc[0] == 0.5
    # the net charge the counters saw, over the nominal 5 Ah: equal up to the difference of
    # the trapezoid and the cycler's own sum (a few half-intervals at each step change)
    first = CCCV[0]["charging_capacity_ah"] - CCCV[0]["discharging_capacity_ah"]
    expected = [
        0.5 + (r["charging_capacity_ah"] - r["discharging_capacity_ah"] - first) / 5.0 for r in CCCV
    ]
    assert max(abs(a - b) for a, b in zip(soc, expected, strict=True)) < 0.005


# ------------------------------------------------------------------------ versions, reruns


def test_rerun_with_the_same_version_updates_in_place(each):
    before = each.query("SELECT label_soc_id, soc FROM label_soc ORDER BY label_soc_id")
    counts = [each.query(f"SELECT count(*) FROM {t}")[0][0] for t in QUERIES]
    results = derive.run(each.url, [each.sessions["cccv"]], initial_soc=0.5)
    # unchanged samples: nothing rewritten, nothing added...
    assert (results[0].cycles, results[0].features, results[0].soc_labels) == (0, 0, 0)
    assert results[0].soh_labels == 0
    assert [each.query(f"SELECT count(*) FROM {t}")[0][0] for t in QUERIES] == counts
    after = each.query("SELECT label_soc_id, soc FROM label_soc ORDER BY label_soc_id")
    assert after == before  # ...the same ids and values
    # a changed setting under the same version updates the rows in place, ids kept
    results = derive.run(each.url, [each.sessions["cccv"]], what=["soc"], initial_soc=0.6)
    assert results[0].soc_labels == len(CCCV)
    changed = each.query("SELECT label_soc_id, soc FROM label_soc ORDER BY label_soc_id")
    assert [i for i, _ in changed] == [i for i, _ in before]
    assert sum(a != b for (_, a), (_, b) in zip(changed, before, strict=True)) == len(CCCV)
    derive.run(each.url, [each.sessions["cccv"]], what=["soc"], initial_soc=0.5)


def test_another_version_lives_beside_the_first(each):
    sid = each.sessions["backwards"]
    derive.run(
        each.url,
        [sid],
        feature_version="fx-other",
        label_version="lbl-other",
        what=["features", "soc"],
        reference_capacity_ah=3,  # ints work as floats on every engine
        initial_soc=1,
    )
    versions = each.query(
        "SELECT feature_version, discharge_capacity_ah FROM cycle_feature WHERE session_id = %s"
        " ORDER BY feature_version",
        [sid],
    )
    assert [v for v, _ in versions] == ["derive-1", "fx-other"]
    assert versions[0][1] == pytest.approx(versions[1][1])
    # 3 A against 3 Ah from full: 600 s take 1/6
    assert soc_labels(each, "backwards", "lbl-other") == pytest.approx(
        [1.0, 5 / 6, 4 / 6, 4 / 6, 0.5], abs=1e-6
    )
    assert soc_labels(each, "backwards") == pytest.approx([0.5, 0.4, 0.3, 0.3, 0.2], abs=1e-6)
    stored = each.query(
        "SELECT DISTINCT label_version, reference_capacity_ah, initial_soc FROM label_soc"
        " WHERE session_id = %s ORDER BY label_version",
        [sid],
    )
    assert stored == [("derive-1", 5.0, 0.5), ("lbl-other", 3.0, 1.0)]


def raw_connection(target: Target):
    """The driver's own connection in its default mode: sqlite3's legacy transactions,
    psycopg without autocommit."""
    if target.kind == "sqlite":
        return sqlite3.connect(target.url[len("sqlite:///") :])
    import psycopg

    return psycopg.connect(target.url, prepare_threshold=None)


def test_run_takes_a_connection_and_commits_only_its_own_transaction(each):
    sid = each.sessions["constant_current"]
    versions = "SELECT feature_version FROM cycle_feature WHERE session_id = %s ORDER BY 1"
    raw = raw_connection(each)
    try:  # not in a transaction: derive commits each session itself
        assert derive.run(raw, [sid], what="features", feature_version="api-1")[0].features == 1
    finally:
        raw.close()
    assert ("api-1",) in each.query(versions, [sid])
    raw = raw_connection(each)
    try:  # inside the caller's transaction: a savepoint, and the caller's rollback undoes it
        raw.execute("SELECT 1").fetchall()
        if each.kind == "sqlite":
            raw.execute("BEGIN")
        derive.run(raw, [sid], what=["features"], feature_version="api-2")
        raw.rollback()
    finally:
        raw.close()
    assert ("api-2",) not in each.query(versions, [sid])


# ---------------------------------------------------------------------------- bad input


def test_a_refused_session_leaves_the_database_as_it_was(each):
    counts = [each.query(f"SELECT count(*) FROM {t}")[0][0] for t in QUERIES]
    sid = each.sessions["cccv"]
    with pytest.raises(derive.DeriveError, match=rf"session {sid}: SOC labels: .*reference"):
        # a reference capacity of 0.1 Ah pushes coulomb counting far past 1.25
        derive.run(
            each.url,
            [sid],
            feature_version="fx-refused",
            label_version="lbl-refused",
            reference_capacity_ah=0.1,
        )
    assert [each.query(f"SELECT count(*) FROM {t}")[0][0] for t in QUERIES] == counts


def test_cli(targets, capsys):
    target = targets["sqlite"]
    sid = target.sessions["constant_current"]
    code = derive_main(
        [
            "--db",
            target.url,
            "--session",
            str(sid),
            "--what",
            "cycles,features",
            "--feature-version",
            "cli-1",
        ]
    )
    assert code == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert f"session {sid}: 0 cycles, 1 cycle features (cli-1)" in err
    assert derive_main(["--db", target.url, "--session", "999"]) == 1
    assert "session 999: no such test_session" in capsys.readouterr().err
    assert derive_main(["--db", target.url, "--what", "cycles,bogus"]) == 2
    assert "unknown derivation bogus" in capsys.readouterr().err
    assert derive_main(["--db", "mysql://x"]) == 2
    assert "unsupported database URL" in capsys.readouterr().err
    assert (
        derive_main(
            [
                "--db",
                target.url,
                "--session",
                str(sid),
                "--what",
                "soh",
                "--soh-reference-cycles",
                "3",
            ]
        )
        == 1
    )
    assert "0 full cycles" in capsys.readouterr().err
