"""The readers' shape: every --format's reader states the one interface (readers.Reader), and no
module of the loader reaches into another's private names (the shared core is ingest/staging.py,
Neware's shared words ingest/readers/neware_vocabulary.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from ingest import readers, staging

INGEST = Path(__file__).resolve().parents[2] / "ingest"


def test_every_format_has_a_reader_of_the_one_interface():
    assert set(readers.FORMATS) == {"bdf", "maccor", "arbin", "neware", "biologic"}
    for name, reader in readers.FORMATS.items():
        assert isinstance(reader, readers.Reader), name
        assert reader.BINARY_FILES <= {"workbook", "neware_binary"}, name
    formats = [r.FILE_FORMAT for r in readers.FORMATS.values()]
    assert len(set(formats)) == len(formats), formats


def test_a_file_without_record_indexes_has_none_to_reread():
    assert staging.FileInfo([], []).record_reader().tolist() == []


def _private_uses(path: Path) -> list[str]:
    """`from .x import _name` and `module._name` where the module is one of ours."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    ours: set[str] = set()  # local names bound to modules of the package
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (
            node.level or (node.module or "").startswith("ingest")
        ):
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"{path.name}:{node.lineno}: imports {alias.name}")
                ours.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ingest"):
                    ours.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ours
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{path.name}:{node.lineno}: uses {node.value.id}.{node.attr}")
    return found


def test_no_module_of_the_loader_uses_another_modules_private_names():
    files = sorted(INGEST.rglob("*.py"))
    assert len(files) > 10  # the scan saw the package
    found = [use for path in files for use in _private_uses(path)]
    assert not found, found


def test_the_scan_sees_a_private_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from . import bdf\nfrom .text import _no_nulls\nbdf._normalise\n")
    assert len(_private_uses(sample)) == 2
