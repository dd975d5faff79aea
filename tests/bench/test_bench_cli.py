"""The benchmark's command line: what `python -m bench` accepts before it measures anything."""

from __future__ import annotations

import pytest

from bench import cli


def test_empty_docs_skips_the_page():
    assert cli.parse_args(["--docs", ""]).docs is None


def test_docs_default_is_the_performance_page():
    assert cli.parse_args([]).docs == cli.ROOT / "docs" / "performance.md"


def test_docs_directory_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.parse_args(["--docs", str(tmp_path)])
    assert exc.value.code == 2
    assert "is a directory" in capsys.readouterr().err
