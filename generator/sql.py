"""Render every DDL target from the model: {relative path: text}."""

from __future__ import annotations

from .model import Schema
from .targets import TARGETS


def render(schema: Schema, targets: list[str] | None = None) -> dict[str, str]:
    chosen = targets or list(TARGETS)
    return {TARGETS[name].path: TARGETS[name].render(schema) for name in chosen}
