"""Step resistance, relaxation, mean voltages, reference cycles by C-rate, RUL/EOL and SOC by
OCV lookup (derive/steps.py, reference.py, life.py, ocv.py; issue 23 items 4-6) on every
engine: the same files loaded into SQLite, PostgreSQL, TimescaleDB and ClickHouse (chdb, in a
child process), derived with the defaults plus an EOL threshold of 0.9 (label eol90) and an
OCV table, and compared row by row within float4 rounding. The numbers are checked against
the equivalent-circuit cell that made the samples (tests/derive/sessions.py: ohmic R0 and an
RC element, the model's own voltages at the change and 1 s / 10 s after it, its rest
voltages and SOC) and against numpy recomputations (trapezoid means, EOL on a fade line)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

import derive
from derive.cli import main as derive_main
from derive.life import rul
from tests.derive.sessions import (
    ABS,
    CYCLER_IR_MEANS,
    REL,
    SLOW_TRUTH,
    STEP_QUERIES,
    STEP_R0,
    STEP_R1,
    STEP_ROWS,
    STEP_SHORT_REST_CYCLE,
    STEP_SLOW_CYCLE,
    STEP_TAU1,
    STEP_TRUTH,
    close,
    derive_step_sessions,
    load_step_sessions,
    step_ocv_table,
)
from tests.support.chkit import CREATE, chdb_or_skip
from tests.support.dbkit import ROOT, fresh_urls, row_engine_names, sqlite_db

pytestmark = pytest.mark.engines

ENGINES = row_engine_names()


CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r})
import derive
from ingest.db import connect
from tests.derive.sessions import (
    STEP_QUERIES, derive_step_sessions, load_step_sessions, step_ocv_table,
)
url = {url!r}
tmp = Path({tmp!r})
ids = load_step_sessions(url, tmp)
derive_step_sessions(url, ids, str(step_ocv_table(tmp / "ocv.csv")))
db = connect(url)
out = {{t: db.query(q) for t, q in STEP_QUERIES.items()}}
tables = "SELECT name FROM system.tables WHERE database = 'battery' AND name LIKE 'derive\\\\_%'"
left = [r[0] for r in db.query(tables)]
db.close()
print(json.dumps({{"rows": out, "ids": ids, "left": left}}, default=str))
"""


