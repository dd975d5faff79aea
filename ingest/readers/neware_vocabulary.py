"""What Neware's readers share: the words BTS writes, whatever the file (a CSV or .xlsx export,
ingest/readers/neware.py; a binary .nda/.ndax, neware_binary.py): the cycler's name, its step
types and what they mean in the schema, the check that discharge current is negative, the
names of a workbook's record sheet. Below both readers, so that neither imports the other.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import IngestError
from ..staging import per_distinct

CYCLER = "Neware BTS"

# Neware's step types (as BTS writes them, lower case) -> the schema's step_type values;
# any other label is `other` (the label is the cycler's; the enum is the schema's)
STEP_TYPES = {
    "rest": "rest",
    "cc chg": "cc_charge",
    "cv chg": "cv_charge",
    "cccv chg": "cccv_charge",
    "cc dchg": "cc_discharge",
    "cv dchg": "cv_discharge",
    "cp dchg": "cp_discharge",
    "pulse": "pulse",
    "sim": "dynamic",
    "simu": "dynamic",
    "simulation": "dynamic",
    # as BTS writes them on a Chinese-locale PC (the same steps, by their Chinese names)
    "搁置": "rest",
    "静置": "rest",
    "恒流充电": "cc_charge",
    "恒压充电": "cv_charge",
    "恒流恒压充电": "cccv_charge",
    "恒流放电": "cc_discharge",
    "恒压放电": "cv_discharge",
    "恒功率放电": "cp_discharge",
    "脉冲": "pulse",
    "脉冲工步": "pulse",
    "模拟工况": "dynamic",
    "工况模拟": "dynamic",
}
_STEP_KEYS = pa.array(list(STEP_TYPES))
_STEP_VALUES = pa.array(list(STEP_TYPES.values()))


def step_types(labels: pa.Array, encoded: bool = False) -> pa.Array:
    """`CC Chg` (or BTS 7's `CC_Chg`) -> cc_charge, `恒流恒压充电` -> cccv_charge, `Rest`/`搁置`
    -> rest, other labels -> other; no label stays NULL. Per distinct label (staging.
    per_distinct: `labels` may be dictionary-encoded, and with `encoded` the result is)."""
    return per_distinct(_step_types, labels, encoded)


def _step_types(labels: pa.Array) -> pa.Array:
    key = pc.utf8_lower(pc.replace_substring_regex(pc.utf8_trim_whitespace(labels), r"[\s_]+", " "))
    found = pc.take(_STEP_VALUES, pc.index_in(key, value_set=_STEP_KEYS))
    return pc.if_else(pc.is_null(labels), labels, pc.fill_null(found, "other"))


def check_sign(file: str, out: dict, line: int, by_quantity: dict) -> None:
    """BTS writes discharge current negative; a positive current on a discharge step means an
    export that does not (unsigned magnitudes), which would load discharge as charge. A
    discharge step is `... DChg` in English, `...放电` in Chinese."""
    discharging = pc.fill_null(per_distinct(_discharging, out["step_type"]), False)
    wrong = pc.and_(discharging, pc.fill_null(pc.greater(out["current"], 0), False))
    if pc.any(wrong).as_py():
        i = pc.index(wrong, True).as_py()
        raise IngestError(
            file,
            f"the current is positive on a discharge step ('{out['step_type'][i].as_py()}'): "
            "BTS writes discharge negative, and this export does not, so discharge would load "
            "as charge (export the signed current)",
            line=line + i,
            column=by_quantity["current"].header,
        )


def _discharging(labels: pa.Array) -> pa.Array:
    return pc.match_substring_regex(pc.utf8_lower(labels), "dchg|放电")


# BTS 8.x names its record sheet `record` (`记录` in Chinese), BTS 7.x `Detail_<device>_<unit>
# _<channel>` beside `DetailVol_...`/`DetailTemp_...` (auxiliary channels, not records)
_RECORD_SHEET = re.compile(r"^(record|记录|detail)([ _].*)?$", re.IGNORECASE)


def is_record_sheet(name: str) -> bool:
    return bool(_RECORD_SHEET.match(name.strip()))
