"""The room's comparison of one engine's results with another's: lists, tuples and dicts
element by element, numbers within the tolerance of stored reals (tests/derive/sessions.py)."""

from __future__ import annotations

from tests.derive.sessions import close


def same(a, b) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return close(a, b)
