"""A property-based fuzzer (hypothesis) over mutations of the real schema.yaml, bounded in time.

Each example mutates the real file, either as data (a value replaced by a hostile one, a key
deleted or renamed, an entry duplicated) or as text (a line dropped, doubled or cut, a byte
inserted), and runs `sql` on it. Whatever the mutation, the command must either refuse it with
located, printable problems and leave the output tree exactly as it was (exit 1), or accept it
with DDL that loads into SQLite (every accepted example) and PostgreSQL (a sample of them). It
must never raise, exit 4 or print a traceback.

Bounds: FUZZ_EXAMPLES examples (default 60) and FUZZ_SECONDS seconds (default 75), whichever
ends first; set them higher for a longer hunt. At least FUZZ_MIN_EXAMPLES (default 10, at most
FUZZ_EXAMPLES) must have run when the time is up: a fuzzer that ran nothing fails.
With CI=true the examples are derandomized (the
same sequence every run, so CI is reproducible); elsewhere, or with FUZZ_RANDOM=1, every run
explores new mutations.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from generator.cli import main

# slow: a fuzzer with a time budget
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_TEXT = (ROOT / "schema.yaml").read_text(encoding="utf-8")
SCHEMA_DATA = yaml.safe_load(SCHEMA_TEXT)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
SECONDS = float(os.environ.get("FUZZ_SECONDS", "75"))
DERANDOMIZE = os.environ.get("CI") == "true" and os.environ.get("FUZZ_RANDOM") != "1"
MIN_EXAMPLES = min(EXAMPLES, int(os.environ.get("FUZZ_MIN_EXAMPLES", "10")))
PG_SAMPLE = 6  # accepted examples also loaded into PostgreSQL

HOSTILE_VALUES = [
    "",
    " ",
    "x\n    injected INTEGER,\n-- ",
    "'); DROP TABLE battery_cell; --",
    '"; DROP TABLE x; --',
    "a\x0bb",
    "$fn$ BEGIN END $fn$",
    "*/ /*",
    "order",
    "xmin",
    "rowid",
    "select",
    "Upper",
    "a" * 64,
    "a" * 300,
    "\u202eevil",
    "line\u2028break",
    "2024-01-01",
    "2024-01-01T00:00:00Z",
    "now",
    "{}",
    "[1, 2",
    "1 day",
    "0 days",
    "voltage_volt",
    "session_id",
    "pack_id",
    "count(*)",
    "avg(voltage_volt); DROP TABLE x",
    "(SELECT 1)",
    "pg_sleep(1) IS NULL",
    "battery_cell.cell_id > 0",
    "1 = 1",
    "NULL",
    0,
    -1,
    1,
    2**31,
    2**63 - 1,
    -(2**63),
    0.5,
    -1e300,
    3.5e38,
    True,
    False,
    None,
    [],
    ["session_id"],
    ["session_id", "session_id"],
    ["nope"],
    {},
    {"min": 1},
    {"table": "battery_pack", "on_delete": "cascade", "why": "x"},
    {"type": "integer", "description": "x"},
]


def paths(data, prefix=()):
    """Every path into the document, mappings and lists alike."""
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += paths(value, (*prefix, i))
    return out


ALL_PATHS = [p for p in paths(SCHEMA_DATA) if p]


def get(data, path):
    for part in path:
        data = data[part]
    return data


@st.composite
def data_mutation(draw) -> str:
    data = copy.deepcopy(SCHEMA_DATA)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(ALL_PATHS))
        try:
            parent = get(data, path[:-1])
            parent[path[-1]]  # noqa: B018 - the path may be gone after an earlier mutation
        except (KeyError, IndexError, TypeError):
            continue
        action = draw(st.sampled_from(["replace", "delete", "rename", "duplicate"]))
        key = path[-1]
        if action == "replace":
            parent[key] = copy.deepcopy(draw(st.sampled_from(HOSTILE_VALUES)))
        elif action == "delete":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            new = draw(st.sampled_from([v for v in HOSTILE_VALUES if isinstance(v, str)]))
            parent[new] = parent.pop(key)
        elif action == "duplicate" and isinstance(parent, dict):
            parent[f"{key}_2" if isinstance(key, str) else key] = copy.deepcopy(parent[key])
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@st.composite
def text_mutation(draw) -> bytes:
    lines = SCHEMA_TEXT.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "double", "cut", "insert", "indent", "swap"]))
        if action == "drop":
            del lines[i]
        elif action == "double":
            lines.insert(i, lines[i])
        elif action == "cut":
            lines[i] = lines[i][: draw(st.integers(0, max(len(lines[i]) - 1, 0)))] + "\n"
        elif action == "insert":
            at = draw(st.integers(0, len(lines[i])))
            piece = draw(
                st.sampled_from(
                    [
                        "&a ",
                        "*a",
                        "!!python/name:os.system ",
                        "{",
                        "[",
                        "'",
                        '"',
                        "\x00",
                        "\t",
                        ": ",
                        "- ",
                        "#",
                        "\\",
                        "<<: ",
                        "\u00e9",
                        "\x1b",
                    ]
                )
            )
            lines[i] = lines[i][:at] + piece + lines[i][at:]
        elif action == "indent":
            lines[i] = "  " + lines[i]
        else:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        if not lines:
            break
    return "".join(lines).encode("utf-8")


mutations = st.one_of(data_mutation().map(lambda t: t.encode("utf-8")), text_mutation())


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


class Budget:
    def __init__(self):
        self.started = time.monotonic()
        self.accepted: list[str] = []
        self.refused = 0
        self.runs = 0

    def over(self) -> bool:
        return time.monotonic() - self.started > SECONDS


@pytest.fixture(scope="module")
def budget():
    return Budget()


def run_one(content: bytes, budget: Budget, capsys) -> None:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        root = Path(folder)
        shutil.copytree(ROOT / "sql", root / "sql")
        schema = root / "schema.yaml"
        schema.write_bytes(content)
        before = snapshot(root / "sql")
        code = main(["sql", str(schema), "--out", str(root), "-q"])
        err = capsys.readouterr().err
        budget.runs += 1
        assert code in (0, 1), f"exit {code}:\n{err}"
        assert "Traceback" not in err and "internal error" not in err, err
        if code == 1:
            budget.refused += 1
            lines = err.splitlines()
            assert lines[-1].endswith("nothing was written."), err
            for line in lines[:-1]:
                assert re.match(rf"^{re.escape(str(schema))}:\d+:\d+: \S.*: \S", line), line
                assert line.isprintable(), repr(line)
            assert snapshot(root / "sql") == before, "a refused schema changed the outputs"
            return
        ddl = (root / "sql/sqlite/schema.sql").read_text(encoding="utf-8")
        connection = sqlite3.connect(":memory:")
        try:
            connection.executescript(ddl)
        finally:
            connection.close()
        if len(budget.accepted) < PG_SAMPLE:
            budget.accepted.append((root / "sql/postgres/schema.sql").read_text(encoding="utf-8"))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=DERANDOMIZE,
    print_blob=True,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(content=mutations)
def fuzz_mutations(content, budget, capsys):
    if budget.over():
        return  # the time budget is spent: the remaining examples pass without running
    run_one(content, budget, capsys)


def test_fuzz_mutations_of_the_real_schema(budget, capsys):
    fuzz_mutations(budget=budget, capsys=capsys)
    assert budget.runs >= MIN_EXAMPLES, (
        f"the fuzzer ran {budget.runs} examples in its {SECONDS:.0f} s, fewer than "
        f"{MIN_EXAMPLES} (FUZZ_MIN_EXAMPLES); on a slow machine raise FUZZ_SECONDS"
    )


def test_fuzz_accepted_sample_loads_in_postgres(budget, pg_engines):
    """The accepted examples the fuzzer met (plus the real schema) load into PostgreSQL."""
    sample = budget.accepted or [(ROOT / "sql/postgres/schema.sql").read_text(encoding="utf-8")]
    engine = pg_engines[-1]
    for ddl in sample:
        with engine.fresh_database("fuzz") as db, db.connect() as connection:
            connection.execute(ddl)
    print(f"fuzz: {budget.runs} runs, {budget.refused} refused, {len(budget.accepted)} sampled")
