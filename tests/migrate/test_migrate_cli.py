"""`liam-erd-schema migrate`: files written where dbmate expects them, and exit codes that
mean something (refusal, version not raised, unknown previous version, nothing to do)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from generator.cli import main
from tests.support.dbkit import ROOT

# schema version 1, frozen: these cases edit it into a version 2 of their own
BASE = (ROOT / "tests" / "fixtures" / "schema_v1.yaml").read_text(encoding="utf-8")


def write_versions(tmp: Path, edit) -> tuple[Path, Path]:
    old = tmp / "v1.yaml"
    new = tmp / "schema.yaml"
    old.write_text(BASE)
    new.write_text(edit(BASE.replace("format_version: 1\n", "format_version: 1\nversion: 2\n")))
    return old, new


def add_bms(text: str) -> str:
    anchor = "      simulator: Ground truth from a simulator that generated the data.\n"
    assert anchor in text
    return text.replace(anchor, anchor + "      bms: Reported by the battery management system.\n")


def drop_pack_notes(text: str) -> str:
    anchor = (
        "      notes:\n        type: text\n        nullable: true\n"
        "        description: Free text, e.g. the chemistry when it is OTHER.\n"
    )
    assert anchor in text
    return text.replace(anchor, "", 1)


def run(tmp: Path, new: Path, *args: str) -> int:
    return main(["migrate", str(new), "--out", str(tmp / "out"), "-q", *args])


def written(tmp: Path) -> list[str]:
    return sorted(str(p.relative_to(tmp / "out")) for p in (tmp / "out").rglob("*.sql"))


def test_writes_one_file_per_engine_and_a_validate_step_with_two_step(tmp_path):
    old, new = write_versions(tmp_path, add_bms)
    assert run(tmp_path, new, "--from", str(old), "--name", "add_bms_soc") == 0
    assert written(tmp_path) == [
        "sql/clickhouse/migrations-cluster/000200_add_bms_soc.sql",
        "sql/clickhouse/migrations/000200_add_bms_soc.sql",
        "sql/postgres/migrations/000200_add_bms_soc.sql",
        "sql/sqlite/migrations/000200_add_bms_soc.sql",
        "sql/timescaledb/migrations/000200_add_bms_soc.sql",
    ]
    text = (tmp_path / "out" / "sql/postgres/migrations/000200_add_bms_soc.sql").read_text()
    assert "schema version 1 to 2" in text and "-- migrate:down" in text
    assert "NOT VALID" not in text and "(validated in this transaction)" in text
    assert run(tmp_path, new, "--from", str(old), "--name", "add_bms_soc", "--two-step") == 0
    assert written(tmp_path) == [
        "sql/clickhouse/migrations-cluster/000200_add_bms_soc.sql",
        "sql/clickhouse/migrations/000200_add_bms_soc.sql",
        "sql/postgres/migrations/000200_add_bms_soc.sql",
        "sql/postgres/migrations/000201_add_bms_soc_validate.sql",
        "sql/sqlite/migrations/000200_add_bms_soc.sql",
        "sql/timescaledb/migrations/000200_add_bms_soc.sql",
        "sql/timescaledb/migrations/000201_add_bms_soc_validate.sql",
    ]
    step1 = (tmp_path / "out" / "sql/postgres/migrations/000200_add_bms_soc.sql").read_text()
    assert "NOT VALID" in step1
    # back to one step: the validate files of the same version go
    assert run(tmp_path, new, "--from", str(old), "--name", "add_bms_soc") == 0
    assert len(written(tmp_path)) == 5


def test_one_file_per_version_a_new_name_replaces_the_old_file(tmp_path, capsys):
    old, new = write_versions(tmp_path, add_bms)
    assert run(tmp_path, new, "--from", str(old), "--name", "first_try", "--two-step") == 0
    other = tmp_path / "out/sql/sqlite/migrations/000100_older.sql"
    other.write_text("-- an earlier version: kept\n")
    args = ["migrate", str(new), "--out", str(tmp_path / "out"), "--from", str(old)]
    assert main([*args, "--name", "add_bms_soc"]) == 0
    assert written(tmp_path) == [
        "sql/clickhouse/migrations-cluster/000200_add_bms_soc.sql",
        "sql/clickhouse/migrations/000200_add_bms_soc.sql",
        "sql/postgres/migrations/000200_add_bms_soc.sql",
        "sql/sqlite/migrations/000100_older.sql",
        "sql/sqlite/migrations/000200_add_bms_soc.sql",
        "sql/timescaledb/migrations/000200_add_bms_soc.sql",
    ]
    err = capsys.readouterr().err
    assert "removed sql/sqlite/migrations/000200_first_try.sql" in err
    assert "removed sql/postgres/migrations/000201_first_try_validate.sql" in err
    assert "removed sql/clickhouse/migrations/000200_first_try.sql" in err


def test_destructive_change_is_refused_without_the_flag(tmp_path, capsys):
    old, new = write_versions(tmp_path, drop_pack_notes)
    assert run(tmp_path, new, "--from", str(old), "--name", "drop_notes") == 6
    err = capsys.readouterr().err
    assert "refused" in err and "battery_pack.notes" in err and "SELECT count(*)" in err
    assert err.startswith(f"{new}: refused")
    assert not (tmp_path / "out").exists()
    flag = "--allow-destructive"
    assert run(tmp_path, new, "--from", str(old), "--name", "drop_notes", flag) == 0
    text = (tmp_path / "out/sql/postgres/migrations/000200_drop_notes.sql").read_text()
    assert "[destructive] drop column battery_pack.notes" in text
    down = text.split("-- migrate:down", 1)[1]
    assert "RAISE EXCEPTION" in down and "cannot be rolled back" in down
    assert "drop column battery_pack.notes" in down


def test_version_must_be_raised(tmp_path, capsys):
    old, new = write_versions(tmp_path, add_bms)
    other = tmp_path / "edited.yaml"
    other.write_text(add_bms(BASE))
    assert run(tmp_path, other, "--from", str(old), "--name", "x") == 7
    err = capsys.readouterr().err
    assert "set `version: 2`" in err and f"{other}: version is 1" in err
    assert "schema.yaml" not in err
    assert not (tmp_path / "out").exists()


def test_migrate_help_lists_the_exit_codes(capsys):
    import pytest

    from generator.cli import EXIT_CODES

    with pytest.raises(SystemExit):
        main(["migrate", "--help"])
    out = capsys.readouterr().out
    assert "--two-step" in out
    for code, text in EXIT_CODES.items():
        assert f"  {code}  {text}" in out


def test_no_change_writes_nothing(tmp_path, capsys):
    old = tmp_path / "v1.yaml"
    old.write_text(BASE)
    assert (
        main(["migrate", str(old), "--from", str(old), "--name", "x", "--out", str(tmp_path)]) == 0
    )
    assert "nothing to migrate" in capsys.readouterr().err


def test_unknown_previous_version_is_a_usage_error(tmp_path, capsys):
    _, new = write_versions(tmp_path, add_bms)
    assert run(tmp_path, new, "--from", "no-such-ref-or-file", "--name", "x") == 2
    assert "neither a file nor a git revision" in capsys.readouterr().err


def test_previous_version_from_git(tmp_path):
    """--from HEAD reads schema.yaml as committed, next to the schema given."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "schema.yaml").write_text(BASE)
    subprocess.run([*git, "add", "schema.yaml"], check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], check=True)
    (repo / "schema.yaml").write_text(
        add_bms(BASE.replace("format_version: 1\n", "format_version: 1\nversion: 2\n"))
    )
    args = ["migrate", str(repo / "schema.yaml"), "--from", "HEAD", "--name", "add_bms_soc"]
    assert main([*args, "--out", str(repo), "-q", "--target", "sqlite"]) == 0
    assert (repo / "sql/sqlite/migrations/000200_add_bms_soc.sql").exists()
    assert not (repo / "sql/postgres").exists()


