"""The defaults and the settings check of the derivations computed in Python with numpy
(derive/steps.py, life.py, ocv.py), in a module without numpy: derive/run.py and cli.py import
them, and the SQL derivations on SQLite need nothing beyond Python (numpy comes with the
`derive` and `ingest` extras; without it `steps`, `life` and `ocv` are skipped, saying so)."""

from __future__ import annotations

from typing import Any

from .errors import DeriveError

RELAXATION_TIMES = (10.0, 300.0)  # s after the current stops: rest voltages t1, t2
EOL_THRESHOLD_SOH = 0.8  # end of life: the first cycle with SOH below it
OCV_MIN_REST_SECOND = 600.0  # a rest is an OCV point after this long
NO_NUMPY = "numpy is not installed: pip install 'liam-erd-schema[derive]'"


def check(s: Any) -> None:
    """Usage problems of the Python derivations' settings (DeriveError)."""
    t1, t2 = s.relaxation_times
    if not 0 < t1 < t2:
        raise DeriveError(f"relaxation times {t1:g} s, {t2:g} s: need 0 < t1 < t2")
    if not 0 < s.eol_threshold_soh <= 3:
        raise DeriveError(f"EOL threshold {s.eol_threshold_soh:g}: must be in (0, 3]")
    if not s.ocv_min_rest_second > 0:
        raise DeriveError(f"OCV minimum rest {s.ocv_min_rest_second:g} s: must be > 0")
