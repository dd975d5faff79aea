"""The shape of the document: the JSON Schema of the format (its messages made readable),
layers, enumerations and the workflow."""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from ..model import Enum, EnumValue, Layer, WorkflowStep
from . import Context, one_line, suggest

if TYPE_CHECKING:
    import jsonschema


@cache
def format_schema() -> dict:
    from importlib import resources  # only when the fast check refused the file

    return json.loads(resources.files("generator").joinpath("schema.json").read_text())


@cache
def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(format_schema())


def _passes_fast_check(data: Any) -> bool:
    """schema.json compiled to Python (rules/schema_check.py, fastjsonschema): a valid
    document needs neither jsonschema's import nor its walk. Any refusal, or any doubt, goes
    to jsonschema, which finds every problem and words each one."""
    from . import schema_check

    try:
        schema_check.validate(data)
    except Exception:  # the check decides nothing: jsonschema does
        return False
    return True


def check_structure(ctx: Context) -> bool:
    """Check the document against schema.json; False if anything is off."""
    if _passes_fast_check(ctx.src.data):
        return True
    validator = _validator()
    ok = True
    for err in validator.iter_errors(ctx.src.data):
        ok = False
        if ctx.full:
            ctx.dropped += 1
            continue
        path = tuple(err.absolute_path)
        if len(path) >= 2 and path[0] == "tables":
            ctx.broken_tables.add(str(path[1]))
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = err.schema.get("properties", {})
            for key in err.instance:
                if key not in allowed and ctx.full:
                    ctx.dropped += 1
                elif key not in allowed:
                    ctx.report(
                        "structure.unknown-key",
                        (*path, key),
                        f"unknown key '{key}'",
                        suggest(key, allowed) or f"allowed: {', '.join(allowed)}",
                    )
        elif err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else err.message
            ctx.report("structure.missing-key", path, f"missing required key '{missing}'")
        elif err.validator in ("enum", "const"):
            options = err.validator_value if err.validator == "enum" else [err.validator_value]
            hint = suggest(str(err.instance), options) or "allowed: " + ", ".join(
                str(o) for o in options
            )
            what = "type" if path and path[-1] == "type" else "value"
            ctx.report(
                "structure.unknown-value",
                path,
                f"unknown {what} {_show(err.instance)}",
                hint,
                at_value=True,
            )
        elif err.validator == "type":
            expected = err.validator_value
            if isinstance(expected, list):
                expected = " or ".join(expected)
            ctx.report(
                "structure.type",
                path,
                f"expected {expected}, got {kind(err.instance)}",
                at_value=True,
            )
        else:
            ctx.report("structure.invalid", path, _message(err), at_value=True)
    return ok


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, dict | list) else kind(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(err) -> str:
    """jsonschema's message without echoing a whole (possibly huge) value."""
    if err.validator == "minLength":
        return "must not be empty"
    if err.validator in ("minProperties", "minItems"):
        return "must not be empty"
    if err.validator == "uniqueItems":
        return "an item is listed twice"
    if err.validator == "pattern":
        return f"{_show(err.instance)} does not match the pattern {err.validator_value}"
    return err.message if len(err.message) <= 200 else err.message[:197] + "..."


def kind(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "nothing",
    }.get(type(value), "?")


def build_layers(ctx: Context, data: dict) -> tuple[Layer, ...]:
    layers = tuple(
        Layer(lid, one_line(spec.get("title", lid)), one_line(spec.get("description", "")))
        for lid, spec in (data.get("layers") or {}).items()
        if isinstance(spec, dict)
    )
    ctx.layer_ids = [layer.id for layer in layers]
    return layers


def build_enums(ctx: Context, data: dict) -> tuple[Enum, ...]:
    enums = []
    for name, spec in (data.get("enums") or {}).items():
        if not isinstance(spec, dict):
            continue
        path = ("enums", name)
        values = spec.get("values") or {}
        if not isinstance(values, dict):
            continue
        if not values:
            ctx.report(
                "structure.empty-enum",
                (*path, "values"),
                f"enumeration '{name}' has no values",
                "list at least one value",
            )
        for value in values:
            if value != value.strip() or not value or any(not c.isprintable() for c in value):
                ctx.report(
                    "structure.enum-value",
                    (*path, "values", value),
                    "an enumeration value must be printable text without surrounding spaces",
                )
        enums.append(
            Enum(
                name,
                one_line(spec.get("description", "")),
                tuple(EnumValue(str(v), one_line(d)) for v, d in values.items()),
            )
        )
    ctx.enums = {e.name: e for e in enums}
    return tuple(enums)


def check_layer(ctx: Context, table: str, layer: str) -> None:
    if layer not in ctx.layer_ids:
        ctx.report(
            "structure.unknown-layer",
            ("tables", table, "layer"),
            f"unknown layer '{layer}'",
            suggest(layer, ctx.layer_ids)
            or f"define it under layers: ({', '.join(ctx.layer_ids)})",
            at_value=True,
        )


def build_workflow(ctx: Context, steps) -> tuple[WorkflowStep, ...]:
    out = []
    for i, step in enumerate(steps):
        if not isinstance(step, dict):  # the JSON Schema check has reported it
            continue
        writes = step.get("writes") if isinstance(step.get("writes"), list) else []
        for j, name in enumerate(writes):
            if name not in ctx.raw_tables:
                ctx.report(
                    "structure.workflow-table",
                    ("workflow", i, "writes", j),
                    f"unknown table '{name}'",
                    suggest(name, ctx.raw_tables),
                    at_value=True,
                )
        out.append(
            WorkflowStep(
                # a missing title or description is reported by the JSON Schema check
                one_line(step.get("title", "")),
                one_line(step.get("description", "")),
                tuple(str(name) for name in writes),
            )
        )
    return tuple(out)
