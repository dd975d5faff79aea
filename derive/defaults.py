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
# label_soh.soh's upper bound in the schema: a full cycle that discharges more than this times
# the reference capacity is left out of the SOH labels (several discharges under one cycle
# count, or a reference far too small), counted in the session's line
SOH_MAX = 3.0


def soh_bound(above: tuple, reference: float, several) -> tuple[float, int]:
    """(the largest discharge a full cycle may have to get an SOH label, the full cycles left
    out for discharging more). SOH_MAX x the reference, the cycles above it left out and
    counted; but when every full cycle is above it and one of them holds a single discharge,
    no bound, so that the database's CHECK refuses the labels: then the reference is what is
    wrong. `above`: (full cycles, those above SOH_MAX x the reference), sql.SOH_ABOVE's row;
    `several()`: how many of those hold more than one discharge (sql.SOH_SEVERAL_DISCHARGES),
    asked only then."""
    full, over = int(above[0] or 0), int(above[1] or 0)
    if over and over == full and several() < over:
        return 1e300, 0  # no bound (finite: every engine binds it)
    return SOH_MAX * reference, over


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
