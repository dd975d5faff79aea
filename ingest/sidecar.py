"""The sidecar (`--sidecar FILE`): the cell and session a first file creates, checked against
the schema before anything is written, so a mistake in it is named there (file, key, what is
wrong, a hint) with exit code 2, not reported later as the database refusing the load.

Checked: the document is `{"cell": {...}, "session": {...}}` (no other keys); every key is a
column of battery_cell or test_session (a close name is suggested); values have the column's
type (a finite number for numeric columns, an integer for integer ones, text, true/false, an
ISO 8601 timestamp with a UTC offset for timestamps); enum values are among the enum's; a
column's declared range holds; every required column is given (test_session.cell_id comes
from "cell" when the sidecar has one). The table CHECKs that tie two columns together are left
to the database, which names the constraint."""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
from pathlib import Path
from typing import Any

from .errors import UsageError

TABLES = {"cell": "battery_cell", "session": "test_session"}


def read(path: Path) -> dict[str, Any]:
    """The sidecar at `path`, checked; UsageError (exit 2) naming the key otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read the sidecar: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: the sidecar must be a JSON object")
    check(path, data)
    return data


def check(path: Path | str, data: dict[str, Any]) -> None:
    def fail(where: str, message: str, hint: str | None = None) -> None:
        raise UsageError(f"{path}: {where}: {message}" + (f" ({hint})" if hint else ""))

    unknown = [k for k in data if k not in TABLES]
    if unknown:
        fail(
            repr(unknown[0]),
            "not a sidecar key",
            'a sidecar is {"cell": {...battery_cell columns}, "session": {...test_session '
            "columns}}" + _near(unknown[0], TABLES),
        )
    if not isinstance(data.get("session"), dict) or not data["session"]:
        fail("session", "the sidecar has no 'session' object", "the test_session to create")
    if "cell" in data and not isinstance(data["cell"], dict):
        fail("cell", "must be an object of battery_cell columns")
    from .quality import model

    schema = model()
    enums = schema.enum_map
    for key, table_name in TABLES.items():
        if key not in data:
            continue
        table = schema.table(table_name)
        columns = {c.name: c for c in table.columns}
        row = data[key]
        for name, value in row.items():
            where = f"{key}.{name}"
            column = columns.get(name)
            if column is None:
                fail(
                    where,
                    f"{table_name} has no column {name!r}",
                    _near(name, columns).lstrip("; ") or None,
                )
            if value is None:
                continue
            problem = _type_problem(column, value, enums)
            if problem:
                fail(where, f"{_shown(value)} {problem}")
        given = set(row) | ({"cell_id"} if key == "session" and "cell" in data else set())
        if key == "session":
            given.add("started_at")  # else the first file's first absolute time (ingest/load.py)
        missing = [
            c.name
            for c in table.columns
            if not c.nullable and not c.identity and c.default is None and c.name not in given
        ]
        if missing:
            fail(key, f"missing required {table_name} column(s): {', '.join(missing)}")


def _type_problem(column, value: Any, enums) -> str | None:
    from generator.model import FLOAT_TYPES, INTEGER_TYPES

    kind = column.type
    if kind in INTEGER_TYPES or kind in FLOAT_TYPES:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"is not a number ({kind})"
        if not math.isfinite(value):
            return "is not a finite number"
        if kind in INTEGER_TYPES and not float(value).is_integer():
            return f"is not an integer ({kind})"
        rng = column.range
        if rng is not None:
            low = rng.min is not None and (
                value <= rng.min if rng.min_exclusive else value < rng.min
            )
            high = rng.max is not None and (
                value >= rng.max if rng.max_exclusive else value > rng.max
            )
            if low or high:
                return f"is outside the column's range {rng.describe()}"
        return None
    if kind == "boolean":
        return None if isinstance(value, bool) else "is not true or false"
    if kind == "timestamptz":
        if not isinstance(value, str):
            return "is not a timestamp (ISO 8601 text, e.g. 2024-03-31T00:00:00Z)"
        try:
            stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return "is not an ISO 8601 timestamp (e.g. 2024-03-31T00:00:00Z)"
        if stamp.tzinfo is None:
            return "has no UTC offset (e.g. 2024-03-31T00:00:00Z or +01:00)"
        return None
    if kind == "json":
        return None
    if not isinstance(value, str):
        return f"is not text ({kind})"
    if column.enum:
        names = enums[column.enum].names
        if value not in names:
            return f"is not a {column.enum} value ({', '.join(names)}){_near(value, names)}"
    return None


def _near(word: str, options) -> str:
    match = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
