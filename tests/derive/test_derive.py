"""The derivations (derive/) on real engines: the same BDF CSV files loaded with the loader into
SQLite, PostgreSQL 15 and 18 and TimescaleDB, derived with the same SQL, and compared: cycles,
cycle features and labels must agree across engines within float4 rounding (PostgreSQL stores
`real` in 4 bytes, SQLite in 8): |a - b| <= 1e-6 + 1e-5 |b|. Hand-checkable sessions pin the
definitions (docs/deriving.md): a constant-current cycle holds I*t, time stepping backwards
adds nothing, a cycle without the cycler's counters is integrated, CV time from the cycler's
step labels or from the current taper at the top voltage, SOH against the first full cycles,
versions side by side, SOC labels anchored at full charges (sessions that start half charged,
start full, never reach full; checked against the definitions recomputed with numpy and the
simulated cell's own SOC), and a refused derivation that leaves the rest derived."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np
import pytest

import derive
import harness
from derive.cli import main as derive_main
from ingest.db import connect
from tests.derive.sessions import (
    CCCV,
    CELLS,
    QUERIES,
    anchored_soc,
    close,
    cv_time,
    load_sessions,
    paired_ce,
    time_weighted_mean,
)
from tests.support.dbkit import ddl_text, load_pg_ddl, sqlite_db

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
    results: dict[int, derive.SessionResult]  # of the run with the defaults

    def query(self, sql: str, params=()) -> list[tuple]:
        db = connect(self.url)
        try:
            return db.query(sql, params)
        finally:
            db.close()


@pytest.fixture(scope="module")
def targets(request, tmp_path_factory):
    """Every engine loaded with the same files and derived with the defaults (SOC anchored at
    full charges, label derive-2), the SOC labels also counted from an initial SOC 0.5 (label
    from-start), the cccv session's SOH also against its first two full cycles (soh-k2)."""
    import contextlib

    found = {}
    with contextlib.ExitStack() as stack:
        for name in ENGINES:
            tmp = tmp_path_factory.mktemp(f"derive-{name}")
            if name == "sqlite":
                path = tmp / "battery.sqlite"
                sqlite_db(path)
                url, kind, engine_name = f"sqlite:///{path}", "sqlite", "sqlite"
            else:
                engine = request.getfixturevalue(name)
                ddl = "timescaledb" if name == "timescale" else "postgres"
                database = stack.enter_context(engine.fresh_database("derive"))
                with database.connect() as raw:
                    load_pg_ddl(raw, ddl_text(ddl))
                url, kind, engine_name = database.conninfo(), "postgres", engine.name
            ids = load_sessions(url, tmp)
            results = {r.session_id: r for r in derive.run(url)}
            derive.run(url, what=["soc"], initial_soc=0.5, label_version="from-start")
            derive.run(
                url, [ids["cccv"]], what=["soh"], label_version="soh-k2", soh_reference_cycles=2
            )
            found[engine_name] = Target(engine_name, url, kind, ids, results)
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


def feature(target: Target, session: str, cycle: int = 0, version: str = "derive-2") -> dict:
    columns = derive.sql.FEATURE_COLUMNS
    row = target.query(
        f"SELECT {', '.join(columns)} FROM cycle_feature WHERE session_id = %s"
        " AND cycle_index = %s AND feature_version = %s",
        [target.sessions[session], cycle, version],
    )[0]
    return dict(zip(columns, row, strict=True))


