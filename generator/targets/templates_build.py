"""Write generator/targets/templates_compiled/: the DDL templates compiled to Python by Jinja.

    python -m generator.targets.templates_build

Jinja compiles a template to Python source on first use, which cost a cold `sql` run about
60 ms for two small files. `Environment.compile_templates` writes that same Python once, and
`jinja2.ModuleLoader` imports it (from bytecode after the first run). The compiled modules are
committed; a test (tests/test_startup.py) checks they are what this module writes from the
.j2 sources today. At run time `targets.base.templates` also compares each source's SHA-256
with the one recorded here (SOURCES): after an edit of a .j2 file without a rebuild it falls
back to compiling the sources, so the output is never that of a stale template.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE_DIR = HERE.parent / "templates"
OUT = HERE / "templates_compiled"
MANIFEST = OUT / "SOURCES"  # "<sha256>  <template name>" per line
NAMES = ("create_table.sql.j2", "schema.sql.j2")
# The Environment's options that change the compiled code; targets.base.templates uses them.
OPTIONS = dict(keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False)


def digest(name: str) -> str:
    return hashlib.sha256((SOURCE_DIR / name).read_bytes()).hexdigest()


def manifest() -> str:
    return "".join(f"{digest(name)}  {name}\n" for name in NAMES)


def compiled() -> dict[str, str]:
    """{file name: Python source} of every template, as Jinja compiles it."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(SOURCE_DIR), **OPTIONS)
    out = {}
    for name in NAMES:
        source = (SOURCE_DIR / name).read_text(encoding="utf-8")
        code = env.compile(source, name, name, raw=True, defer_init=True)
        out[jinja2.ModuleLoader.get_module_filename(name)] = code
    return out


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for stale in OUT.glob("tmpl_*.py"):
        stale.unlink()
    for file, code in compiled().items():
        (OUT / file).write_text(code, encoding="utf-8")
    MANIFEST.write_text(manifest(), encoding="utf-8")
    print(f"wrote {OUT.relative_to(HERE.parents[1])}/")


if __name__ == "__main__":
    main()
