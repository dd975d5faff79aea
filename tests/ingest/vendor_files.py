"""Cycler exports more than one loader test writes (tests/ingest/): Neware BTS 7/8 and BioLogic
EC-Lab text layouts and the rows they must give (from test_ingest_neware_biologic.py), the
Arbin CSV export (test_ingest_real_files.py), BTSDA workbooks (test_ingest_neware_more.py), and
the stored rows and source_file entry read back for comparison.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.ingest.loading import Target

START = 1711843200.0  # 2024-03-31T00:00:00Z, the sidecar's started_at

COLUMNS = (
    "recorded_at",
    "test_time_second",
    "voltage_volt",
    "current_ampere",
    "cycle_count",
    "record_index",
    "step_id",
    "step_time_second",
    "charging_capacity_ah",
    "discharging_capacity_ah",
    "charging_energy_wh",
    "discharging_energy_wh",
    "temperature_t1_celsius",
    "step_type",
)


def stored(target: Target, *paths: Path) -> list[dict]:
    """The files' samples as loaded, in record order, record_index from the first's."""
    select = ", ".join(target.epoch(c) if c == "recorded_at" else c for c in COLUMNS)
    got = target.query(
        f"SELECT {select} FROM timeseries_point t JOIN source_file f"
        " ON f.session_id = t.session_id AND t.record_index BETWEEN f.record_index_first"
        " AND f.record_index_last WHERE f.uri IN ("
        + ", ".join(["%s"] * len(paths))
        + ") ORDER BY record_index",
        [str(p) for p in paths],
    )
    rows = [dict(zip(COLUMNS, r, strict=True)) for r in got]
    first = rows[0]["record_index"] if rows else 0
    for r in rows:
        r["record_index"] -= first
    return rows


def same(got: list[dict], expected: list[dict]) -> bool:
    if len(got) != len(expected):
        return False
    for g, e in zip(got, expected, strict=True):
        for key, value in e.items():
            have = g[key]
            if isinstance(value, float) and have is not None:
                if abs(have - value) > 1e-6 * max(1.0, abs(value)):
                    return False
            elif have != value:
                return False
    return True


MPT_COLUMNS = (
    "mode",
    "ox/red",
    "error",
    "control changes",
    "Ns changes",
    "counter inc.",
    "Ns",
    "time/s",
    "control/V/mA",
    "Ewe/V",
    "<I>/mA",
    "dq/mA.h",
    "(Q-Qo)/mA.h",
    "Q charge/discharge/mA.h",
    "half cycle",
    "Energy charge/W.h",
    "Energy discharge/W.h",
    "Q discharge/mA.h",
    "Q charge/mA.h",
    "Capacity/mA.h",
    "cycle number",
    "Temperature/°C",
    "P/W",
)
# (Ns, time/s, Ewe/V, <I>/mA, Q charge/mA.h, Q discharge/mA.h, Energy charge/W.h,
#  Energy discharge/W.h, cycle number, Temperature/°C): a rest, a charge, a discharge
MPT_SAMPLES = (
    (0, 0.0, 3.512, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 24.8),
    (1, 10.0, 3.6, 2500.0, 6.944444, 0.0, 0.025, 0.0, 0, 24.9),
    (2, 20.5, 3.55, -2500.0, 6.944444, 7.118056, 0.025, 0.025347, 1, 25.1),
)


def _number(value: float, comma: bool) -> str:
    """As EC-Lab writes a number: 3.600000000000000E+000 (three exponent digits)."""
    mantissa, exponent = f"{value:.15E}".split("E")
    text = f"{mantissa}E{exponent[0]}{int(exponent[1:]):03d}"
    return text.replace(".", ",") if comma else text


def mpt_rows(samples=MPT_SAMPLES, comma: bool = False) -> list[str]:
    rows = []
    for ns, t, ewe, i, qc, qd, ec, ed, cycle, temp in samples:
        fields = {
            "mode": "1" if i else "3",
            "ox/red": "1" if i > 0 else "0",
            "error": "0",
            "control changes": "0",
            "Ns changes": "0",
            "counter inc.": "0",
            "Ns": str(ns),
            "time/s": _number(t, comma),
            "control/V/mA": _number(i, comma),
            "Ewe/V": _number(ewe, comma),
            "<I>/mA": _number(i, comma),
            "dq/mA.h": _number(0, comma),
            "(Q-Qo)/mA.h": _number(qc - qd, comma),
            "Q charge/discharge/mA.h": _number(qc if i >= 0 else qd, comma),
            "half cycle": str(cycle),
            "Energy charge/W.h": _number(ec, comma),
            "Energy discharge/W.h": _number(ed, comma),
            "Q discharge/mA.h": _number(qd, comma),
            "Q charge/mA.h": _number(qc, comma),
            "Capacity/mA.h": _number(qc + qd, comma),
            "cycle number": _number(cycle, comma),  # EC-Lab writes it as a float
            "Temperature/°C": _number(temp, comma),
            "P/W": _number(ewe * i / 1000, comma),
        }
        rows.append("\t".join(fields[c] for c in MPT_COLUMNS))
    return rows


def mpt(
    rows: list[str] | None = None,
    *,
    header: bool = True,
    comma: bool = False,
    started: str = "03/31/2024 01:00:00.500",
    columns=MPT_COLUMNS,
    encoding: str = "cp1252",
    eol: str = "\r\n",
) -> bytes:
    """An EC-Lab ASCII export: the header block (as EC-Lab writes it, shortened), the column
    line ending with a tab, CRLF lines, Windows-1252."""
    rows = mpt_rows(comma=comma) if rows is None else rows
    block = [
        "",
        "Galvanostatic Cycling with Potential Limitation",
        "",
        "Run on channel : 3 (SN 12345)",
        "User : ",
        "Electrode connection : standard",
        "Potential control : Ewe",
        "Ewe ctrl range : min = 0,00 V, max = 5,00 V",
        f"Acquisition started on : {started}",
        "Loaded Setting File : NONE",
        "Saved on :",
        "File : cell7_C03.mpr",
        "Directory : C:\\Data\\",
        "Host : 192.109.209.128",
        "Device : VMP3 (SN 12345)",
        "Cycle Definition : Charge/Discharge alternance",
    ]
    column_line = "\t".join(columns) + "\t"
    if header:
        count = len(block) + 3  # the magic, the count line, the block, the column line
        lines = ["EC-Lab ASCII FILE", f"Nb header lines : {count}                          "]
        lines += [*block, column_line, *rows]
    else:
        lines = [column_line, *rows]
    return (eol.join(lines) + eol).encode(encoding)


BTS8_HEADER = (
    "DataPoint,Cycle Index,Step Index,Step Type,Time,Total Time,Current(A),Voltage(V),"
    "Capacity(Ah),Spec. Cap.(mAh/g),Chg. Cap.(Ah),Chg. Spec. Cap.(mAh/g),DChg. Cap.(Ah),"
    "DChg. Spec. Cap.(mAh/g),Energy(Wh),Spec. Energy(mWh/g),Chg. Energy(Wh),"
    "Chg. Spec. Energy(mWh/g),DChg. Energy(Wh),DChg. Spec. Energy(mWh/g),Date,Power(W),"
    "dQ/dV(mAh/V),dQm/dV(mAh/V.g),Contact resistance(mΩ),Module start-stop switch,T1(℃)"
)


def bts8_row(point, cycle, step, kind, step_time, total, amps, volts, chg, dchg, date, t1):
    cap = chg or dchg
    e_chg, e_dchg = round(chg * 3.6, 6), round(dchg * 3.6, 6)
    return (
        f"{point},{cycle},{step},{kind},{step_time},{total},{amps},{volts},{cap},0,{chg},0,"
        f"{dchg},0,{e_chg or e_dchg},0,{e_chg},0,{e_dchg},0,{date},{amps * volts:.4f},0,0,"
        f"0,1,{t1}"
    )


# hours past 24 in Total Time; Date is Shanghai time (UTC+8): 08:00 there is 00:00 UTC
BTS8_ROWS = (
    bts8_row(1, 1, 1, "Rest", "0:00:00", "0:00:00", 0, 3.5120, 0, 0, "2024-03-31 08:00:00", 24.8),
    bts8_row(
        2, 1, 2, "CC Chg", "0:00:10.500", "0:00:10.500", 2.5, 3.6, 0.0073, 0,
        "2024-03-31 08:00:10.500", 24.9,
    ),
    bts8_row(
        3, 1, 3, "CC DChg", "1:00:00", "25:00:10.500", -2.5, 3.55, 0, 0.0069,
        "2024-04-01 09:00:10.500", 25.1,
    ),
)  # fmt: skip
BTS8_EXPECTED = [
    {
        "recorded_at": START,
        "test_time_second": 0.0,
        "voltage_volt": 3.512,
        "current_ampere": 0.0,
        "cycle_count": 1,
        "record_index": 0,
        "step_id": 1,
        "step_type": "rest",
        "step_time_second": 0.0,
        "charging_capacity_ah": 0.0,
        "temperature_t1_celsius": 24.8,
    },
    {
        "recorded_at": START + 10.5,
        "test_time_second": 10.5,
        "voltage_volt": 3.6,
        "current_ampere": 2.5,
        "cycle_count": 1,
        "record_index": 1,
        "step_id": 2,
        "step_type": "cc_charge",
        "step_time_second": 10.5,
        "charging_capacity_ah": 0.0073,
        "charging_energy_wh": 0.02628,
    },
    {
        "recorded_at": START + 90010.5,
        "test_time_second": 90010.5,
        "voltage_volt": 3.55,
        "current_ampere": -2.5,
        "cycle_count": 1,
        "record_index": 2,
        "step_id": 3,
        "step_type": "cc_discharge",
        "step_time_second": 3600.0,
        "discharging_capacity_ah": 0.0069,
        "discharging_energy_wh": 0.02484,
        "temperature_t1_celsius": 25.1,
    },
]

BTS7_HEADER = (
    "Record ID,Realtime,Time(h:min:s.ms),Step ID,Cycle ID,Current(mA),Voltage(V),"
    "Capacitance_Chg(mAh),Capacitance_DChg(mAh),Engy_Chg(mWh),Engy_DChg(mWh),Temperature(C),"
    "DCIR(O)"
)
# BTS 7 writes its date-times with a leading tab (against spreadsheet reformatting)
BTS7_ROWS = (
    "1,\t2024-03-31 08:00:00,0:00:00.000,1,1,0.0000,3.5120,0.0000,0.0000,0.0000,0.0000,24.8,\t-",
    "2,\t2024-03-31 08:00:10.500,0:00:10.500,2,1,2500.0000,3.6000,7.3000,0.0000,26.2800,0.0000,"
    "24.9,\t-",
    "3,\t2024-04-01 09:00:10.500,1:00:00.000,3,1,-2500.0000,3.5500,0.0000,6.9000,0.0000,"
    "24.8400,25.1,\t-",
)


def source_file(target, path: Path) -> tuple:
    return target.query(
        "SELECT file_format, cycler_software, assumed_time_zone, original_units,"
        " record_index_first, record_index_last FROM source_file WHERE uri = %s",
        [str(path)],
    )[0]


CN_HEADER = (
    "数据序号,循环号,工步号,工步类型,时间,总时间,电流(A),电压(V),容量(Ah),充电容量(Ah),"
    "放电容量(Ah),能量(Wh),充电能量(Wh),放电能量(Wh),绝对时间,功率(W),T1(℃),"
)
# (DataPoint, cycle, step, type, step time, total time, A, V, charge Ah, discharge Ah, date, T1)
SAMPLES = (
    (1, 1, 1, "搁置", "0:00:00", "0:00:00", 0, 3.512, 0, 0, "2024-03-31 08:00:00", 24.8),
    (
        2, 1, 2, "恒流充电", "0:00:10.500", "0:00:10.500", 2.5, 3.6, 0.0073, 0,
        "2024-03-31 08:00:10.500", 24.9,
    ),
    (
        3, 1, 3, "恒流放电", "1:00:00", "25:00:10.500", -2.5, 3.55, 0, 0.0069,
        "2024-04-01 09:00:10.500", 25.1,
    ),
)  # fmt: skip


RECORD_HEADER = BTS8_HEADER.split(",")
CN_RECORD_HEADER = [h for h in CN_HEADER.split(",") if h]


def record_cells(sample, english: bool, date_cells: bool, duration_cells: bool) -> list:
    """One record row as BTSDA writes it into the workbook: numbers as numbers, the times as
    text (or as Excel date-time and [h]:mm:ss cells, which a spreadsheet may have made of
    them)."""
    point, cycle, step, kind, step_time, total, amps, volts, chg, dchg, date, t1 = sample
    if english:
        kind = {"搁置": "Rest", "恒流充电": "CC Chg", "恒流放电": "CC DChg"}[kind]
    when = dt.datetime.fromisoformat(date) if date_cells else date
    if duration_cells:
        h, m, s = total.split(":")
        total = dt.timedelta(hours=int(h), minutes=int(m), seconds=float(s))
    e_chg, e_dchg = round(chg * 3.6, 6), round(dchg * 3.6, 6)
    if english:
        # DataPoint .. Voltage, Capacity, Spec. Cap., Chg. Cap., Chg. Spec. Cap., DChg. Cap.,
        # DChg. Spec. Cap., Energy, Spec. Energy, Chg. Energy, Chg. Spec. Energy, DChg. Energy,
        # DChg. Spec. Energy, Date, Power, dQ/dV, dQm/dV, Contact resistance, switch, T1
        return [
            point, cycle, step, kind, step_time, total, amps, volts, chg or dchg, 0, chg, 0,
            dchg, 0, e_chg or e_dchg, 0, e_chg, 0, e_dchg, 0, when, round(amps * volts, 4),
            0, 0, 0, 1, t1,
        ]  # fmt: skip
    return [
        point, cycle, step, kind, step_time, total, amps, volts, chg or dchg, chg, dchg,
        e_chg or e_dchg, e_chg, e_dchg, when, round(amps * volts, 4), t1,
    ]  # fmt: skip


def workbook(
    path: Path,
    *,
    english: bool = True,
    layout: str = "bts8",
    date_cells: bool = False,
    duration_cells: bool = False,
    rows: list | None = None,
    header: list | None = None,
    record_sheets: tuple[str, ...] | None = None,
) -> Path:
    """A BTSDA workbook: the info sheet, the cycle and step layers, then the record layer."""
    import openpyxl  # the test extra's workbook writer, only for the tests that need it

    book = openpyxl.Workbook()
    info = book.active
    if layout == "bts8":
        info.title = "unit"
        info.append(["Test name", "cell3_RPT"])
        info.append(["Device", "BTS 8000", "Unit 1", "Channel 3"])
        info.append(["Start", "2024-03-31 08:00:00", "", "", "", "End", "2024-04-01 09:00:10"])
        test = book.create_sheet("test")
        test.append(["Step Plan", "RPT 0.5C"])
        names = ("cycle", "step", "record") if record_sheets is None else record_sheets
    else:
        info.title = "Info"
        info.append(["Channel", "67-1-3", "Start Time", "2024-03-31 08:00:00"])
        names = ("Cycle_67_1_3", "Statis_67_1_3", "Detail_67_1_3", "DetailTemp_67_1_3")
        if record_sheets is not None:
            names = record_sheets
    for name in names:
        sheet = book.create_sheet(name)
        lowered = name.lower()
        if lowered.startswith(("record", "detail_")) or name == "记录":
            sheet.append(header or (RECORD_HEADER if english else CN_RECORD_HEADER))
            samples = rows if rows is not None else SAMPLES
            for sample in samples:
                if isinstance(sample, list):
                    sheet.append(sample)
                else:
                    sheet.append(record_cells(sample, english, date_cells, duration_cells))
        elif lowered.startswith("cycle"):
            sheet.append(["Cycle Index", "Chg. Cap.(Ah)", "DChg. Cap.(Ah)", "Chg.-DChg. Eff(%)"])
            sheet.append([1, 0.0073, 0.0069, 94.52])
        elif lowered in ("step", "statis_67_1_3"):
            sheet.append(["Cycle Index", "Step Index", "Step Number", "Step Type", "Step Time"])
            for _, cycle, step, kind, step_time, *_ in SAMPLES:
                sheet.append([cycle, step, step, kind, step_time])
        else:
            sheet.append(["Record ID", "Aux. T1(℃)"])
            sheet.append([1, 24.8])
    book.save(path)
    return path


ARBIN_HEADER = (
    "Data_Point,Date_Time,Test_Time(s),Step_Time(s),Cycle_Index,Step_Index,Current(A),"
    "Voltage(V),Power(W),Charge_Capacity(Ah),Discharge_Capacity(Ah),Charge_Energy(Wh),"
    "Discharge_Energy(Wh),ACR(Ohm),dV/dt(V/s),Internal Resistance(Ohm),dQ/dV(Ah/V),"
    "dV/dQ(V/Ah),Aux_Temperature_1(C)\r\n"
)
ARBIN_ROWS = (
    "1,03/31/2024 01:59:59.500,0.0000,0.0000,1,1,0.000000,3.512000,0.000000,0.000000,"
    "0.000000,0.000000,0.000000,0.0321,0.000000,0.000000,0,0,24.8\r\n"
    "2,03/31/2024 03:00:00.500,1.0000,1.0000,1,2,2.500000,3.600000,9.000000,0.000694,"
    "0.000000,0.002500,0.000000,0.0321,0.000100,0.000000,0,0,24.9\r\n"
    "3,03/31/2024 03:00:10.500,11.0000,0.0000,2,3,-2.500000,3.550000,-8.875000,0.000694,"
    "0.006944,0.002500,0.024653,0.0321,-0.000100,0.000000,0,0,25.1\r\n"
)