def test_a_hint_naming_a_live_column_is_a_located_error(tmp_path, capsys):
    anchor = "      notes:\n        type: text\n        nullable: true\n"
    bad = BASE.replace(anchor, anchor + "        renamed_from: model_name\n", 1)
    path = tmp_path / "schema.yaml"
    path.write_text(bad)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "tables.battery_pack.columns.notes.renamed_from" in err
    assert "still exists" in err and f"{path}:" in err


def test_a_renamed_enum_value_must_exist(tmp_path, capsys):
    anchor = "  form_factor:\n    description: Mechanical format of a cell.\n"
    bad = BASE.replace(anchor, anchor + "    renamed_values: {tube: cylindrical}\n", 1)
    path = tmp_path / "schema.yaml"
    path.write_text(bad)
    assert main(["validate", str(path)]) == 1
    assert "renamed value 'tube' is not a value of enumeration 'form_factor'" in (
        capsys.readouterr().err
    )


def test_summary_prints_the_plan_as_markdown(tmp_path, capsys):
    """The pull-request job's step (scripts/ci-migration-summary.sh on main) runs this shape."""
    old, new = write_versions(tmp_path, add_bms)
    args = ["migrate", "--from", str(old), str(new), "--out", str(tmp_path / "m"), "--summary"]
    assert main([*args, "-q"]) == 0
    out = capsys.readouterr().out
    assert "Schema version 1 -> 2" in out and "| safe | add check" in out
    assert "<summary><code>sql/postgres/migrations/000200_schema_v2.sql</code>" in out
    _, dropped = write_versions(tmp_path, drop_pack_notes)
    assert main(["migrate", "--from", str(old), str(dropped), "--summary", "-q"]) == 6
    out = capsys.readouterr().out
    assert "| destructive | drop column battery_pack.notes |" in out
    assert "No files were written" in out
