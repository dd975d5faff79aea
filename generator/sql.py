"""Render every DDL target from the model: {relative path: text}."""

from __future__ import annotations

from .model import Schema
from .targets import TARGETS


def render(
    schema: Schema, targets: list[str] | None = None, *, self_check: bool = True
) -> dict[str, str]:
    chosen = targets or list(TARGETS)
    return {
        TARGETS[name].path: TARGETS[name].render(schema, self_check=self_check) for name in chosen
    }
