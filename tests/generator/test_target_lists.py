"""The prose that names the DDL targets (descriptions, help, the home page) names every one of
them: `generator.targets.TARGETS` is the list, these sentences only restate it. A target added
to the registry fails here until each sentence names it."""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from generator.cli import build_parser
from generator.targets import TARGETS
from tests.support.dbkit import ROOT


def _engines() -> list[str]:
    """The engines the prose names: each target's title, except a variant of another
    target's engine (ClickHouse cluster is a ClickHouse target)."""
    titles = [t.title for t in TARGETS.values()]
    return [t for t in titles if not any(o != t and t.startswith(o + " ") for o in titles)]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _sentence(text: str, anchor: str) -> str:
    """The sentence of `text` (whitespace folded) that holds `anchor`."""
    flat = _flat(text)
    at = flat.index(anchor)
    before = flat.rfind(". ", 0, at)
    start = 0 if before < 0 else before + 2
    end = flat.find(". ", at)
    return flat[start : len(flat) if end < 0 else end]


def _makefile_help() -> str:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return re.search(r'^help:.*\n\t@echo "(.*)"$', text, re.M).group(1)


def _readme_layout() -> str:
    """The README's layout line of generator/targets/, by target name (module names)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    line = re.search(r"^  targets/ .*\n(?: {20,}.*\n)*", text, re.M).group(0)
    names = {name.split("-")[0] for name in TARGETS}
    return " ".join(_title(name) for name in sorted(names) if re.search(rf"\b{name}\b", line))


def _title(name: str) -> str:
    return TARGETS[name].title


PROSE = {
    "README.md layout (targets/)": _readme_layout,
    "pyproject.toml [project] description": lambda: tomllib.loads(
        (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    )["project"]["description"],
    "Makefile help": _makefile_help,
    "liam-erd-schema --help": lambda: build_parser().description,
    "generator/schema.json description": lambda: json.loads(
        (ROOT / "generator" / "schema.json").read_text(encoding="utf-8")
    )["description"],
    "mkdocs.yml site_description": lambda: _sentence(
        (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), "compiled to"
    ),
    "docs/index.md": lambda: _sentence(
        (ROOT / "docs" / "index.md").read_text(encoding="utf-8"), "compiled into DDL for"
    ),
}


def test_engines_of_the_registry():
    """The list the prose is checked against: every engine once, ClickHouse among them."""
    engines = _engines()
    assert "ClickHouse" in engines and "ClickHouse cluster" not in engines
    assert len(engines) == len(set(engines))
    assert all(any(t.title.startswith(e) for e in engines) for t in TARGETS.values())


@pytest.mark.parametrize("where", sorted(PROSE))
def test_prose_names_every_target(where):
    text = _flat(PROSE[where]())
    missing = [engine for engine in _engines() if engine not in text]
    assert not missing, f"{where} does not name {', '.join(missing)}: {text!r}"
