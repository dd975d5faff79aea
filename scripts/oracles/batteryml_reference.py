"""BatteryML's delta-Q(V) features of the oracle session (run by make_references.sh in a venv of
its own with torch and a BatteryML checkout installed; BatteryML is not on PyPI): reads the
session's BDF CSV (the first argument), writes the reference as JSON (to the second); the
third names the BatteryML commit installed.

The path is Severson et al.'s in BatteryML (batteryml.feature.severson, what its
VarianceModelFeatureExtractor runs): each cycle's discharge capacity at the samples with
current below -0.1 A interpolated (scipy interp1d, linear) on 1,000 voltages from the cell's
upper to its lower voltage limit ("Qdlin"), the difference of the late and the early cycle,
by default smoothed by a running median of 21 points, and log10 of its minimum, variance,
skewness and kurtosis as torch computes them. Both the default and the unsmoothed features are
kept. What this script adds is the format BatteryML reads: a BatteryData of the session's
cycles, the voltage limits set to the oracle window (3.1, 4.1 V), and the discharge capacity
restarted at every cycle as BatteryML's converted data sets hold it."""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

import pandas as pd
from batteryml.data.battery_data import BatteryData, CycleData
from batteryml.feature.severson import SeversonFeatureExtractor, get_Qdlin
from batteryml.feature.variance_model import VarianceModelFeatureExtractor

REFERENCE, COMPARED = 9, 11
WINDOW = (3.1, 4.1)
FEATURES = ["Minimum", "Variance", "Skewness", "Kurtosis"]


class Extractor(SeversonFeatureExtractor):
    """The four delta-Q features of Severson's paper, as BatteryML's own extractors (the
    variance model, the discharge model) ask get_features for them."""

    def process_cell(self, cell_data):
        return self.get_features(cell_data, FEATURES)


def main(path: str, out: str, commit: str) -> None:
    bdf = pd.read_csv(path)
    first = bdf.groupby("cycle_count")["discharging_capacity_ah"].transform("first")
    bdf["qd"] = bdf["discharging_capacity_ah"] - first
    cycles = [
        CycleData(
            cycle_number=int(n),
            voltage_in_V=c.voltage_volt.tolist(),
            current_in_A=c.current_ampere.tolist(),
            discharge_capacity_in_Ah=c.qd.tolist(),
            time_in_s=c.test_time_second.tolist(),
        )
        for n, c in bdf.groupby("cycle_count")
    ]
    cell = BatteryData(
        cell_id="oracle",
        cycle_data=cycles,
        min_voltage_limit_in_V=WINDOW[0],
        max_voltage_limit_in_V=WINDOW[1],
    )
    features = {}
    for smooth in (True, False):
        extractor = Extractor(critical_cycles=[1, REFERENCE, COMPARED], smooth_diff_qdlin=smooth)
        values = extractor.process_cell(cell).tolist()
        features["smoothed" if smooth else "unsmoothed"] = dict(zip(FEATURES, values, strict=True))
    variance_model = VarianceModelFeatureExtractor(critical_cycles=[1, REFERENCE, COMPARED])
    features["variance_model"] = variance_model.process_cell(cell).tolist()
    qdlin = {str(c): get_Qdlin(cell, cycles[c]).tolist() for c in (REFERENCE, COMPARED)}
    Path(out).write_text(
        json.dumps(
            {
                "peer": "batteryml",
                "version": f"microsoft/BatteryML {version('batteryml')} at {commit}",
                "torch": version("torch"),
                "numpy": version("numpy"),
                "scipy": version("scipy"),
                "what": "batteryml.feature.severson.SeversonFeatureExtractor(critical_cycles="
                f"[1, {REFERENCE}, {COMPARED}]).get_features(cell, {FEATURES}), with "
                "smooth_diff_qdlin True (its default) and False; get_Qdlin of both cycles",
                "reference_cycle": REFERENCE,
                "compared_cycle": COMPARED,
                "window": list(WINDOW),
                "features": features,
                "qdlin_ah": qdlin,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
