"""Constraint parity: one table-driven corpus of rows, tried on SQLite, PostgreSQL 15 and 18
and TimescaleDB; every engine must accept or reject each row alike, as the model says.

The corpus is derived from the model (every range boundary and just past it, every enum value
and one outside value, NULL in every NOT NULL column, a dangling value for every foreign key,
the ON DELETE behaviour of every foreign key) plus hand-written rows for the named CHECKs,
unique keys and same-session rules. Each row runs in a savepoint that is rolled back.
"""

from __future__ import annotations

import contextlib

import pytest

from tests.engines.parity import ACCEPTED, CASES, REJECTED, SCHEMA, Case
from tests.support.dbkit import Conn, Rejected, pg_conn, sqlite_conn
from tests.support.seed import BASE_ROWS, load_seed


def run_case(conn: Conn, case: Case) -> tuple[str, str]:
    with conn.attempt():
        try:
            if case.delete:
                table, key, fk = case.delete
                where = " AND ".join(f"{c} = %s" for c in key)
                conn.execute(f"DELETE FROM {table} WHERE {where}", tuple(key.values()))
                # a cascade must really have removed the children of this key
                child_where = " AND ".join(f"{c} = %s" for c in fk.columns)
                left = conn.query(
                    f"SELECT count(*) FROM {fk.table} WHERE {child_where}",
                    tuple(key[r] for r in fk.ref_columns),
                )[0][0]
                if left:
                    return ACCEPTED, f"deleted, but {left} row(s) of {fk.table} remain"
            else:
                row = {**BASE_ROWS[case.table], **case.changes}
                conn.insert(case.table, row)
        except Rejected as exc:
            return REJECTED, exc.detail
    return ACCEPTED, ""


ENGINE_FIXTURES = ("pg15", "pg18", "timescale")


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory):
    """Run the whole corpus on every engine once; tests below read the results."""
    results: dict[str, dict[str, tuple[str, str]]] = {c.id: {} for c in CASES}
    with contextlib.ExitStack() as stack:
        conns = [stack.enter_context(sqlite_conn(tmp_path_factory.mktemp("parity")))]
        for fixture in ENGINE_FIXTURES:
            engine = request.getfixturevalue(fixture)
            target = "timescaledb" if fixture == "timescale" else "postgres"
            conns.append(stack.enter_context(pg_conn(engine, target, "parity")))
        for conn in conns:
            load_seed(conn)
            for case in CASES:
                results[case.id][conn.name] = run_case(conn, case)
    return results


def test_corpus_covers_every_constraint():
    ids = " ".join(c.id for c in CASES)
    for table in SCHEMA.tables:
        for fk in table.foreign_keys:
            assert f"{fk.name}:dangling" in ids
        for check in table.checks:
            if check.kind in ("range", "enum"):
                assert f"{table.name}.{check.column}:" in ids, check.name
    assert len(CASES) > 250


@pytest.mark.engines  # `outcomes` starts every engine
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_engines_agree(outcomes, case):
    results = outcomes[case.id]
    wrong = []
    for engine, (outcome, detail) in sorted(results.items()):
        expected, why = case.differs.get(engine, (case.expect, ""))
        if outcome != expected:
            wrong.append(f"{engine}: {outcome} (expected {expected}) {detail}".strip())
    summary = ", ".join(f"{e}={o}" for e, (o, _) in sorted(results.items()))
    assert not wrong, f"{case.id}: engines disagree or are wrong: {'; '.join(wrong)} [{summary}]"
