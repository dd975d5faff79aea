"""Golden files: the four targets rendered from a small schema with one of every feature.

Refresh after an intended change with
`UPDATE_GOLDEN=1 .venv/bin/pytest tests/generator/test_golden.py` and review the diff like code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import harness
from generator import load_schema
from generator.targets import TARGETS

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
GOLDEN = HERE / "golden" / "mini"
MINI = ROOT / "tests" / "fixtures" / "mini.yaml"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def mini():
    return load_schema(MINI)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_golden_output(mini, target):
    text = TARGETS[target].render(mini)
    golden = GOLDEN / f"{target}.sql"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"missing golden file {golden}; run with UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8"), (
        f"{target} output changed; review and refresh with UPDATE_GOLDEN=1"
    )


# Renders every output group of a schema in a fresh interpreter and prints one SHA-256 per
# output path. Rendering twice in one process cannot catch iteration in hash order (sets,
# dicts built from sets): the string hash seed is fixed per process.
_DIGESTS = """
import hashlib, json, sys
from generator import load_schema
from generator.cli import render_groups
from generator.write import normalise
outputs = render_groups(load_schema(sys.argv[1]), sys.argv[2].split(","))
print(json.dumps({p: hashlib.sha256(normalise(c)).hexdigest() for p, c in outputs.items()}))
"""
HASH_SEEDS = ("0", "1", "4242")


def digests(schema: Path, groups: list[str], seeds: tuple[str, ...]) -> dict[str, dict]:
    """{seed: {path: sha256}}; the interpreters run side by side."""
    procs = {
        seed: subprocess.Popen(
            [sys.executable, "-c", _DIGESTS, str(schema), ",".join(groups)],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in seeds
    }
    runs = {}
    for seed, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        runs[seed] = json.loads(out)
    return runs


def _groups() -> list[str]:
    if shutil.which("dot") is None:  # Graphviz draws the diagrams
        if harness.engines_required():
            pytest.fail("Graphviz `dot` is missing; run `bash scripts/setup-test-env.sh`")
        return ["sql", "docs"]
    return ["sql", "diagrams", "docs"]


@pytest.mark.slow  # a run per hash seed
@pytest.mark.parametrize(
    "schema",
    [MINI, ROOT / "schema.yaml"],
    ids=["mini", "schema.yaml"],
)
def test_every_output_is_the_same_under_every_hash_seed(schema):
    groups = _groups()
    runs = digests(schema, groups, HASH_SEEDS)
    first = runs[HASH_SEEDS[0]]
    assert any(path.startswith("sql/") for path in first)
    for seed, run in runs.items():
        differing = sorted(p for p in first.keys() | run.keys() if first.get(p) != run.get(p))
        assert not differing, f"PYTHONHASHSEED={seed} changes {differing}"


def test_liam_one_to_one_gets_unique_constraint_and_misleading_unique_becomes_index(mini):
    text = TARGETS["liam"].render(mini)
    # passport's key is its FK: truly one-to-one, so Liam must see a UNIQUE constraint.
    assert "CONSTRAINT uq_fk_passport_device_id UNIQUE (device_id)" in text
    # reading's composite unique includes the one-to-many FK column: an index for Liam...
    assert "CREATE UNIQUE INDEX uq_reading_device_taken ON reading" in text
    assert "CONSTRAINT uq_reading_device_taken" not in text
    # ...but a real constraint in the PostgreSQL DDL.
    assert "CONSTRAINT uq_reading_device_taken UNIQUE" in TARGETS["postgres"].render(mini)


def test_timescaledb_keys_include_the_time_column(mini):
    text = TARGETS["timescaledb"].render(mini)
    assert "CONSTRAINT pk_reading PRIMARY KEY (device_id, seq, taken_at)" in text
    # the reference into the hypertable is enforced by triggers over the full key
    assert (
        "CREATE CONSTRAINT TRIGGER fk_note_reading AFTER INSERT OR UPDATE OF "
        "device_id, seq, taken_at ON note" in text
    )
    assert (
        "DELETE FROM note c WHERE c.device_id = OLD.device_id AND c.seq = OLD.seq "
        "AND c.taken_at = OLD.taken_at;" in text
    )
    assert "CONSTRAINT fk_note_reading FOREIGN KEY" not in text
    assert "by_range('taken_at', INTERVAL '1 day')" in text


def test_real_bounds_compare_in_single_precision(mini):
    # 5.05 is not exact in float4: PostgreSQL must compare against a REAL, or a value typed
    # exactly at the boundary would be rejected there and accepted by SQLite.
    assert "voltage_volt <= CAST(5.05 AS REAL)" in TARGETS["postgres"].render(mini)
    assert "level <= 1)" in TARGETS["postgres"].render(mini)


def test_liam_pads_blocks_to_parser_chunks():
    from generator.targets.liam import CHUNK_LINES, LiamTarget

    target = LiamTarget()
    blocks = ["a\n" * 300, "b\n" * 300, "c\n" * 10]
    text = target.pad_to_chunks(
        "\n".join(b.rstrip("\n") for b in blocks)
        .replace("a\nb", "a\n\nb")
        .replace("b\nc", "b\n\nc")
    )
    lines = text.split("\n")
    # the second block would straddle line 500, so it starts exactly at the next chunk
    assert lines.index("b") == CHUNK_LINES
    assert lines[299] == "a"
