"""cellpy's dQ/dV of the oracle session (run by make_references.sh in a venv of its own with
cellpy installed, Python >= 3.13): reads the session's BDF CSV (the first argument), writes
the reference as JSON (to the second).

cellpy.ica.transform_half_cycle (what cellpy.ica.dqdv runs per half-cycle, and
cellpy.utils.ica re-exports) on the constant-current samples of a half-cycle: voltage and the
capacity moved since the half-cycle began. Its recipe, the defaults but for the area
normalisation (off, so the curve is in Ah/V as derive's): V(q) interpolated linearly on as
many points as there are samples, inverted to q(V) on as many equally spaced voltages,
forward differences placed at the midpoints, then a Gaussian of 10 mV full width at half
maximum (cellpy.ica.IcaOptions)."""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from cellpy.ica import IcaOptions, transform_half_cycle

CYCLES = (0, 10)
STEPS = {"charge": "cc_charge", "discharge": "cc_discharge"}
COUNTERS = {"charge": "charging_capacity_ah", "discharge": "discharging_capacity_ah"}


def main(path: str, out: str) -> None:
    bdf = pd.read_csv(path)
    options = IcaOptions(normalize=False)
    curves = {}
    for cycle in CYCLES:
        for direction, step in STEPS.items():
            half = bdf[(bdf.cycle_count == cycle) & (bdf.step_type == step)]
            q = half[COUNTERS[direction]].to_numpy()
            got = transform_half_cycle(
                half.voltage_volt.to_numpy(), q - q[0], options, derivative="dqdv"
            )
            curves[f"{cycle}/{direction}"] = {
                "voltage_volt": np.round(got.x, 7).tolist(),
                "dq_dv_ah_per_volt": np.round(got.y, 7).tolist(),
                "notes": list(got.notes),
            }
    Path(out).write_text(
        json.dumps(
            {
                "peer": "cellpy",
                "version": version("cellpy"),
                "cellpycore": version("cellpycore"),
                "numpy": version("numpy"),
                "scipy": version("scipy"),
                "what": "cellpy.ica.transform_half_cycle(voltage, capacity, "
                "IcaOptions(normalize=False), derivative='dqdv') on the CC samples",
                "curves": curves,
            },
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
