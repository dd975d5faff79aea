"""BEEP's delta-Q(V) features of the oracle session (run by make_references.sh in a venv of its
own with beep installed): reads the session's BDF CSV (the first argument), writes the
reference as JSON (to the second).

The path is Severson et al.'s in BEEP (beep.features.core.DeltaQFastCharge over
BEEPDatapath.interpolate_cycles, the datapath's "cycles_interpolated"): each discharge step
interpolated on a linear voltage grid (pandas index interpolation, beep.structure.base
.interpolate_df), then Qd(final_pred_cycle - 1) - Qd(9) and log10 of the absolute min, mean,
variance, skewness, kurtosis and first value. What this script adds is the format BEEP reads:
BEEP's columns from the BDF ones, a step index counted from the changes of step type, and the
capacity and energy counters restarted at every cycle as Arbin writes them (the session's
counters run over the whole test)."""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from beep.features.core import DeltaQFastCharge
from beep.structure.base import BEEPDatapath

REFERENCE, COMPARED = 9, 11
WINDOW = [3.1, 4.1]
POINTS = 1000


class Datapath(BEEPDatapath):
    @classmethod
    def from_file(cls, path):
        bdf = pd.read_csv(path)
        raw = pd.DataFrame(
            {
                "data_point": np.arange(len(bdf)),
                "test_time": bdf["test_time_second"],
                "cycle_index": bdf["cycle_count"].astype(int),
                "step_index": (bdf["step_type"] != bdf["step_type"].shift()).cumsum(),
                "current": bdf["current_ampere"],
                "voltage": bdf["voltage_volt"],
                "temperature": bdf["surface_temperature_celsius"],
                "internal_resistance": 0.0,
                "date_time_iso": (
                    pd.Timestamp("2024-01-01", tz="UTC")
                    + pd.to_timedelta(bdf["test_time_second"], unit="s")
                ).dt.strftime("%Y-%m-%dT%H:%M:%S.%f%z"),
            }
        )
        for beep_name, bdf_name in (
            ("charge_capacity", "charging_capacity_ah"),
            ("discharge_capacity", "discharging_capacity_ah"),
            ("charge_energy", "charging_energy_wh"),
            ("discharge_energy", "discharging_energy_wh"),
        ):
            first = bdf.groupby("cycle_count")[bdf_name].transform("first")
            raw[beep_name] = bdf[bdf_name] - first
        return cls(raw, {}, paths={"raw": str(Path(path).resolve())})


def main(path: str, out: str) -> None:
    dp = Datapath.from_file(path)
    dp.structure(v_range=WINDOW, resolution=POINTS, nominal_capacity=5.0)
    featurizer = DeltaQFastCharge(
        dp,
        {
            "init_pred_cycle": 10,
            "mid_pred_cycle": COMPARED,
            "final_pred_cycle": COMPARED + 1,
            "n_nominal_cycles": 40,
        },
    )
    featurizer.create_features()
    x = featurizer.features.iloc[0]
    keep = [c for c in x.index if "discharge_capacity_difference" in c]
    interp = dp.structured_data
    dis = interp[interp.step_type == "discharge"]
    qd = {
        c: dis.discharge_capacity[dis.cycle_index == c].to_numpy().tolist()
        for c in (REFERENCE, COMPARED)
    }
    volts = dis.voltage[dis.cycle_index == COMPARED].to_numpy()
    Path(out).write_text(
        json.dumps(
            {
                "peer": "beep",
                "version": version("beep"),
                "pandas": version("pandas"),
                "numpy": version("numpy"),
                "scipy": version("scipy"),
                "what": "beep.features.core.DeltaQFastCharge over BEEPDatapath.structure("
                f"v_range={WINDOW}, resolution={POINTS}) (cycles_interpolated)",
                "reference_cycle": REFERENCE,
                "compared_cycle": COMPARED,
                "features": {k: float(x[k]) for k in keep},
                "grid": [float(volts[0]), float(volts[-1]), len(volts)],
                "discharge_capacity_ah": {str(k): v for k, v in qd.items()},
            },
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
