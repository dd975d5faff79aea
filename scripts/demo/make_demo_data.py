"""Make the demo data under data/demo/ (issues 11 and 24): a PyBaMM simulation, not a download.

    python3 -m venv /tmp/demo-venv
    /tmp/demo-venv/bin/pip install -r scripts/demo/requirements.txt
    nice /tmp/demo-venv/bin/python scripts/demo/make_demo_data.py [--out data/demo]

Nine simulated NMC/graphite cells (PyBaMM's single particle model with the Mohtat2020
parameters, 5 Ah, a lumped thermal model in a climate chamber at the session's ambient
temperature), each with fixed parameters and no randomness, so a rerun with the pinned
requirements writes the same bytes (about a minute on one core):

- eight aging cells (AGING_CELLS): CC discharge to 3.0 V, rest, CC charge to 4.2 V, CV at
  4.2 V to C/20, rest; CYCLES times. They differ by the ambient temperature (15, 25, 40 degC)
  and the C-rate of charge and discharge (0.5C, 1C, 2C): the 3 x 3 grid without its slowest,
  coldest corner (15 degC at 0.5C). SEI growth (solvent-diffusion limited) with its
  diffusivity raised SEI_SPEED_UP times so the fade shows within the cycles instead of a
  thousand, and an Arrhenius activation energy (SEI_ACTIVATION_J_MOL; Mohtat2020 has none) so
  a warm cell fades faster; time spent cycling grows the SEI, so a slow cell fades more per
  cycle. One sample every 60 s. `cell_aging` (25 degC, 1C) is the one the docs plot first.
- one fresh cell for the SOC tests (no SEI: their days are too few for it), at 25 degC:
  `ocv_c20`, a slow C/20 discharge and charge (the pseudo-OCV curve), one sample a minute;
  `hppc`, from full, nine times: a tenth of the capacity out at 1C, 30 minutes' rest, a 10 s
  discharge pulse at 2C, 40 s rest, a 10 s charge pulse at 1.5C, 40 s rest (one sample a
  second in the pulses, 10 s in the discharge, 60 s in the long rest); `drive_cycle`, a
  synthetic urban drive profile built here (accelerate, cruise, brake with regeneration,
  stop; repeated), from SOC 0.9, one sample a second.

Written as BDF CSV (charge-positive current, the BDF names and units the loader reads, the
lumped cell temperature as the surface temperature, gzip), the drive cycle also as a Maccor
text export (the layout `--format maccor` reads: unsigned Amps, State C/D/R, Test (Min)),
and a sidecar JSON per session: the cell (one serial number per cell) and the session with
its conditions (ambient temperature, charge and discharge C-rate). PyBaMM counts discharge
current as positive: the sign is flipped here, once, on writing.

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pybamm

CYCLES = 40
SEI_SPEED_UP = 1200.0  # times PyBaMM's solvent diffusivity: fade in cycles, not years
SEI_ACTIVATION_J_MOL = 60_000.0  # Arrhenius for SEI growth, about 3x faster at 40 than 25 degC
AGING_PERIOD = "60 seconds"
AGING_START = dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.UTC)
OCV_START = dt.datetime(2024, 3, 18, 9, 0, tzinfo=dt.UTC)
HPPC_START = dt.datetime(2024, 3, 21, 9, 0, tzinfo=dt.UTC)
DRIVE_START = dt.datetime(2024, 3, 25, 9, 0, tzinfo=dt.UTC)
CELL = {
    "manufacturer": "Simulated (PyBaMM)",
    "model_name": "Mohtat2020 NMC532/graphite",
    "chemistry": "NMC",
    "cathode_chemistry": "NMC",
    "anode_chemistry": "graphite",
    "form_factor": "pouch",
    "nominal_capacity_ah": 5.0,
    "nominal_voltage_volt": 3.7,
    "voltage_min_volt": 3.0,
    "voltage_max_volt": 4.2,
}
SOC_CELL = "SIM-02"  # the cell of the SOC tests (the demo loads it second, after SIM-01)
BDF_HEADER = [
    "Test Time / s",
    "Unix Time / s",
    "Voltage / V",
    "Current / A",
    "Surface Temperature / degC",
    "Cycle Count / 1",
    "Step Count / 1",
    "Step Type",
]


@dataclass(frozen=True)
class AgingCell:
    name: str  # the file names and the demo's session name
    serial: str
    celsius: float  # the climate chamber
    c_rate: float  # charge and discharge alike

    @property
    def rate(self) -> str:
        return f"{self.c_rate:g}C"


AGING_CELLS = (
    AgingCell("cell_aging", "SIM-01", 25.0, 1.0),  # the cell the docs plot first
    AgingCell("aging_25degC_0p5C", "SIM-03", 25.0, 0.5),
    AgingCell("aging_25degC_2C", "SIM-04", 25.0, 2.0),
    AgingCell("aging_15degC_1C", "SIM-05", 15.0, 1.0),
    AgingCell("aging_15degC_2C", "SIM-06", 15.0, 2.0),
    AgingCell("aging_40degC_0p5C", "SIM-07", 40.0, 0.5),
    AgingCell("aging_40degC_1C", "SIM-08", 40.0, 1.0),
    AgingCell("aging_40degC_2C", "SIM-09", 40.0, 2.0),
)


def parameters(celsius: float, sei: bool) -> pybamm.ParameterValues:
    values = pybamm.ParameterValues("Mohtat2020")
    kelvin = 273.15 + celsius
    values.update({"Ambient temperature [K]": kelvin, "Initial temperature [K]": kelvin})
    if sei:
        key = "SEI solvent diffusivity [m2.s-1]"
        values.update(
            {
                key: values[key] * SEI_SPEED_UP,
                "SEI growth activation energy [J.mol-1]": SEI_ACTIVATION_J_MOL,
            }
        )
    return values


def model(sei: bool) -> pybamm.BaseModel:
    options = {"thermal": "lumped"}
    if sei:
        options["SEI"] = "solvent-diffusion limited"
    return pybamm.lithium_ion.SPM(options)


Step = tuple[str, str]  # (PyBaMM's step text, the BDF step type written for it)


def run_experiment(
    cycles: list[tuple[Step, ...]], values: pybamm.ParameterValues, sei: bool, period: str
) -> list[tuple]:
    """(test time s, voltage V, current A charge-positive, cycle, step, step type, cell
    temperature degC) rows of an experiment, a cycle per entry of `cycles`."""
    experiment = pybamm.Experiment(
        [tuple(text for text, _ in steps) for steps in cycles], period=period
    )
    simulation = pybamm.Simulation(model(sei), parameter_values=values, experiment=experiment)
    solution = simulation.solve(initial_soc=1.0)
    if len(solution.cycles) != len(cycles):
        raise SystemExit(f"the experiment stopped after {len(solution.cycles)} cycles")
    rows: list[tuple] = []
    step_count = 0
    last_time = -1.0
    for cycle, (steps, cycle_solution) in enumerate(zip(cycles, solution.cycles, strict=True)):
        for (_, kind), step in zip(steps, cycle_solution.steps, strict=True):
            step_count += 1
            t = step["Time [s]"].entries
            v = step["Voltage [V]"].entries
            i = -step["Current [A]"].entries  # PyBaMM: discharge positive; here charge positive
            temp = step["Volume-averaged cell temperature [C]"].entries
            for k in range(len(t)):
                if t[k] <= last_time + 1e-6:
                    continue  # a step starts where the previous one ended: one sample, not two
                last_time = t[k]
                rows.append((t[k], v[k], i[k], cycle, step_count, kind, temp[k]))
    return rows


def simulate_aging(cell: AgingCell, cycles: int = CYCLES) -> list[tuple]:
    steps = (
        (f"Discharge at {cell.rate} until 3.0 V", "cc_discharge"),
        ("Rest for 10 minutes", "rest"),
        (f"Charge at {cell.rate} until 4.2 V", "cc_charge"),
        ("Hold at 4.2 V until 250 mA", "cv_charge"),
        ("Rest for 10 minutes", "rest"),
    )
    return run_experiment([steps] * cycles, parameters(cell.celsius, True), True, AGING_PERIOD)


def simulate_ocv() -> list[tuple]:
    """A C/20 discharge from full to 3.0 V, an hour's rest, a C/20 charge to 4.2 V: one cycle."""
    steps = (
        ("Discharge at C/20 until 3.0 V", "cc_discharge"),
        ("Rest for 1 hour", "rest"),
        ("Charge at C/20 until 4.2 V", "cc_charge"),
    )
    return run_experiment([steps], parameters(25.0, False), False, "60 seconds")


