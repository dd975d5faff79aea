"""Write the oracle tests' input, the curve tests' aging session (tests/derive/curve_sessions.py),
as the BDF CSV the tests load, to the path given: the file the peers read
(scripts/oracles/make_references.sh). Run with the project's .venv."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.derive.oracle_data import session_csv  # noqa: E402

Path(sys.argv[1]).write_text(session_csv())
