"""The pinned Liam ERD CLI from node_modules. See the package docstring for schema.json."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import NODE_MODULES, SETUP_COMMAND, EngineUnavailable, _kill_group, _require_node_modules


class LiamBuildError(RuntimeError):
    """``liam erd build`` failed, timed out, or wrote no schema.json."""

    def __init__(self, message: str, *, returncode: int | None, stdout: str, stderr: str):
        super().__init__(
            f"{message}\n--- liam stdout ---\n{stdout.strip()}"
            f"\n--- liam stderr ---\n{stderr.strip()}"
        )
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


@dataclass
class LiamCli:
    """The pinned Liam CLI from node_modules."""

    executable: Path
    version: str

    def build(
        self, sql_path: str | os.PathLike, out_dir: str | os.PathLike, timeout: float = 120
    ) -> dict[str, Any]:
        return liam_build(sql_path, out_dir, timeout=timeout, executable=self.executable)


def liam_cli() -> LiamCli:
    """The Liam CLI, or EngineUnavailable saying how to install it."""
    _require_node_modules("liam", ["@liam-hq/cli"])
    executable = NODE_MODULES / ".bin" / "liam"
    if not os.access(executable, os.X_OK):
        raise EngineUnavailable("liam", f"{executable} is missing; run `{SETUP_COMMAND}` (npm ci)")
    meta = json.loads((NODE_MODULES / "@liam-hq" / "cli" / "package.json").read_text())
    return LiamCli(executable=executable, version=meta["version"])


def liam_build(
    sql_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    timeout: float = 120,
    executable: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Run ``liam erd build --format postgres`` and return the parsed schema.json.

    Raises LiamBuildError (with the CLI's stdout and stderr) when the CLI exits
    non-zero, reports a parse error, runs longer than ``timeout`` seconds (a
    last statement without ";" makes it loop forever), or writes no schema.json.
    """
    sql_path = Path(sql_path).resolve()
    out_dir = Path(out_dir).resolve()
    if not sql_path.is_file():
        raise FileNotFoundError(sql_path)
    exe = str(executable) if executable is not None else str(liam_cli().executable)
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        exe,
        "erd",
        "build",
        "--input",
        str(sql_path),
        "--format",
        "postgres",
        "--output-dir",
        str(out_dir),
    ]
    # Plain output, and the same non-interactive mode locally as in CI.
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0", "CI": "true"}
    proc = subprocess.Popen(
        cmd,
        cwd=out_dir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        raise LiamBuildError(
            f"liam erd build timed out after {timeout:.0f} s on {sql_path} "
            "(does the last statement end with ';'?)",
            returncode=None,
            stdout=stdout,
            stderr=stderr,
        ) from None
    finally:
        if proc.poll() is None:
            _kill_group(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.returncode != 0:
        raise LiamBuildError(
            f"liam erd build failed with exit code {proc.returncode} on {sql_path}",
            returncode=proc.returncode,
            stdout=stdout,
            stderr=stderr,
        )
    if "Error during parsing" in stdout + stderr:
        raise LiamBuildError(
            f"liam erd build reported a parse error on {sql_path}",
            returncode=proc.returncode,
            stdout=stdout,
            stderr=stderr,
        )
    schema_file = out_dir / "schema.json"
    if not schema_file.is_file():
        raise LiamBuildError(
            f"liam erd build wrote no {schema_file}",
            returncode=proc.returncode,
            stdout=stdout,
            stderr=stderr,
        )
    return json.loads(schema_file.read_text())
