"""BEEP's per-cycle summary and delta-Q(V) features of one session's samples, timed: run by
bench/derive.py in BEEP's own environment (`python job.py SAMPLES.parquet V_MIN V_MAX
NOMINAL_AH`), it prints one JSON line. Standalone: it imports nothing of this project.

Timed, as derive is: the samples read from the Parquet file (bench/derive.py writes it from
the engine's table, untimed), BEEP's datapath built from them (ArbinDatapath: BEEP's own
column names, no file parsing), `structure()` (every cycle's charge and discharge interpolated
on a 1,000-point grid, per-cycle summary: capacities, energies, temperatures, CV time and
current, coulombic efficiency) and `DeltaQFastCharge` (Severson et al. 2019: delta-Q(V) of
cycles 100 and 10, min, mean, variance, skewness, kurtosis)."""

import json
import logging
import sys
import time
import warnings

logging.disable(logging.CRITICAL)
warnings.simplefilter("ignore")


def main() -> None:
    path, v_min, v_max, nominal = sys.argv[1], *map(float, sys.argv[2:5])
    import pandas as pd
    from beep.features.core import DeltaQFastCharge
    from beep.structure.arbin import ArbinDatapath

    started = time.perf_counter()
    frame = pd.read_parquet(path)
    raw = pd.DataFrame(
        {
            "data_point": frame["record_index"],
            "test_time": frame["test_time_second"],
            "date_time": frame["recorded_at"],
            "date_time_iso": pd.to_datetime(frame["recorded_at"], unit="s", utc=True).map(
                lambda t: t.isoformat()
            ),
            "cycle_index": frame["cycle_count"],
            "step_index": frame["step_id"],
            "current": frame["current_ampere"],
            "voltage": frame["voltage_volt"],
            "charge_capacity": frame["charging_capacity_ah"],
            "discharge_capacity": frame["discharging_capacity_ah"],
            "charge_energy": frame["charging_energy_wh"].astype(float),
            "discharge_energy": frame["discharging_energy_wh"].astype(float),
            "temperature": frame["surface_temperature_celsius"].astype(float),
        }
    )
    read = time.perf_counter()
    datapath = ArbinDatapath(raw, {})
    datapath.structure(v_range=[v_min, v_max], resolution=1000, nominal_capacity=nominal)
    structured = time.perf_counter()
    featurizer = DeltaQFastCharge(datapath)
    ok, why = featurizer.validate()
    if ok:
        featurizer.create_features()
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "seconds": round(done - started, 3),
                "read_seconds": round(read - started, 3),
                "structure_seconds": round(structured - read, 3),
                "delta_q_seconds": round(done - structured, 3),
                "cycles": int(len(datapath.structured_summary)),
                "interpolated_rows": int(len(datapath.structured_data)),
                "delta_q_features": None if not ok else int(featurizer.features.shape[1]),
                "delta_q_refused": why,
            }
        )
    )


if __name__ == "__main__":
    main()
