"""Make the demo data under data/demo/ (issue 11 item 5): a PyBaMM simulation, not a download.

    python3 -m venv /tmp/demo-venv
    /tmp/demo-venv/bin/pip install -r scripts/demo/requirements.txt
    /tmp/demo-venv/bin/python scripts/demo/make_demo_data.py [--out data/demo]

Two tests of one simulated NMC/graphite cell (PyBaMM's single particle model with the
Mohtat2020 parameters, 5 Ah), each with fixed parameters and no randomness, so a rerun with
the pinned requirements writes the same bytes:

- cell_aging: CC discharge at 1C to 3.0 V, rest, CC charge at 1C to 4.2 V, CV at 4.2 V to C/20,
  rest; repeated. SEI growth (solvent-diffusion limited) with its diffusivity raised so the
  fade shows within a few dozen cycles instead of a thousand. One sample every 30 s.
- drive_cycle: a synthetic urban drive profile built here (accelerate, cruise, brake with
  regeneration, stop; repeated), from SOC 0.9, one sample a second.

Written as BDF CSV (charge-positive current, the BDF names and units the loader reads,
gzip), the drive cycle also as a Maccor text export (the layout `--format maccor` reads:
unsigned Amps, State C/D/R, Test (Min)), and a sidecar JSON per session. PyBaMM counts
discharge current as positive: the sign is flipped here, once, on writing.

Nothing here downloads: the parameter set is a Python module inside PyBaMM and the drive
profile is built below. The script refuses to run if PYBAMM would fetch data (it sets no
data directory and uses no pybamm.DataLoader).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import io
import json
import time
from pathlib import Path

import numpy as np
import pybamm

CYCLES = 80
SEI_SPEED_UP = 600.0  # times PyBaMM's solvent diffusivity: fade in cycles, not years
AGING_START = dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.UTC)
DRIVE_START = dt.datetime(2024, 3, 25, 9, 0, tzinfo=dt.UTC)
CELL = {
    "manufacturer": "Simulated (PyBaMM)",
    "model_name": "Mohtat2020 NMC532/graphite",
    "chemistry": "NMC",
    "form_factor": "pouch",
    "nominal_capacity_ah": 5.0,
    "nominal_voltage_volt": 3.7,
    "voltage_min_volt": 3.0,
    "voltage_max_volt": 4.2,
}
BDF_HEADER = [
    "Test Time / s",
    "Unix Time / s",
    "Voltage / V",
    "Current / A",
    "Cycle Count / 1",
    "Step Count / 1",
    "Step Type",
]


def parameters() -> pybamm.ParameterValues:
    values = pybamm.ParameterValues("Mohtat2020")
    key = "SEI solvent diffusivity [m2.s-1]"
    values.update({key: values[key] * SEI_SPEED_UP})
    return values


def simulate_aging(cycles: int = CYCLES) -> list[tuple]:
    """(test time s, voltage V, current A charge-positive, cycle, step, step type) rows."""
    model = pybamm.lithium_ion.SPM({"SEI": "solvent-diffusion limited"})
    steps = [
        ("Discharge at 1C until 3.0 V", "cc_discharge"),
        ("Rest for 10 minutes", "rest"),
        ("Charge at 1C until 4.2 V", "cc_charge"),
        ("Hold at 4.2 V until 250 mA", "cv_charge"),
        ("Rest for 10 minutes", "rest"),
    ]
    experiment = pybamm.Experiment([tuple(text for text, _ in steps)] * cycles, period="30 seconds")
    simulation = pybamm.Simulation(model, parameter_values=parameters(), experiment=experiment)
    solution = simulation.solve(initial_soc=1.0)
    rows: list[tuple] = []
    step_count = 0
    last_time = -1.0
    for cycle, cycle_solution in enumerate(solution.cycles):
        for (_, kind), step in zip(steps, cycle_solution.steps, strict=True):
            step_count += 1
            t = step["Time [s]"].entries
            v = step["Voltage [V]"].entries
            i = -step["Current [A]"].entries  # PyBaMM: discharge positive; here charge positive
            for k in range(len(t)):
                if t[k] <= last_time + 1e-6:
                    continue  # a step starts where the previous one ended: one sample, not two
                last_time = t[k]
                rows.append((t[k], v[k], i[k], cycle, step_count, kind))
    return rows


def drive_profile() -> tuple[np.ndarray, np.ndarray]:
    """Current (A, PyBaMM sign: discharge positive) against time for a synthetic city drive:
    each block accelerates, cruises, brakes with regeneration and stops; the blocks differ
    by a fixed pattern of cruise currents, so no block repeats exactly."""
    capacity = CELL["nominal_capacity_ah"]
    times, currents = [0.0], [0.0]

    def segment(seconds: float, c_rate: float) -> None:
        times.append(times[-1] + 1e-3)
        currents.append(c_rate * capacity)
        times.append(times[-1] + seconds - 1e-3)
        currents.append(c_rate * capacity)

    for block in range(16):
        cruise = (0.4, 0.7, 1.0, 0.55)[block % 4]
        segment(8, 2.0)  # accelerate
        segment(40 + 5 * (block % 3), cruise)  # cruise
        segment(6, -1.2)  # regenerative braking charges the cell
        segment(20, 0.0)  # stop at a light
    return np.array(times), np.array(currents)


def simulate_drive() -> list[tuple]:
    t_profile, i_profile = drive_profile()
    model = pybamm.lithium_ion.SPM()
    values = pybamm.ParameterValues("Mohtat2020")
    values["Current function [A]"] = pybamm.Interpolant(
        t_profile, i_profile, pybamm.t, interpolator="linear"
    )
    simulation = pybamm.Simulation(model, parameter_values=values)
    t_eval = np.arange(0.0, np.floor(t_profile[-1]) + 1.0, 1.0)
    solution = simulation.solve(t_eval=t_eval, initial_soc=0.9)
    # one sample a second, as a cycler logs it (the solver's own steps are finer near edges)
    v = solution["Voltage [V]"](t=t_eval)
    i = -solution["Current [A]"](t=t_eval)  # PyBaMM: discharge positive; here charge positive
    return [(t_eval[k], v[k], i[k], 0, 1, "dynamic") for k in range(len(t_eval))]


def _gzip(path: Path, text: str) -> None:
    """gzip with no name and no time in its header: the same rows give the same bytes."""
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
            out.write(text.encode())


def _amps(current: float) -> str:
    """Five decimals, and 0.00000 rather than -0.00000 at rest."""
    return f"{round(current, 5) + 0.0:.5f}"


def write_bdf(path: Path, rows: list[tuple], start: dt.datetime) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(BDF_HEADER)
    epoch = start.timestamp()
    for t, v, i, cycle, step, kind in rows:
        writer.writerow([f"{t:.3f}", f"{epoch + t:.3f}", f"{v:.5f}", _amps(i), cycle, step, kind])
    _gzip(path, buffer.getvalue())


def write_maccor(path: Path, rows: list[tuple], start: dt.datetime, name: str) -> None:
    """Maccor's text export: a preamble line, then tab-separated columns; Amps unsigned with
    the State column saying C(harge), D(ischarge) or R(est); test time in minutes."""
    lines = [
        "Today's Date\t"
        + start.strftime("%m/%d/%Y")
        + "\tDate of Test:\t"
        + start.strftime("%m/%d/%Y")
        + f"\tFilename:\t{name}\tProcedure:\tDRIVE.000"
        + "\tComment/Barcode:\tsimulated with PyBaMM (scripts/demo/make_demo_data.py)",
        "\t".join(
            [
                "Rec#",
                "Cyc#",
                "Step",
                "Test (Min)",
                "Step (Min)",
                "Amp-hr",
                "Watt-hr",
                "Amps",
                "Volts",
                "State",
                "ES",
                "DPt Time",
            ]
        ),
    ]
    amp_hours = watt_hours = 0.0
    previous_t = rows[0][0]
    for record, (t, v, i, cycle, step, _kind) in enumerate(rows, start=1):
        amp_hours += abs(i) * (t - previous_t) / 3600
        watt_hours += abs(i * v) * (t - previous_t) / 3600
        previous_t = t
        state = "R" if abs(i) < 1e-9 else ("C" if i > 0 else "D")
        stamp = (start + dt.timedelta(seconds=float(t))).strftime("%m/%d/%Y %H:%M:%S")
        lines.append(
            "\t".join(
                [
                    str(record),
                    str(cycle),
                    str(step),
                    f"{t / 60:.7f}",
                    f"{t / 60:.7f}",
                    f"{amp_hours:.6f}",
                    f"{watt_hours:.6f}",
                    _amps(abs(i)),
                    f"{v:.5f}",
                    state,
                    "0",
                    stamp,
                ]
            )
        )
    _gzip(path, "\r\n".join(lines) + "\r\n")


def sidecar(path: Path, session: dict, start: dt.datetime) -> None:
    data = {"cell": CELL, "session": {**session, "started_at": start.isoformat()}}
    path.write_text(json.dumps(data, indent=2) + "\n")


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--out", type=Path, default=Path(__file__).parents[2] / "data" / "demo")
    args.add_argument("--cycles", type=int, default=CYCLES)
    parsed = args.parse_args()
    out = parsed.out
    out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    aging = simulate_aging(parsed.cycles)
    print(f"cell_aging: {len(aging)} samples, {time.monotonic() - began:.0f} s")
    write_bdf(out / "cell_aging.bdf.csv.gz", aging, AGING_START)
    sidecar(
        out / "cell_aging.json",
        {
            "protocol_name": "CC-CV 1C/1C aging, 4.2-3.0 V (simulated)",
            "protocol_type": "cycle_aging",
            "equipment": "PyBaMM SPM + SEI (solvent-diffusion limited)",
            "ambient_temperature_celsius": 25.0,
            "charge_c_rate": 1.0,
            "discharge_c_rate": 1.0,
        },
        AGING_START,
    )
    began = time.monotonic()
    drive = simulate_drive()
    print(f"drive_cycle: {len(drive)} samples, {time.monotonic() - began:.0f} s")
    write_bdf(out / "drive_cycle.bdf.csv.gz", drive, DRIVE_START)
    write_maccor(out / "drive_cycle.001.gz", drive, DRIVE_START, "drive_cycle.001")
    session = {
        "protocol_name": "Synthetic urban drive cycle from SOC 0.9 (simulated)",
        "protocol_type": "drive_cycle",
        "equipment": "PyBaMM SPM",
        "ambient_temperature_celsius": 25.0,
    }
    sidecar(out / "drive_cycle.json", session, DRIVE_START)


if __name__ == "__main__":
    main()
