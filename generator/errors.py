"""The generator's errors: problems found in schema.yaml, reported as
`file:line:col: path: message (hint)`, and a tool the generator needs failing (`ToolError`).

Everything a problem echoes (the file name, the schema path, the message and the hint) may hold
text from schema.yaml, so `Problem.__str__` is the one place it is escaped: a newline, a control
character, a terminal escape sequence or a Unicode line/format character is written as a
Python-style escape (`\\n`, `\\x1b`, `\\u202e`), so a report line can never be split into a
forged `file:line:col:` line or drive the terminal.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache


@lru_cache(maxsize=4096)
def _needs_escape(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def printable(text: str) -> str:
    """`text` with every control, format or line-separator character escaped."""
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif _needs_escape(char):
            code = ord(char)
            if char == "\n":
                out.append("\\n")
            elif char == "\t":
                out.append("\\t")
            elif char == "\r":
                out.append("\\r")
            elif code <= 0xFF:
                out.append(f"\\x{code:02x}")
            elif code <= 0xFFFF:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str | None = None
    # The rule that found it (e.g. "names.reserved"): every error site has its own code, so a
    # test can list the sites and demand a bad-input case for each. Not printed.
    code: str = field(default="", compare=False)

    def __str__(self) -> str:
        text = (
            f"{printable(self.file)}:{self.line}:{self.column}: "
            f"{printable(self.path)}: {printable(self.message)}"
        )
        return f"{text} ({printable(self.hint)})" if self.hint else text


class SchemaError(Exception):
    """One or more problems; raised before any output is written."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ToolError(RuntimeError):
    """A tool the generator needs is missing or failed (e.g. Graphviz's dot)."""


class UnreadableSchema(SchemaError):
    """The schema file cannot be read at all (missing, a directory, no permission): not a
    problem of its content, so the command line reports it as a usage error on one line."""

    def __init__(self, file: str, reason: str):
        self.file, self.reason = file, reason
        super().__init__(
            [Problem(file, 1, 1, "<file>", f"cannot read: {reason}", code="load.read")]
        )

    def line(self) -> str:
        return f"{printable(self.file)}: cannot read: {printable(self.reason)}"