def soc_labels(target: Target, session: str, version: str = "from-start") -> list[float]:
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
        # without labels the voltage band (2 mV below the top) where the current has left the
        # CC level finds the same phase, to one interval (the first CV sample may still be
        # within 0.5 % of the CC current); no CC interval that ends within the band counts
        bare = feature(each, "cccv_bare", cycle)
        assert -10.0 <= bare["cv_time_second"] - f["cv_time_second"] <= 0.0
        # without counters, the trapezoid agrees with them to a few half-intervals of current
        assert bare["charge_capacity_ah"] == pytest.approx(f["charge_capacity_ah"], abs=0.01)
        assert bare["discharge_energy_wh"] == pytest.approx(f["discharge_energy_wh"], abs=0.05)
        if cycle:  # each discharge over the previous cycle's charge (CCCV discharges first)
            before = counter_delta(cycle - 1, "charging_capacity_ah")
            assert f["coulombic_efficiency"] == pytest.approx(
                counter_delta(cycle, "discharging_capacity_ah") / before, rel=1e-6
            )
            assert 0.95 < f["coulombic_efficiency"] < 1.0
            assert 0.8 < f["energy_efficiency"] < 1.0
    # cycle 0 starts with a discharge from half charge: no charge before it, no efficiency
    assert feature(each, "cccv", 0)["coulombic_efficiency"] is None
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
        " WHERE session_id = %s AND label_version = 'derive-2' ORDER BY cycle_index",
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
        " WHERE session_id = %s AND label_version = 'from-start'",
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
    results = derive.run(each.url, [each.sessions["cccv"]])
    # unchanged samples: nothing rewritten, nothing added...
    assert (results[0].cycles, results[0].features, results[0].soc_labels) == (0, 0, 0)
    assert results[0].soh_labels == 0
    assert [each.query(f"SELECT count(*) FROM {t}")[0][0] for t in QUERIES] == counts
    after = each.query("SELECT label_soc_id, soc FROM label_soc ORDER BY label_soc_id")
    assert after == before  # ...the same ids and values
    # a changed setting under the same version updates the rows in place, ids kept
    again = {"what": ["soc"], "label_version": "from-start"}
    results = derive.run(each.url, [each.sessions["cccv"]], initial_soc=0.6, **again)
    assert results[0].soc_labels == len(CCCV)
    changed = each.query("SELECT label_soc_id, soc FROM label_soc ORDER BY label_soc_id")
    assert [i for i, _ in changed] == [i for i, _ in before]
    assert sum(a != b for (_, a), (_, b) in zip(changed, before, strict=True)) == len(CCCV)
    derive.run(each.url, [each.sessions["cccv"]], initial_soc=0.5, **again)


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
    assert [v for v, _ in versions] == ["derive-2", "fx-other"]
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
    # the session never charges: no anchor, no derive-2 labels
    assert stored == [("from-start", 5.0, 0.5), ("lbl-other", 3.0, 1.0)]


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


def test_a_refused_derivation_leaves_its_rows_and_the_others_go_on(each):
    counts = {t: each.query(f"SELECT count(*) FROM {t}")[0][0] for t in QUERIES}
    sid = each.sessions["cccv"]
    # a reference capacity of 0.1 Ah pushes coulomb counting far past 1.25
    settings = {
        "feature_version": "fx-refused",
        "label_version": "lbl-refused",
        "reference_capacity_ah": 0.1,
        "initial_soc": 0.5,
    }
    (result,) = derive.run(each.url, [sid], **settings)
    # both labels are refused (SOH against 0.1 Ah passes 3 too), each with its hint
    assert list(result.refused) == ["SOC labels", "SOH labels"] and not result.complete
    assert "the database refused it" in result.refused["SOC labels"]
    assert "reference capacity" in result.refused["SOC labels"]
    assert "SOH must be in (0, 3]" in result.refused["SOH labels"]
    assert result.features == 4  # the features were derived and kept
    after = {t: each.query(f"SELECT count(*) FROM {t}")[0][0] for t in QUERIES}
    assert after["label_soc"] == counts["label_soc"]  # no SOC label written
    assert after["cycle_feature"] == counts["cycle_feature"] + 4  # fx-refused kept
    with pytest.raises(derive.DeriveError, match=rf"session {sid}: SOC labels: .*reference"):
        derive.run(each.url, [sid], strict=True, **settings)


# -------------------------------------------------------------------- SOC anchored at full


def anchored(target: Target, session: str) -> tuple[list[float], list[float], list[float]]:
    rows = target.query(
        "SELECT soc, reference_capacity_ah, initial_soc FROM label_soc WHERE session_id = %s"
        " AND label_version = 'derive-2' AND method = 'coulomb_counting' ORDER BY record_index",
        [target.sessions[session]],
    )
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