def simulate_hppc(levels: int = 9) -> list[tuple]:
    """From full, `levels` times: a tenth of the capacity out, a long rest, the pulses; a cycle
    (Cycle Count) per SOC level."""
    steps = (
        ("Discharge at 1C for 6 minutes or until 3.0 V (10 second period)", "cc_discharge"),
        ("Rest for 30 minutes (60 second period)", "rest"),
        ("Discharge at 2C for 10 seconds or until 3.0 V (1 second period)", "pulse"),
        ("Rest for 40 seconds (1 second period)", "rest"),
        ("Charge at 1.5C for 10 seconds or until 4.2 V (1 second period)", "pulse"),
        ("Rest for 40 seconds (1 second period)", "rest"),
    )
    return run_experiment([steps] * levels, parameters(25.0, False), False, "60 seconds")


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
    values = parameters(25.0, False)
    values["Current function [A]"] = pybamm.Interpolant(
        t_profile, i_profile, pybamm.t, interpolator="linear"
    )
    simulation = pybamm.Simulation(model(False), parameter_values=values)
    t_eval = np.arange(0.0, np.floor(t_profile[-1]) + 1.0, 1.0)
    solution = simulation.solve(t_eval=t_eval, initial_soc=0.9)
    # one sample a second, as a cycler logs it (the solver's own steps are finer near edges)
    v = solution["Voltage [V]"](t=t_eval)
    i = -solution["Current [A]"](t=t_eval)  # PyBaMM: discharge positive; here charge positive
    temp = solution["Volume-averaged cell temperature [C]"](t=t_eval)
    return [(t_eval[k], v[k], i[k], 0, 1, "dynamic", temp[k]) for k in range(len(t_eval))]


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
    for t, v, i, cycle, step, kind, celsius in rows:
        writer.writerow(
            [
                f"{t:.3f}",
                f"{epoch + t:.3f}",
                f"{v:.5f}",
                _amps(i),
                f"{celsius:.3f}",
                cycle,
                step,
                kind,
            ]
        )
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
    for record, (t, v, i, cycle, step, _kind, _celsius) in enumerate(rows, start=1):
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


