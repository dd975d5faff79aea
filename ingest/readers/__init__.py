"""Readers by file format: `bdf` (the loader's own columnar BDF CSV reader, ingest/bdf.py) and
the vendor formats, each read by the field's own library (Maccor) or by a map of the
vendor's column names onto the loader's own pyarrow CSV reader (Arbin, Neware, BioLogic:
ingest/readers/text.py for the last two), and handed to the same
normalisation as BDF (ingest/bdf.py `_normalise`): SI units, charge-positive current, absolute
time in UTC, record indexes the loader continues across a session's files.

A reader is a function `read(path, options) -> (FileInfo, chunks)` with the contract of
`bdf.read`; `FORMATS` is the one place a format is chosen by name.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import bdf
from . import arbin, biologic, maccor, neware

# --format name -> (reader, source_file.file_format)
FORMATS: dict[str, tuple[Callable, str]] = {
    "bdf": (bdf.read, "bdf_csv"),
    "maccor": (maccor.read, maccor.FILE_FORMAT),
    "arbin": (arbin.read, arbin.FILE_FORMAT),
    "neware": (neware.read, neware.FILE_FORMAT),
    "biologic": (biologic.read, biologic.FILE_FORMAT),
}


def reader(name: str) -> Callable:
    return FORMATS[name][0]


def file_format(name: str) -> str:
    return FORMATS[name][1]