@pytest.fixture(scope="module")
def targets(request, tmp_path_factory):
    """name -> (rows of STEP_QUERIES, session ids, url) for every engine."""
    found = {}
    with contextlib.ExitStack() as stack:
        for name, url, tmp in fresh_urls(request, tmp_path_factory, stack, "steps", ENGINES):
            ids = load_step_sessions(url, tmp)
            derive_step_sessions(url, ids, str(step_ocv_table(tmp / "ocv.csv")))
            from ingest.db import connect

            db = connect(url)
            try:
                rows = {t: [list(r) for r in db.query(q)] for t, q in STEP_QUERIES.items()}
            finally:
                db.close()
            found[name] = (rows, ids, url)
        chdb_or_skip()
        tmp = tmp_path_factory.mktemp("steps-chdb")
        data = tmp / "chdb"
        data.mkdir()
        code = CREATE.format(
            root=str(ROOT), path=str(data), ddl=str(ROOT / "sql/clickhouse/schema.sql")
        )
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=300)
        child = CHILD.format(root=str(ROOT), url=f"chdb://{data}?database=battery", tmp=str(tmp))
        proc = subprocess.run(
            [sys.executable, "-c", child], capture_output=True, text=True, cwd=ROOT, timeout=600
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        ch = json.loads(proc.stdout.strip().splitlines()[-1])
        assert ch["left"] == [], "staging tables left behind on ClickHouse"
        found["clickhouse"] = (ch["rows"], ch["ids"], None)
        yield found


def _reasons(value) -> dict:
    """null_reasons as stored: JSON text, or a dict where the driver parses jsonb."""
    if value is None:
        return {}
    return value if isinstance(value, dict) else json.loads(value)


def _same(a, b) -> bool:
    if isinstance(a, dict) or isinstance(b, dict) or (isinstance(a, str) and a.startswith("{")):
        return _reasons(a) == _reasons(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, int | float) and isinstance(b, int | float):
        return close(a, b)
    return str(a) == str(b)


@pytest.mark.parametrize("table", list(STEP_QUERIES))
def test_every_engine_derives_the_same_step_rows(targets, table):
    reference = targets["sqlite"][0][table]
    assert reference, f"{table}: nothing derived"
    for name, (rows, _, _) in targets.items():
        got = rows[table]
        assert len(got) == len(reference), (
            f"{table}: {name} {len(got)} rows, sqlite {len(reference)}"
        )
        for mine, theirs in zip(got, reference, strict=True):
            assert all(_same(a, b) for a, b in zip(mine, theirs, strict=True)), (
                f"{table}: {name} {mine} != sqlite {theirs}"
            )
    # the comparison can fail: a perturbed value is seen
    floats = [x for r in reference for x in r if isinstance(x, float) and x]
    if floats:
        assert not _same(floats[0] * (1 + 10 * REL) + 10 * ABS, floats[0])
    assert not _same("aging", "reference")


def _features(targets, name: str, session: str) -> dict[int, dict]:
    rows, ids, _ = targets[name]
    columns = STEP_QUERIES["cycle_feature"].split("SELECT ")[1].split(" FROM")[0].split(", ")
    out = {}
    for r in rows["cycle_feature"]:
        row = dict(zip(columns, r, strict=True))
        if row["session_id"] == ids[session] and row["feature_version"] == "derive-2":
            out[row["cycle_index"]] = row
    return out


@pytest.fixture(params=[*ENGINES, "clickhouse"])
def each(request, targets):
    return request.param


def test_step_resistance_is_the_models(targets, each):
    """Per cycle, the medians of |dV/dI| at the first sample, 1 s and 10 s equal the medians
    of the model's own voltages at those times (float4 and 8-digit CSV rounding), and sit
    where the circuit puts them: R0 + R1 (1 - exp(-t / tau)) up to the OCV drift."""
    feats = _features(targets, each, "rc_steps")
    for cycle, row in feats.items():
        changes = [c for c in STEP_TRUTH["changes"] if c["cycle"] == cycle]
        assert row["step_resistance_count"] == len(changes)
        for column, key in (
            ("step_resistance_first_sample_ohm", "first"),
            ("step_resistance_1s_ohm", 1.0),
            ("step_resistance_10s_ohm", 10.0),
        ):
            oracle = np.median([abs(c[key] - c["v0"]) / c["di"] for c in changes])
            assert row[column] == pytest.approx(oracle, rel=2e-4), (cycle, column)
        assert row["step_resistance_first_sample_second"] == pytest.approx(0.1, rel=1e-6)
        for column, t in (
            ("step_resistance_first_sample_ohm", 0.1),
            ("step_resistance_1s_ohm", 1.0),
            ("step_resistance_10s_ohm", 10.0),
        ):
            circuit = STEP_R0 + STEP_R1 * (1 - np.exp(-t / STEP_TAU1))
            assert row[column] == pytest.approx(circuit, rel=0.03), (cycle, column)
        assert row["dc_internal_resistance_ohm"] == pytest.approx(row["step_resistance_10s_ohm"])
        assert row["dcir_method"] == "step_change"
        assert row["dcir_time_after_step_second"] == pytest.approx(10.0)
        assert row["dcir_step_count"] == len(changes)


def test_relaxation_and_mean_voltages_are_the_models(targets, each):
    feats = _features(targets, each, "rc_steps")
    t = np.array([r["test_time_second"] for r in STEP_ROWS])
    v = np.array([r["voltage_volt"] for r in STEP_ROWS])
    i = np.array([r["current_ampere"] for r in STEP_ROWS])
    c = np.array([r["cycle_count"] for r in STEP_ROWS])
    for rest in STEP_TRUTH["rests"]:
        row = feats[rest["cycle"]]
        p = f"rest_after_{rest['after']}_"
        assert row[p + "voltage_start_volt"] == pytest.approx(rest["start"], abs=1e-6)
        assert row[p + "voltage_t1_volt"] == pytest.approx(rest[10.0], abs=1e-6)
        assert row[p + "voltage_end_volt"] == pytest.approx(rest["end"], abs=1e-6)
        assert row[p + "duration_second"] == pytest.approx(rest["duration"], abs=1e-3)
        if rest[300.0] is None:
            assert row[p + "voltage_t2_volt"] is None
            reasons = _reasons(row["null_reasons"])
            assert reasons[p + "voltage_t2_volt"] == "rest shorter than 300 s"
        else:
            assert row[p + "voltage_t2_volt"] == pytest.approx(rest[300.0], abs=1e-6)
        assert row["relaxation_time_1_second"] == 10.0
        assert row["relaxation_time_2_second"] == 300.0
    assert feats[STEP_SHORT_REST_CYCLE]["rest_after_discharge_voltage_t2_volt"] is None
    # time-weighted means: numpy's trapezoid over the intervals inside each half
    for cycle, row in feats.items():
        for column, sign in (("charge_voltage_mean_volt", 1), ("discharge_voltage_mean_volt", -1)):
            both = (np.sign(i[1:]) == sign) & (np.sign(i[:-1]) == sign) & (c[1:] == cycle)
            both &= c[:-1] == cycle
            dt = np.diff(t)[both]
            mean = np.sum(dt * (v[1:][both] + v[:-1][both]) / 2) / np.sum(dt)
            assert row[column] == pytest.approx(mean, abs=1e-6), (cycle, column)


def test_a_slow_cycle_is_found_as_a_reference_cycle(targets, each):
    rows, ids, _ = targets[each]
    types = {r[1]: (r[2], r[3]) for r in rows["cycle"] if r[0] == ids["rc_steps"]}
    assert types[STEP_SLOW_CYCLE] == ("reference", "data_c_rate")
    # the others keep the type the protocol gives them, said to come from it
    assert all(types[k] == ("aging", "protocol") for k in types if k != STEP_SLOW_CYCLE), types


def test_a_cycle_type_from_the_protocol_says_so(targets, each):
    """The cycles derivation types each cycle from the session's protocol_type (cycle_aging:
    aging; rpt, hppc, ocv: reference) with cycle_type_source 'protocol'; a type found in the
    data ('data_c_rate') stays so when the cycles are derived again (the rerun of
    derive_step_sessions)."""
    rows, ids, _ = targets[each]
    by_session = {}
    for session, cycle, kind, source in rows["cycle"]:
        by_session.setdefault(session, {})[cycle] = (kind, source)
    assert set(by_session[ids["slow_ocv"]].values()) == {("reference", "protocol")}  # rpt
    assert set(by_session[ids["cccv"]].values()) == {("aging", "protocol")}  # cycle_aging
    assert by_session[ids["rc_steps"]][STEP_SLOW_CYCLE] == ("reference", "data_c_rate")


def test_bad_input_is_null_with_a_reason_never_zero(targets, each):
    """A cycle without step changes (constant current), without rests, a session without SOH
    labels: NULL with the reason, never 0."""
    feats = _features(targets, each, "constant_current")[0]
    reasons = _reasons(feats["null_reasons"])
    for column in (
        "step_resistance_first_sample_ohm",
        "step_resistance_10s_ohm",
        "rest_after_charge_voltage_start_volt",
        "discharge_voltage_mean_volt",
        "dc_internal_resistance_ohm",
    ):
        assert feats[column] is None, column
        assert reasons[column], column
    assert reasons["step_resistance_1s_ohm"] == "no step change of current above 0.5 A"
    assert (
        reasons["rest_after_charge_voltage_start_volt"] == "no rest after the charge in this cycle"
    )
    assert reasons["discharge_voltage_mean_volt"] == "the cycle does not discharge"
    # the cccv session is sampled every 10 s: no 1 s value, and the reason says why
    for row in _features(targets, each, "cccv").values():
        assert row["step_resistance_1s_ohm"] is None
        assert _reasons(row["null_reasons"])["step_resistance_1s_ohm"] == (
            "first sample after the change later than 1 s"
        )
        # its 20 mOhm, up to the OCV the rest voltage follows (cycle 0 starts half charged)
        assert row["step_resistance_first_sample_ohm"] == pytest.approx(0.02, rel=2e-2)


def test_the_cyclers_own_readings_are_its_resistance(targets, each):
    """cycler_ir (tests/derive/sessions.py): the loader keeps the cycler's readings
    (internal_resistance_ohm); their mean over each cycle's readings above 0 is
    cycler_resistance_ohm, and dc_internal_resistance_ohm takes it (method cycler, no time or
    step count) ahead of the step resistance; a cycle with only 0 or no reading falls back to
    the step resistance, its cycler value NULL with the reason."""
    feats = _features(targets, each, "cycler_ir")
    assert sorted(feats) == sorted(CYCLER_IR_MEANS) == [0, 1, 2, 3]
    for cycle, mean in CYCLER_IR_MEANS.items():
        row, reasons = feats[cycle], _reasons(feats[cycle]["null_reasons"])
        if mean is not None:
            assert row["cycler_resistance_ohm"] == pytest.approx(mean, rel=1e-6), cycle
            assert row["dc_internal_resistance_ohm"] == pytest.approx(mean, rel=1e-6), cycle
            assert row["dcir_method"] == "cycler", cycle
            assert row["dcir_time_after_step_second"] is None and row["dcir_step_count"] is None
            assert "cycler_resistance_ohm" not in reasons
        else:
            assert row["cycler_resistance_ohm"] is None, cycle
            assert row["dcir_method"] == "step_change", cycle
            assert row["dc_internal_resistance_ohm"] == pytest.approx(
                row["step_resistance_first_sample_ohm"]
            )
            assert reasons["cycler_resistance_ohm"] == (
                "the cycler wrote only 0 (no measurement) in this cycle"
                if cycle == 1
                else "no cycler resistance reading in this cycle"
            ), cycle
    # a session whose file has no such column: NULL, and no reason to count (nothing to read)
    for row in _features(targets, each, "cccv").values():
        assert row["cycler_resistance_ohm"] is None
        assert "cycler_resistance_ohm" not in _reasons(row["null_reasons"])


def test_a_stored_pulse_resistance_wins_over_the_cyclers(tmp_path):
    """The precedence of dc_internal_resistance_ohm (docs/features.md): a stored pulse value is
    kept when the steps are derived again; the cycler's reading comes before the step
    resistance; a hand-stored cycler value without readings is kept."""
    path = tmp_path / "p.sqlite"
    sqlite_db(path)
    url = f"sqlite:///{path}"
    ids = load_step_sessions(url, tmp_path, ["cycler_ir"])
    session = ids["cycler_ir"]
    derive.run(url, [session])
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE cycle_feature SET dc_internal_resistance_ohm = 0.05, dcir_method = 'pulse', "
        "dcir_time_after_step_second = 10 WHERE session_id = ? AND cycle_index = 0",
        [session],
    )
    conn.execute(
        "UPDATE cycle_feature SET dc_internal_resistance_ohm = 0.07, dcir_method = 'cycler' "
        "WHERE session_id = ? AND cycle_index = 3",
        [session],
    )
    conn.commit()
    derive.run(url, [session], what=["steps"])
    got = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT cycle_index, dc_internal_resistance_ohm, dcir_method, cycler_resistance_ohm "
            "FROM cycle_feature WHERE session_id = ?",
            [session],
        )
    }
    conn.close()
    assert got[0][:2] == (0.05, "pulse") and got[0][2] == pytest.approx(CYCLER_IR_MEANS[0])
    assert got[2][1] == "cycler" and got[2][0] == pytest.approx(CYCLER_IR_MEANS[2])
    assert got[1][1] == "step_change"
    assert got[3][:2] == (0.07, "cycler") and got[3][2] is None


