"""A deterministic, realistic cycler record, generated in bounded memory.

Four loose 21700 NMC cells (5 Ah, 2.5-4.2 V) are cycled in parallel, two sessions each, at
1 Hz: CC charge at 0.5 C to 4.2 V, CV at 4.2 V down to C/20, 10 min rest, CC discharge at 1 C to
2.5 V, 10 min rest. The cell model is an OCV curve, a series resistance and one RC element,
with capacity fade and resistance growth per cycle and a lumped thermal mass, plus sensor
noise. Values are quantised as a cycler records them: 0.1 mV, 0.1 mA, 0.01 degC, and times
to 1 ms with +-2 ms clock jitter (real files are not exactly 1 Hz).

The samples are written once to ``points.parquet`` (zstd) in a scratch directory, session after
session as a cycler export would be imported, and every engine reads them back in batches:
no step ever holds more than one batch of rows in Python objects.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

BATCH_ROWS = 50_000
SEED = 20261127

NOMINAL_CAPACITY_AH = 5.0
VOLTAGE_MIN_VOLT = 2.5
VOLTAGE_MAX_VOLT = 4.2
CHARGE_C_RATE = 0.5
DISCHARGE_C_RATE = 1.0
CV_CUTOFF_AMPERE = NOMINAL_CAPACITY_AH / 20
REST_SECONDS = 600
AMBIENT_CELSIUS = 25.0
CELLS = 4
SESSIONS_PER_CELL = 2
SESSION_GAP_SECONDS = 3600
START = datetime(2026, 1, 5, tzinfo=UTC)
START_US = int(START.timestamp()) * 1_000_000

# Steps of the protocol, numbered as a cycler program would number them.
STEP_CC_CHARGE, STEP_CV_CHARGE, STEP_REST_CHARGED, STEP_CC_DISCHARGE, STEP_REST_EMPTY = (
    1,
    2,
    3,
    4,
    5,
)

POINT_SCHEMA = pa.schema(
    [
        ("recorded_at", pa.timestamp("us", tz="UTC")),
        ("test_time_second", pa.float64()),
        ("session_id", pa.int32()),
        ("record_index", pa.int32()),
        ("cycle_count", pa.int32()),
        ("voltage_volt", pa.float32()),
        ("current_ampere", pa.float32()),
        ("surface_temperature_celsius", pa.float32()),
        ("step_id", pa.int16()),
    ]
)
POINT_COLUMNS = POINT_SCHEMA.names

LABEL_SCHEMA = pa.schema(
    [
        ("session_id", pa.int32()),
        ("record_index", pa.int32()),
        ("recorded_at", pa.timestamp("us", tz="UTC")),
        ("soc", pa.float32()),
    ]
)


@dataclass
class Session:
    session_id: int
    cell_id: int
    started_at_us: int
    samples: int


@dataclass
class Cycle:
    session_id: int
    cycle_index: int
    record_index_first: int
    record_index_last: int
    test_time_start_second: float
    test_time_end_second: float
    discharge_capacity_ah: float = 0.0
    complete: bool = False


@dataclass
class Manifest:
    """Everything but the samples and SOC labels: small, kept as JSON next to them."""

    n: int
    seed: int
    clock_jitter_ms: int = 2
    cells: list[dict] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    cycles: list[Cycle] = field(default_factory=list)
    soc_label_session: int = 1
    soc_initial: float = 0.0
    soc_labels: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        raw = json.loads(text)
        raw["sessions"] = [Session(**s) for s in raw["sessions"]]
        raw["cycles"] = [Cycle(**c) for c in raw["cycles"]]
        return cls(**raw)

    def soh_labels(self) -> list[tuple[int, int, float]]:
        """(session_id, cycle_index, soh): capacity-based, nominal reference, complete cycles."""
        return [
            (c.session_id, c.cycle_index, round(c.discharge_capacity_ah / NOMINAL_CAPACITY_AH, 5))
            for c in self.cycles
            if c.complete
        ]


def ocv(soc: float) -> float:
    """Open-circuit voltage of an NMC cell, monotone, 2.65 V empty to 4.2 V full."""
    s = min(max(soc, -0.02), 1.02)
    return 3.0 + 0.9 * s + 0.3 * s**6 - 0.35 * math.exp(-20.0 * s)


class CellState:
    """What a cell carries from one session to the next."""

    def __init__(self, rng: random.Random):
        self.soc = 0.05 + 0.02 * rng.random()
        self.v_rc = 0.0
        self.temperature = AMBIENT_CELSIUS
        self.cycles_done = 0

    @property
    def soh(self) -> float:
        return 1.0 - 0.0015 * self.cycles_done

    @property
    def r0(self) -> float:
        return 0.022 * (1.0 + 2.0 * (1.0 - self.soh))


def plan_sessions(n: int) -> list[Session]:
    """Split n samples over CELLS x SESSIONS_PER_CELL sessions; cells run in parallel."""
    count = CELLS * SESSIONS_PER_CELL
    sizes = [n // count + (1 if i < n % count else 0) for i in range(count)]
    sessions = []
    session_id = 1
    for cell in range(CELLS):
        t_us = START_US + cell * 137_000_000  # channels are started a little apart
        for k in range(SESSIONS_PER_CELL):
            size = sizes[cell * SESSIONS_PER_CELL + k]
            sessions.append(Session(session_id, cell + 1, t_us, size))
            t_us += (size + SESSION_GAP_SECONDS) * 1_000_000
            session_id += 1
    return sessions


def _session_samples(
    session: Session, cell: CellState, rng: random.Random, cycles: list[Cycle], jitter_ms: int
) -> Iterator[tuple]:
    """Yield the rows of one session; append its cycles (with capacities) to ``cycles``."""
    gauss = rng.gauss
    randint = rng.randint
    step = STEP_CC_CHARGE
    step_started = 0
    cycle_index = 0
    cycle = Cycle(session.session_id, 0, 0, 0, 0.0, 0.0)
    cycles.append(cycle)
    heat_capacity = 70.0  # J/K, a 70 g cell
    cooling = 1.0 / 600.0
    r1, tau = 0.015, 30.0
    prev_t = 0.0
    for k in range(session.samples):
        capacity = NOMINAL_CAPACITY_AH * cell.soh
        r0 = cell.r0
        open_circuit = ocv(cell.soc)
        if step == STEP_CC_CHARGE:
            current = CHARGE_C_RATE * NOMINAL_CAPACITY_AH
            if open_circuit + current * r0 + cell.v_rc >= VOLTAGE_MAX_VOLT:
                step, step_started = STEP_CV_CHARGE, k
        if step == STEP_CV_CHARGE:
            current = min(
                (VOLTAGE_MAX_VOLT - open_circuit - cell.v_rc) / r0,
                CHARGE_C_RATE * NOMINAL_CAPACITY_AH,
            )
            if current < CV_CUTOFF_AMPERE:
                step, step_started = STEP_REST_CHARGED, k
        if step == STEP_REST_CHARGED:
            current = 0.0
            if k - step_started >= REST_SECONDS:
                step, step_started = STEP_CC_DISCHARGE, k
        if step == STEP_CC_DISCHARGE:
            current = -DISCHARGE_C_RATE * NOMINAL_CAPACITY_AH
            if open_circuit + current * r0 + cell.v_rc <= VOLTAGE_MIN_VOLT:
                step, step_started = STEP_REST_EMPTY, k
        if step == STEP_REST_EMPTY:
            current = 0.0
            if k - step_started >= REST_SECONDS:
                cycle.complete = True
                cell.cycles_done += 1
                cycle_index += 1
                step, step_started = STEP_CC_CHARGE, k
                cycle = Cycle(session.session_id, cycle_index, k, k, 0.0, 0.0)
                cycles.append(cycle)
                current = CHARGE_C_RATE * NOMINAL_CAPACITY_AH

        # The cycler's clock: 1 Hz with millisecond jitter, never before the previous sample.
        if k == 0:
            t = 0.0
        elif jitter_ms:
            t = max(round(k + randint(-jitter_ms, jitter_ms) / 1000.0, 3), prev_t + 0.001)
        else:
            t = float(k)
        dt = t - prev_t if k else 0.0
        prev_t = t

        cell.soc += current * dt / 3600.0 / capacity
        cell.v_rc += (current * r1 - cell.v_rc) * (dt / tau)
        cell.temperature += (
            current * current * r0 / heat_capacity - (cell.temperature - AMBIENT_CELSIUS) * cooling
        ) * dt
        noise_i = 0.0001 if current == 0.0 else 0.0008
        i_meas = round(current + gauss(0.0, noise_i), 4)
        v_meas = round(ocv(cell.soc) + current * r0 + cell.v_rc + gauss(0.0, 0.00015), 4)
        temp_meas = round(cell.temperature + gauss(0.0, 0.02), 2)
        if step == STEP_CC_DISCHARGE:
            cycle.discharge_capacity_ah -= i_meas * dt / 3600.0
        if k == cycle.record_index_first:
            cycle.test_time_start_second = t
        cycle.record_index_last = k
        cycle.test_time_end_second = t
        yield (
            session.started_at_us + round(t * 1_000_000),
            t,
            session.session_id,
            k,
            cycle_index,
            v_meas,
            i_meas,
            temp_meas,
            step,
        )


def _batches(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _table(batch: list[tuple], schema: pa.Schema) -> pa.Table:
    columns = list(zip(*batch, strict=True))
    return pa.Table.from_arrays(
        [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)],
        schema=schema,
    )


def generate(
    n: int,
    scratch: Path,
    seed: int = SEED,
    batch_rows: int = BATCH_ROWS,
    clock_jitter_ms: int = 2,
) -> Manifest:
    """Write points.parquet, soc_labels.parquet and manifest.json into ``scratch``.

    ``clock_jitter_ms=0`` gives an exact 1 Hz clock (integral seconds), for comparison.
    """
    rng = random.Random(seed)
    sessions = plan_sessions(n)
    cells = {c: CellState(rng) for c in range(1, CELLS + 1)}
    manifest = Manifest(
        n=n,
        seed=seed,
        clock_jitter_ms=clock_jitter_ms,
        cells=[
            {"cell_id": c, "serial_number": f"BENCH-{c:04d}", "soc_start": round(s.soc, 6)}
            for c, s in cells.items()
        ],
        sessions=sessions,
    )
    label_session = sessions[0]
    manifest.soc_label_session = label_session.session_id
    manifest.soc_initial = round(cells[label_session.cell_id].soc, 4)

    def rows() -> Iterator[tuple]:
        for session in sessions:
            yield from _session_samples(
                session, cells[session.cell_id], rng, manifest.cycles, clock_jitter_ms
            )

    labels = 0
    soc = manifest.soc_initial
    prev_t = 0.0
    with (
        pq.ParquetWriter(scratch / "points.parquet", POINT_SCHEMA, compression="zstd") as points,
        pq.ParquetWriter(scratch / "soc_labels.parquet", LABEL_SCHEMA, compression="zstd") as lab,
    ):
        for batch in _batches(rows(), batch_rows):
            points.write_table(_table(batch, POINT_SCHEMA), row_group_size=len(batch))
            # Coulomb counting on the first session: integrate the recorded current.
            label_rows = []
            for row in batch:
                if row[2] != label_session.session_id:
                    break
                t = row[1]
                soc += row[6] * (t - prev_t) / 3600.0 / NOMINAL_CAPACITY_AH
                prev_t = t
                label_rows.append((row[2], row[3], row[0], min(max(soc, -0.05), 1.05)))
            if label_rows:
                lab.write_table(_table(label_rows, LABEL_SCHEMA), row_group_size=len(label_rows))
                labels += len(label_rows)
    manifest.soc_labels = labels
    (scratch / "manifest.json").write_text(manifest.to_json())
    return manifest


def load_manifest(scratch: Path) -> Manifest:
    return Manifest.from_json((scratch / "manifest.json").read_text())


def point_batches(scratch: Path, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The samples back, one Arrow batch at a time."""
    yield from pq.ParquetFile(scratch / "points.parquet").iter_batches(batch_size=batch_rows)


def label_batches(scratch: Path, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    yield from pq.ParquetFile(scratch / "soc_labels.parquet").iter_batches(batch_size=batch_rows)