@pytest.mark.parametrize("session", ["half_start", "full_start"])
def test_soc_is_anchored_at_full_charges_against_the_measured_capacity(each, session):
    cell = CELLS[session]
    soc, capacity, initial = anchored(each, session)
    truth = anchored_soc(cell, nominal=5.0, full=4.2, empty=3.0)
    assert len(soc) == len(truth) == len(cell.rows)
    # the definition, recomputed with numpy, to float4 rounding of the stored SOC
    assert np.allclose(soc, truth, rtol=1e-5, atol=2e-6)
    # an anchor is SOC 1; a full discharge from it ends at 0 (its own measured capacity)
    # (a cell that starts truly full reads a little above 1 before its first anchor: the CV
    # charge is cut at C/20, just short of the true full)
    assert max(soc) == pytest.approx(1.0, abs=5e-3)
    first = soc.index(1.0)  # the first anchor
    assert min(soc[first:]) == pytest.approx(0.0, abs=1e-5)
    assert min(soc) == pytest.approx(0.0, abs=2e-3)  # from a true full, counted backwards
    # against the SOC the simulated cell really had: off by the end of charge (C/20) and the
    # 50 mV that 5 A drop across the cell's 10 mOhm at the end of a discharge, no more
    assert np.abs(np.array(soc) - np.array(cell.true_soc)).max() < 0.05
    # the capacity is measured, not the nominal 5 Ah: the cell's own, faded
    assert all(4.0 < c < 4.8 for c in capacity) and set(initial) == {1.0}
    result = each.results[each.sessions[session]]
    assert result.complete and result.soc_basis == "full charge"
    assert result.soc_anchors == 3 and result.soc_measured >= 2


def test_a_session_that_starts_half_charged_is_counted_back_from_its_first_full_charge(each):
    soc, _, _ = anchored(each, "half_start")
    assert soc[0] == pytest.approx(0.5, abs=0.03)  # the old default counted from 0.0
    soc, _, _ = anchored(each, "full_start")
    assert soc[0] == pytest.approx(1.0, abs=0.01)


def test_a_session_that_never_reaches_full_gets_no_soc_labels_and_says_what_to_give(each):
    result = each.results[each.sessions["never_full"]]
    assert anchored(each, "never_full")[0] == []
    assert list(result.skipped) == ["SOC labels"] and not result.refused
    message = result.skipped["SOC labels"]
    assert "no full charge to anchor on" in message
    assert "--initial-soc" in message and "OCV table" in message
    assert result.cycles == 3 and result.features == 3  # the rest was derived


def test_refused_labels_keep_the_cycles_features_and_the_other_sessions(each):
    result = each.results[each.sessions["wrong_nominal"]]
    assert list(result.refused) == ["SOC labels"], result.refused
    assert "the database refused it" in result.refused["SOC labels"]
    assert anchored(each, "wrong_nominal")[0] == []
    assert result.cycles == 1 and result.features == 1
    assert feature(each, "wrong_nominal")["discharge_capacity_ah"] > 2
    # the session derived right after it is complete
    assert each.sessions["half_start"] == each.sessions["wrong_nominal"] + 1
    assert each.results[each.sessions["half_start"]].complete
    assert len(each.results) == len(each.sessions)


def test_temperature_comes_from_the_best_channel_present(each):
    half, full = (
        each.results[each.sessions["half_start"]],
        each.results[each.sessions["full_start"]],
    )
    assert half.temperature_channel == "surface_temperature_celsius"
    assert full.temperature_channel == "temperature_t1_celsius"  # the file has only T1
    assert each.results[each.sessions["never_full"]].temperature_channel is None
    for cycle in range(3):
        f = feature(each, "full_start", cycle)
        t1 = [
            r["temperature_t1_celsius"]
            for r in CELLS["full_start"].rows
            if r["cycle_count"] == cycle
        ]
        assert (f["temperature_min_celsius"], f["temperature_max_celsius"]) == pytest.approx(
            (min(t1), max(t1)), rel=1e-6
        )
        assert f["temperature_mean_celsius"] == pytest.approx(
            time_weighted_mean(CELLS["full_start"], cycle, "temperature_t1_celsius"), rel=1e-6
        )


