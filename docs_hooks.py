"""MkDocs hook: publish the committed DDL files as the site's downloads.

The downloads page links to downloads/<target>.sql; those files are sql/<target>/schema.sql
as generated and committed, added to the site here rather than copied into docs/.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

from generator.targets import TARGETS

ROOT = Path(__file__).resolve().parent


def on_files(files, config):
    for name, target in TARGETS.items():
        files.append(
            File.generated(config, f"downloads/{name}.sql", abs_src_path=str(ROOT / target.path))
        )
    return files
