"""The demo room: a database built from the simulated cycler files shipped under data/demo/
with the loader (ingest) and the derivations (derive), and the docs page's plots drawn from it.
`python -m demo [--db URL]` (`make demo`) builds it; docs_hooks.py builds one in a temporary
directory and draws docs/demo.md's and docs/modelling.md's pictures (demo/plots.py). The build
ends with the baseline models (demo/model.py: export, fit, predictions in). It builds on
ingest, derive, export, predictions and generator; none of them imports it."""

from .database import AGING, DATA, DEFAULT_DB, SESSIONS, Built, DemoSession, build, sqlite_url

__all__ = ["AGING", "DATA", "DEFAULT_DB", "SESSIONS", "Built", "DemoSession", "build", "sqlite_url"]