@pytest.mark.parametrize("session", ["half_start", "full_start"])
def test_cv_time_from_the_taper_and_efficiency_paired_with_the_charge_before(each, session):
    cell = CELLS[session]
    efficiency = paired_ce(cell)
    for cycle in range(3):
        f = feature(each, session, cycle)
        assert f["cv_time_second"] == pytest.approx(cv_time(cell, cycle))
        # the simulator held CV for n samples: n - 1 intervals, give or take the first one
        held = 10.0 * (cell.cv_samples[cycle] - 1)
        assert held - 10.0 <= f["cv_time_second"] <= held
        if efficiency[cycle] is None:
            assert f["coulombic_efficiency"] is None
        else:
            assert f["coulombic_efficiency"] == pytest.approx(efficiency[cycle], rel=1e-5)
    if session == "full_start":  # discharges first: the first discharge has no charge before
        assert efficiency[0] is None
        assert all(0.99 < efficiency[c] <= 1.0 for c in (1, 2))


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
    assert f"session {sid}: 0 cycles, 1 cycle features (cli-1, temperature none)" in err
    assert derive_main(["--db", target.url, "--session", "999"]) == 1
    assert "session 999: refused: no such test_session" in capsys.readouterr().err
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
    # with the defaults: every session derived and reported on its own line; the one whose
    # labels are refused gives 1, one that only lacks an anchor 3
    assert derive_main(["--db", target.url]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == len(target.sessions) + 1
    wrong, never = target.sessions["wrong_nominal"], target.sessions["never_full"]
    assert any(
        line.startswith(f"session {wrong}: ") and "SOC labels refused" in line for line in lines
    )
    assert any("anchored at 3 full charges" in line for line in lines)
    assert "sessions derived completely" in lines[-1] and f"refused in session {wrong}" in lines[-1]
    assert derive_main(["--db", target.url, "--session", str(never)]) == 3
    err = capsys.readouterr().err
    assert "SOC labels skipped: no full charge to anchor on" in err and "--initial-soc" in err


def _postgres_reads(targets):
    """Each PostgreSQL target with an autocommit connection to it (psycopg's and derive's
    wrapper), its CC-CV session and the temperature channel derive reads; closed after."""
    import psycopg

    from connection.dbapi import DbapiConnection

    for target in targets.values():
        if target.kind != "postgres":
            continue
        raw = psycopg.connect(target.url, autocommit=True)
        try:
            session, channel = target.sessions["cccv"], derive.sql.TEMPERATURE_CHANNELS[0]
            yield target, raw, DbapiConnection(raw), session, channel
        finally:
            raw.close()


def test_postgres_reads_the_samples_in_chunks_alike(targets, monkeypatch):
    """The numpy path's read on PostgreSQL (one binary COPY of arrays per million record
    indexes) gives the same matrix a few record indexes at a time; PGlite is not read so."""
    from connection.postgres import is_pglite
    from derive import sqlite_features

    for _target, raw, conn, session, channel in _postgres_reads(targets):
        whole = sqlite_features.read(conn, session, channel)
        monkeypatch.setattr(sqlite_features, "_COPY_CHUNK", 7)
        pieces = sqlite_features.read(conn, session, channel)
        monkeypatch.undo()
        if is_pglite(raw):
            assert whole is None and pieces is None, "PGlite: the SQL texts, not COPY"
            continue
        assert whole is not None and len(whole) > 7 * 3
        assert np.array_equal(whole, pieces, equal_nan=True)


def test_postgres_reads_the_samples_over_two_connections_alike(targets, monkeypatch):
    """The read split over a second connection (chunks alternating, side by side), outside a
    transaction and inside derive's own (the second on its snapshot), gives the single read's
    matrix; inside the caller's transaction it stays on the caller's connection."""
    from connection.dbapi import DbapiConnection
    from connection.postgres import is_pglite
    from derive import sqlite_features

    for target, raw, conn, session, channel in _postgres_reads(targets):
        if is_pglite(raw):
            continue
        whole = sqlite_features.read(conn, session, channel)
        monkeypatch.setattr(sqlite_features, "_SPLIT_MIN", 1)
        halves = sqlite_features.read(conn, session, channel)
        with conn.transaction():
            snapshot = sqlite_features.read(conn, session, channel)
        raw.execute("BEGIN")
        callers = sqlite_features.read(DbapiConnection(raw), session, channel)
        raw.execute("ROLLBACK")
        monkeypatch.setattr(sqlite_features, "_COPY_CHUNK", 7)
        pieces = sqlite_features.read(conn, session, channel)
        with conn.transaction():
            second = sqlite_features._second(raw)
            assert second is not None, f"{target.name}: no second connection"
            second.close()
        monkeypatch.undo()
        assert whole is not None and len(whole) > 7 * 3
        for got in (halves, pieces, snapshot, callers):
            assert np.array_equal(whole, got, equal_nan=True)
