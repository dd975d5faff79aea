"""The export room's one error: a message the user sees (the option, file, row or column it
is about, and a hint) and the exit code it ends the command with (README's table)."""

from __future__ import annotations

# exit codes of python -m export and python -m predictions (README: the exit-code tables)
REFUSED, USAGE, LEAK, BAD_FILE = 1, 2, 3, 4


class ExportError(Exception):
    def __init__(self, message: str, code: int = REFUSED):
        super().__init__(message)
        self.code = code