def test_a_cycle_type_set_by_hand_is_kept_and_a_silent_protocol_gives_none(tmp_path):
    """A type set by hand (cycle_type_source 'manual') survives the cycles and steps
    derivations; a session whose protocol_type names no cycle type (drive_cycle) gets NULL type
    and NULL source, never a source without a type."""
    path = tmp_path / "t.sqlite"
    sqlite_db(path)
    url = f"sqlite:///{path}"
    ids = load_step_sessions(url, tmp_path, ["rc_steps", "cccv"])
    derive.run(url, [ids["rc_steps"], ids["cccv"]], what=["cycles"])
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE cycle SET cycle_type = 'other', cycle_type_source = 'manual' "
        "WHERE session_id = ? AND cycle_index = 0",
        [ids["rc_steps"]],
    )
    conn.execute(
        "UPDATE test_session SET protocol_type = 'drive_cycle' WHERE session_id = ?", [ids["cccv"]]
    )
    conn.execute("DELETE FROM cycle WHERE session_id = ?", [ids["cccv"]])
    conn.commit()
    derive.run(url, [ids["rc_steps"], ids["cccv"]], what=["cycles", "features", "steps"])
    got = dict(
        ((r[0], r[1]), r[2:])
        for r in conn.execute(
            "SELECT session_id, cycle_index, cycle_type, cycle_type_source FROM cycle"
        )
    )
    conn.close()
    assert got[(ids["rc_steps"], 0)] == ("other", "manual")
    assert got[(ids["rc_steps"], STEP_SLOW_CYCLE)] == ("reference", "data_c_rate")
    assert got[(ids["rc_steps"], 1)] == ("aging", "protocol")
    cccv = {k: v for k, v in got.items() if k[0] == ids["cccv"]}
    assert cccv and set(cccv.values()) == {(None, None)}


