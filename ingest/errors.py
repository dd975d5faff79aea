"""Errors of the loader: each names the file and, where it can, the line and column."""

from __future__ import annotations


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
        super().__init__(f"{where}: {message}")


class UsageError(Exception):
    """The command line or sidecar is wrong (exit code 2)."""
