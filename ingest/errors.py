"""Errors of the loader: each names the file and, where it can, the line and column.

A message may quote the file's own bytes (a header, a value), so it is escaped as the
generator escapes schema problems (generator.errors.printable): a NUL, a terminal escape or a
line separator from a file is written as `\\x00`, `\\x1b`, `\\u2028`, never passed to the
terminal or allowed to forge a second `file:line:` line."""

from __future__ import annotations

from generator.errors import printable


class IngestError(Exception):
    """A file the loader refuses; nothing of it was written."""

    def __init__(
        self, file: str, message: str, *, line: int | None = None, column: str | None = None
    ):
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        where = file if line is None else f"{file}:{line}"
        if column is not None:
            where += f": column '{column}'"
        super().__init__(printable(f"{where}: {message}"))


class UsageError(Exception):
    """The command line or sidecar is wrong (exit code 2)."""


# quality.py's time-gap rule, here so that the command line names its defaults without
# importing pyarrow (quality.py reads them from here)
GAP_MULTIPLE = 10.0  # a gap is longer than this many median sampling intervals...
GAP_MIN_SECONDS = 60.0  # ...and than this