def test_the_report_counts_the_reasons(tmp_path, capsys):
    path = tmp_path / "b.sqlite"
    sqlite_db(path)
    url = f"sqlite:///{path}"
    ids = load_step_sessions(url, tmp_path)
    capsys.readouterr()
    # 3: its SOC labels are skipped (no full charge to anchor on); the rest is derived
    assert derive_main(["--db", url, "--session", str(ids["rc_steps"])]) == 3
    line = capsys.readouterr().err
    assert "1 reference cycles by C-rate" in line, line
    assert "rest shorter than 300 s (1)" in line, line
    assert "no SOH labels of version derive-2: no RUL/EOL (1)" in line, line
    (result,) = derive.run(url, [ids["constant_current"]])
    assert result.complete is False or result.null_reasons  # SOC skipped; reasons counted
    assert result.null_reasons["the cycle does not discharge"] == 6


def test_rul_and_eol_on_every_engine(targets, each):
    """cccv fades 2 % a cycle from 0.9: EOL at 0.9 is the first cycle below it; at the
    default 0.8 the cell is right-censored."""
    rows, ids, _ = targets[each]
    for version, threshold in (("derive-2", 0.8), ("eol90", 0.9)):
        labels = [r for r in rows["label_soh"] if r[0] == ids["cccv"] and r[2] == version]
        cycles = np.array([r[1] for r in labels])
        soh = np.array([r[3] for r in labels], dtype=float)
        below = cycles[soh < threshold]
        for _, cycle, _, _, thr, eol, remaining, censored in labels:
            assert thr == pytest.approx(threshold)
            if len(below):
                assert eol == below[0] and remaining == below[0] - cycle and not censored
            else:
                assert eol is None and remaining == cycles.max() - cycle and censored
        assert (len(below) > 0) == (version == "eol90")