def sidecar(path: Path, serial: str, session: dict, start: dt.datetime) -> None:
    cell = {**CELL, "serial_number": serial}
    data = {"cell": cell, "session": {**session, "started_at": start.isoformat()}}
    path.write_text(json.dumps(data, indent=2) + "\n")


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--out", type=Path, default=Path(__file__).parents[2] / "data" / "demo")
    args.add_argument("--cycles", type=int, default=CYCLES)
    parsed = args.parse_args()
    out = parsed.out
    out.mkdir(parents=True, exist_ok=True)

    def made(name: str, rows: list[tuple], began: float) -> None:
        print(f"{name}: {len(rows)} samples, {time.monotonic() - began:.0f} s", flush=True)

    for channel, cell in enumerate(AGING_CELLS, start=1):
        began = time.monotonic()
        aging = simulate_aging(cell, parsed.cycles)
        made(cell.name, aging, began)
        write_bdf(out / f"{cell.name}.bdf.csv.gz", aging, AGING_START)
        sidecar(
            out / f"{cell.name}.json",
            cell.serial,
            {
                "protocol_name": f"CC-CV {cell.rate}/{cell.rate} aging at {cell.celsius:g} degC, "
                "4.2-3.0 V (simulated)",
                "protocol_type": "cycle_aging",
                "equipment": "PyBaMM SPM + SEI (solvent-diffusion limited) + lumped thermal",
                "channel": f"sim-{channel}",
                "ambient_temperature_celsius": cell.celsius,
                "charge_c_rate": cell.c_rate,
                "discharge_c_rate": cell.c_rate,
            },
            AGING_START,
        )
    equipment = "PyBaMM SPM + lumped thermal"
    began = time.monotonic()
    ocv = simulate_ocv()
    made("ocv_c20", ocv, began)
    write_bdf(out / "ocv_c20.bdf.csv.gz", ocv, OCV_START)
    session = {
        "protocol_name": "C/20 discharge and charge, 4.2-3.0 V (pseudo-OCV, simulated)",
        "protocol_type": "ocv",
        "equipment": equipment,
        "ambient_temperature_celsius": 25.0,
        "charge_c_rate": 0.05,
        "discharge_c_rate": 0.05,
    }
    sidecar(out / "ocv_c20.json", SOC_CELL, session, OCV_START)
    began = time.monotonic()
    hppc = simulate_hppc()
    made("hppc", hppc, began)
    write_bdf(out / "hppc.bdf.csv.gz", hppc, HPPC_START)
    session = {
        "protocol_name": "HPPC from full: 10 % steps at 1C, 30 min rest, 10 s pulses "
        "2C discharge / 1.5C charge (simulated)",
        "protocol_type": "hppc",
        "equipment": equipment,
        "ambient_temperature_celsius": 25.0,
    }
    sidecar(out / "hppc.json", SOC_CELL, session, HPPC_START)
    began = time.monotonic()
    drive = simulate_drive()
    made("drive_cycle", drive, began)
    write_bdf(out / "drive_cycle.bdf.csv.gz", drive, DRIVE_START)
    write_maccor(out / "drive_cycle.001.gz", drive, DRIVE_START, "drive_cycle.001")
    session = {
        "protocol_name": "Synthetic urban drive cycle from SOC 0.9 (simulated)",
        "protocol_type": "drive_cycle",
        "equipment": equipment,
        "ambient_temperature_celsius": 25.0,
    }
    sidecar(out / "drive_cycle.json", SOC_CELL, session, DRIVE_START)


if __name__ == "__main__":
    main()
