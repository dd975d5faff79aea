"""Readers by file format: `bdf` (the loader's own columnar BDF CSV reader, ingest/bdf.py) and
the vendor formats, each read by the field's own library (Maccor) or by a map of the
vendor's column names onto the loader's own pyarrow CSV reader (Arbin, Neware, BioLogic:
ingest/readers/text.py for the last two), and handed to the same normalisation
(ingest/staging.py `normalise`): SI units, charge-positive current, absolute time in UTC,
record indexes the loader continues across a session's files.

A reader is a module that satisfies `Reader`; `FORMATS` is the one place a format is chosen by
name.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..staging import Chunks, FileInfo, HashingReader, ReadOptions


@runtime_checkable
class Reader(Protocol):
    """A file format's reader (a module: ingest/bdf.py, ingest/readers/<vendor>.py)."""

    # source_file.file_format of the format's usual file (FileInfo.file_format names another)
    FILE_FORMAT: str
    # the binary files it opens itself besides its text (sniff.WORKBOOK, sniff.NEWARE_BINARY):
    # any other is refused before it is read, naming what it looks like (sniff.workbook)
    BINARY_FILES: frozenset[str]

    def read(
        self, path: Path, options: ReadOptions, source: HashingReader | None = None
    ) -> tuple[FileInfo, Chunks]:
        """The file's facts now (its header parsed: errors early), then its chunks, each
        normalised by staging.normalise. `options` is the loader's object: it sets
        `started_at` on it before the first chunk is asked for. `source`, when given, is the
        loader's hashing stream of the file; a reader that reads the file by its path leaves it
        unread (it hashes the file when asked)."""
        ...


class _Formats(Mapping[str, Reader]):
    """--format name -> its reader module, imported when first asked for: a load imports the
    one reader it uses (and its libraries: pyarrow, python-calamine, NewareNDA), `--help` and
    a refused option none (the loader's start-up, issue 22 item 9)."""

    # relative to this package, so the names hold in the wheel too (liam_erd_schema.ingest)
    MODULES = {
        "bdf": "..bdf",
        "maccor": ".maccor",
        "arbin": ".arbin",
        "neware": ".neware",
        "biologic": ".biologic",
    }

    def __getitem__(self, name: str) -> Reader:
        # KeyError: not a format
        return importlib.import_module(self.MODULES[name], __package__)

    def __iter__(self) -> Iterator[str]:
        return iter(self.MODULES)

    def __len__(self) -> int:
        return len(self.MODULES)


# --format name -> its reader
FORMATS: Mapping[str, Reader] = _Formats()
