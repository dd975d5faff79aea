"""Generator start-up beside LinkML's: the one-target run, side by side, interleaved.

    python -m bench.startup [--runs N] [--out bench/startup-results.json]

Each round runs every case once, in an order that rotates from round to round, so a busy
machine slows them alike; the medians of N rounds are compared. The cases:
- `sql --target postgres`, answered by the run cache (generator/cache.py): what a user gets
  when schema.yaml, the generator and its libraries are as they were at the last run;
- the same with `--no-cache`: load, validate and render every time (CHECK expressions are
  parsed by PostgreSQL's own parser through pglast.parser and rendered by generator/sqlexpr.py;
  sqlglot, Jinja and jsonschema are not imported: jsonschema only when schema.json compiled to
  Python refuses the file);
- `validate`: load and validate only;
- LinkML's `gen-sqltables` (Python API of the same name) on bench/linkml/battery.linkml.yaml,
  the same 14 tables written by bench/linkml/render.py, `--dialect postgresql`, without its
  index on every column (`--autogenerate_index false`: with it, LinkML stops on an index name
  longer than PostgreSQL's 63 bytes).
Then, unless --no-generator-timing, the warm all-targets `python -m generator sql` (`make sql`
with its outputs up to date) against its 1 s target: the measurement `python -m bench` makes
(bench/system.py generator_timing), kept here too so the performance page has it when the main
run was made with --no-generator-timing.
Every case must exit 0 and write DDL, or the bench fails. Wall time is the figure compared;
the children's CPU time (user + system) is reported beside it, as it is less sensitive to
other work on the machine. PYTHONDONTWRITEBYTECODE is removed from the children's environment
and every case is run once before timing, so both sides run from compiled bytecode (LinkML's
packages are compiled by pip at install; the generator is an editable checkout).

LinkML lives in its own environment, .venv-linkml, made by `make bench` from
bench/linkml/requirements.txt (LinkML 1.12.1 and everything it pulls in, pinned). It would
resolve with the generator's pins, but in the generator's environment its 64 extra packages
slow the generator down: jsonschema imports the optional format checkers it finds (arrow,
isoduration, rfc3987, ...), which took `import jsonschema` from 185 to 245 modules and about
0.21 to 0.31 s of CPU here. The comparison is with the environment `make sql` makes.
Writes bench/startup-results.json; bench/report.py renders it into docs/performance.md
(bench/templates/sections/startup.md.j2).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .files import STARTUP_RESULTS as RESULTS
from .system import _cpu_model, generator_timing, import_rows

ROOT = Path(__file__).resolve().parents[1]
LINKML_VENV = ROOT / ".venv-linkml"
LINKML_PYTHON = LINKML_VENV / "bin" / "python"
GEN_SQLTABLES = LINKML_VENV / "bin" / "gen-sqltables"
RENDITION = ROOT / "bench" / "linkml" / "battery.linkml.yaml"
TARGET_RATIO = 10  # issue 13: at least ten times faster than LinkML, side by side


def _cases(scratch: Path) -> dict[str, dict]:
    ours = [sys.executable, "-m", "generator"]
    out = str(scratch / "out")
    return {
        "ours_cached": {
            "title": "liam-erd-schema sql --target postgres (run cache)",
            "argv": [*ours, "sql", "--target", "postgres", "--out", out],
            "output": scratch / "out" / "sql" / "postgres" / "schema.sql",
            # a run the cache did not answer (something was installed meanwhile) is not this
            "stderr": "from the run cache",
        },
        "ours_cold": {
            "title": "liam-erd-schema sql --target postgres --no-cache",
            "argv": [*ours, "sql", "--target", "postgres", "--quiet", "--no-cache"]
            + ["--out", out],
            "output": scratch / "out" / "sql" / "postgres" / "schema.sql",
        },
        "ours_validate": {
            "title": "liam-erd-schema validate",
            "argv": [*ours, "validate", "--quiet"],
            "output": None,
        },
        "linkml": {
            "title": "LinkML gen-sqltables --dialect postgresql",
            "argv": [
                str(GEN_SQLTABLES),
                str(RENDITION),
                "--dialect",
                "postgresql",
                "--autogenerate_index",
                "false",
            ],
            "stdout": scratch / "linkml.sql",
            "output": scratch / "linkml.sql",
        },
    }


def _environment(scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["LIAM_ERD_SCHEMA_CACHE"] = str(scratch / "cache")  # a cache of the bench's own
    return env


def _run_case(case: dict, env: dict, warm_up: bool = False) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child); a failing case stops the bench."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    stdout = open(case["stdout"], "wb") if case.get("stdout") else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        proc = subprocess.run(
            case["argv"], cwd=ROOT, env=env, stdout=stdout, stderr=subprocess.PIPE, timeout=300
        )
        wall = time.perf_counter() - start
    finally:
        if stdout is not subprocess.DEVNULL:
            stdout.close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise SystemExit(f"bench.startup: {case['title']} failed ({proc.returncode}): {message}")
    if case.get("stderr") and not warm_up and case["stderr"].encode() not in proc.stderr:
        raise SystemExit(
            f"bench.startup: {case['title']}: the run cache did not answer; was a package "
            "installed or the generator edited during the bench? Run it again."
        )
    output = case.get("output")
    if output is not None and b"CREATE TABLE" not in output.read_bytes():
        raise SystemExit(f"bench.startup: {case['title']} wrote no CREATE TABLE to {output}")
    return wall, cpu


def _import_report(argv: list[str], env: dict, top: int) -> dict:
    """`-X importtime` of one run: the total, and the biggest top-level imports."""
    if argv[0] == sys.executable:
        command = [sys.executable, "-X", "importtime", *argv[1:]]
    else:  # LinkML's console script: its file, by its environment's interpreter
        command = [str(LINKML_PYTHON), "-X", "importtime", *argv]
    proc = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    rows = import_rows(proc.stderr)
    first = sorted((r for r in rows if r[1] == 0), reverse=True)
    return {
        "modules": len(rows),
        "total_ms": round(sum(us for us, level, _ in rows if level == 0) / 1000, 1),
        "top": [{"module": n, "cumulative_ms": round(us / 1000, 1)} for us, _, n in first[:top]],
    }


def _linkml_version() -> str:
    proc = subprocess.run(
        [str(LINKML_PYTHON), "-c", "import importlib.metadata as m; print(m.version('linkml'))"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.stdout.strip() or "unknown"


def measure(runs: int = 10, log=print, generator: bool = True) -> dict:
    if not GEN_SQLTABLES.exists():
        raise SystemExit(
            f"bench.startup: {GEN_SQLTABLES} is missing; `make bench` makes .venv-linkml "
            "from bench/linkml/requirements.txt"
        )
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        scratch = Path(tmp)
        cases = _cases(scratch)
        env = _environment(scratch)
        for case in cases.values():  # compile bytecode, fill the run cache
            _run_case(case, env, warm_up=True)
        names = list(cases)
        samples: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in names}
        load_before = os.getloadavg()
        for round_ in range(runs):
            k = round_ % len(names)
            for name in names[k:] + names[:k]:
                wall, cpu = _run_case(cases[name], env)
                samples[name]["wall"].append(wall)
                samples[name]["cpu"].append(cpu)
            log(f"bench.startup: round {round_ + 1}/{runs}")
        load_after = os.getloadavg()
        imports = {
            "ours_cached": _import_report(cases["ours_cached"]["argv"], env, 8),
            "ours_cold": _import_report(cases["ours_cold"]["argv"], env, 8),
            "linkml": _import_report(cases["linkml"]["argv"], env, 8),
        }
        python_alone = [
            _run_case({"title": "python -c pass", "argv": [sys.executable, "-c", "pass"]}, env)[0]
            for _ in range(5)
        ]
    medians = {
        name: {
            "title": cases[name]["title"],
            "wall_median_s": round(statistics.median(s["wall"]), 4),
            "wall_min_s": round(min(s["wall"]), 4),
            "cpu_median_s": round(statistics.median(s["cpu"]), 4),
        }
        for name, s in samples.items()
    }
    linkml = medians["linkml"]

    def ratio(name: str, key: str) -> float:
        return round(linkml[key] / medians[name][key], 1)

    extra = {}
    if generator:  # the warm all-targets run of `make sql`, as `python -m bench` times it
        log("bench.startup: timing `python -m generator sql` (all targets, warm) ...")
        extra["generator"] = generator_timing()
    return {
        "runs": runs,
        "machine": {
            "cpu_model": _cpu_model(),
            "cpu_count": os.cpu_count(),
            "load_average_1min": [round(load_before[0], 2), round(load_after[0], 2)],
        },
        "python": platform.python_version(),
        "linkml": _linkml_version(),
        "python_startup_s": round(statistics.median(python_alone), 4),
        "cases": medians,
        "ratios": {
            name: {"wall": ratio(name, "wall_median_s"), "cpu": ratio(name, "cpu_median_s")}
            for name in ("ours_cached", "ours_cold", "ours_validate")
        },
        "target_ratio": TARGET_RATIO,
        "imports": imports,
        **extra,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.startup",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=10, help="interleaved rounds (default 10)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file")
    parser.add_argument(
        "--no-generator-timing",
        action="store_true",
        help="skip the warm all-targets `python -m generator sql` timing",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    results = measure(
        args.runs, log=lambda m: print(m, file=sys.stderr), generator=not args.no_generator_timing
    )
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for name, case in results["cases"].items():
        ratio = results["ratios"].get(name, {}).get("wall")
        print(
            f"{case['title']:<55} {case['wall_median_s']:.3f} s wall  "
            f"{case['cpu_median_s']:.3f} s CPU" + (f"  LinkML ÷ this ×{ratio}" if ratio else "")
        )
    gen = results.get("generator")
    if gen:
        print(
            f"{'liam-erd-schema sql (all targets, outputs up to date)':<55} "
            f"{gen['warm_median_seconds']:.3f} s wall, median of {gen['warm_runs']} "
            f"(target < {gen['target_seconds']} s)"
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