def test_rul_on_a_fade_line():
    cycles = np.arange(0, 50)
    soh = 1.0 - 0.01 * cycles - 0.0005
    eol, remaining = rul(cycles, soh, 0.8)
    assert eol == int(np.argmax(soh < 0.8)) == 20
    assert list(remaining) == list(20 - cycles)
    eol, remaining = rul(cycles[:10], soh[:10], 0.8)
    assert eol is None and list(remaining) == list(9 - cycles[:10])


def test_ocv_labels_are_the_models_soc(targets, each):
    """At the end of each rest of 600 s or more, SOC from the supplied table equals the
    model's SOC (the RC voltage has decayed after 900 s; the 21-point table's linear
    interpolation is within 2e-4)."""
    rows, ids, _ = targets[each]
    labels = {r[1]: r for r in rows["label_soc"] if r[0] == ids["rc_steps"]}
    assert len(labels) == len(STEP_TRUTH["rest_soc"])
    for index, soc in STEP_TRUTH["rest_soc"]:
        assert labels[index][4] == pytest.approx(soc, abs=5e-4)
        assert labels[index][5].startswith("ocv.csv sha256:")


def test_ocv_table_from_a_slow_cycle(targets, each):
    """--ocv-from-cycle 0: the C/20 charge and discharge averaged give the OCV back (their
    overpotentials cancel); SOC at every rest of 600 s or more within 5e-3 of the model's."""
    rows, ids, _ = targets[each]
    labels = {r[1]: r for r in rows["label_soc"] if r[0] == ids["slow_ocv"]}
    assert len(labels) == len(SLOW_TRUTH["rest_soc"]) == 6
    for index, soc in SLOW_TRUTH["rest_soc"]:
        assert labels[index][3] == "ocv-data"
        assert labels[index][4] == pytest.approx(soc, abs=5e-3)
        assert labels[index][5].startswith("session cycle 0 (pseudo-OCV")


def test_a_bad_ocv_table_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "b.sqlite"
    sqlite_db(path)
    table = tmp_path / "ocv.csv"
    table.write_text("soc,voltage_volt\n0.0,3.0\n0.5,3.6\n1.0,3.5\n")
    assert derive_main(["--db", f"sqlite:///{path}", "--ocv-table", str(table)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{table}, line 4, column voltage_volt" in err[0], err
    table.write_text("soc,voltage_volt\n0.0,3.0\nhalf,3.6\n")
    assert derive_main(["--db", f"sqlite:///{path}", "--ocv-table", str(table)]) == 2
    err = capsys.readouterr().err
    assert "line 3, column soc: 'half' is not a number" in err, err


def test_the_sql_derivations_need_no_numpy(tmp_path):
    """Without numpy (the bare package on SQLite) derive still imports and runs; an OCV table
    asks for the extra in one line."""
    path = tmp_path / "b.sqlite"
    sqlite_db(path)
    code = f"""
import sys
sys.modules["numpy"] = None
sys.path.insert(0, {str(ROOT)!r})
from derive.cli import main
assert main(["--db", {str(path)!r}]) == 0
sys.exit(main(["--db", {str(path)!r}, "--ocv-table", "ocv.csv"]))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: --ocv-table: numpy is not installed: pip install 'liam-erd-schema[derive]'"
    )
