"""MkDocs hooks: publish the committed DDL files as the site's downloads, and draw the demo
page's plots.

The downloads page links to downloads/<target>.sql; those files are sql/<target>/schema.sql
as generated and committed, added to the site here rather than copied into docs/.

The demo page (docs/demo.md), From data to model (docs/modelling.md, the demo's baseline
model: demo/model.py) and Features and labels (docs/features.md) show demo-plots/*.svg:
drawn here, at build time, from a demo database built from data/demo/ in a temporary directory
(demo/: demo.build, demo.plots), so no generated picture is committed and the plots always
show what the loader and the derivations make of the shipped files today.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

from generator.targets import TARGETS

ROOT = Path(__file__).resolve().parent
PLOTS_DIR = "demo-plots"


def on_files(files, config):
    for name, target in TARGETS.items():
        files.append(
            File.generated(config, f"downloads/{name}.sql", abs_src_path=str(ROOT / target.path))
        )
    for name, svg in demo_plots().items():
        files.append(File.generated(config, f"{PLOTS_DIR}/{name}", content=svg))
    return files


def demo_plots() -> dict[str, str]:
    """The demo page's SVGs, from a throwaway demo database (the BDF sessions only: the vendor
    reader's library is not a docs dependency)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # demo/, ingest/ and derive/ are rooms of the checkout
    try:
        import demo
        from demo import plots

        with tempfile.TemporaryDirectory(prefix="demo-plots-") as tmp:
            url = demo.sqlite_url(Path(tmp) / "demo.sqlite")
            demo.build(url, vendor=False)
            # the demo page's, the model page's (docs/modelling.md: demo/model.py's run) and
            # the features page's (docs/features.md: the curves and step features derived)
            return {
                **plots.draw(url),
                **plots.draw(url, plots.MODEL_PLOTS),
                **plots.draw(url, plots.FEATURE_PLOTS),
            }
    except ImportError as exc:
        raise PluginError(
            f"docs_hooks.py: the demo plots need {exc.name}: pip install -e '.[docs]'"
        ) from None
    except Exception as exc:
        raise PluginError(f"docs_hooks.py: drawing the demo plots failed: {exc}") from None
