"""The built documentation site, in headless Chromium.

Builds the site from the committed pages (scripts/build-docs.sh --no-generate, into a temporary
directory; set LIAM_ERD_SCHEMA_SITE=DIR to test an already built site instead), serves it on
127.0.0.1 from a thread, and drives Chromium (tests/docs/browser/check_site.mjs, playwright-core
with the system /usr/bin/chromium) through the home page, a table page and the interactive ERD: no
console errors, every image loads, every internal link answers 200, the ERD draws every table.
Screenshots go to test-artifacts/screenshots/.

Needs node, the pinned Node tools (npm ci), Chromium and the docs extra of .venv (Graphviz is
not needed: the diagrams are committed). Outside CI a missing tool skips these tests with the
reason; with CI=true (or LIAM_ERD_SCHEMA_REQUIRE_ENGINES=1) it fails them.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import threading
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import harness
from generator import load_schema

# slow: the site built and driven in Chromium
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHECK_SCRIPT = ROOT / "tests" / "docs" / "browser" / "check_site.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SITE_ENV = "LIAM_ERD_SCHEMA_SITE"
TABLE_PAGE = "prediction"  # the table with the most relationships


def unavailable(reason: str):
    if harness.engines_required():
        pytest.fail(f"documentation site test cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


def missing_tools() -> list[str]:
    problems = []
    if shutil.which("node") is None:
        problems.append("node not found (Debian: apt-get install nodejs npm)")
    if not (ROOT / "node_modules" / "playwright-core").is_dir():
        problems.append("node_modules/playwright-core missing (run: npm ci)")
    if not (ROOT / "node_modules" / ".bin" / "liam").exists():
        problems.append("node_modules/.bin/liam missing (run: npm ci)")
    if not Path(CHROMIUM).exists():
        problems.append(f"{CHROMIUM} not found (Debian: apt-get install chromium)")
    if not (ROOT / ".venv" / "bin" / "mkdocs").exists():
        problems.append(".venv/bin/mkdocs missing (pip install -e '.[docs]')")
    return problems


@pytest.fixture(scope="module")
def schema():
    return load_schema(ROOT / "schema.yaml")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    problems = missing_tools()
    if problems:
        unavailable("; ".join(problems))
    if os.environ.get(SITE_ENV):
        built = Path(os.environ[SITE_ENV])
        assert (built / "index.html").is_file(), f"${SITE_ENV}={built} holds no built site"
        return built
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        ["bash", "scripts/build-docs.sh", "--no-generate", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"scripts/build-docs.sh failed:\n{proc.stdout}\n{proc.stderr}"
    return out


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.fixture(scope="module")
def base_url(site):
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


PAGES = [
    {"name": "home", "path": ""},
    {"name": f"table-{TABLE_PAGE}", "path": f"reference/tables/{TABLE_PAGE}/"},
    {"name": "home-dark", "path": "", "colorScheme": "dark", "fullPage": False},
    {"name": "demo", "path": "demo/"},
    {"name": "modelling", "path": "modelling/"},  # the demo's baseline model's plots
    {"name": "features", "path": "features/"},  # the demo's curves and step features
]


# The widths at which every table page is measured: its tables must fit the frame (the
# columns table puts each description beside its column name, not behind a sideways scroll).
TABLE_WIDTHS = (1280, 1920)


def table_measures(schema) -> list[dict]:
    return [
        {
            "name": f"measure-{table.name}-{width}",
            "path": f"reference/tables/{table.name}/",
            "width": width,
            "measureTables": True,
        }
        for table in schema.tables
        for width in TABLE_WIDTHS
    ]


@pytest.fixture(scope="module")
def report(base_url, schema) -> dict[str, dict]:
    names = [t.name for t in schema.tables]
    pages = [
        *PAGES,
        *table_measures(schema),
        {
            "name": "erd",
            "path": "erd/",
            "fullPage": False,
            "waitForSelectors": {".react-flow__node": len(names)},
            "waitForText": [*names, "Documentation"],  # the link back (build-docs.sh)
        },
    ]
    config = {
        "baseUrl": base_url,
        "screenshotDir": str(SCREENSHOTS),
        "pages": pages,
        "timeoutMs": 30000,
    }
    proc = subprocess.run(
        ["node", str(CHECK_SCRIPT), json.dumps(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "CHROMIUM": CHROMIUM},
    )
    assert proc.returncode == 0, f"check_site.mjs failed:\n{proc.stdout}\n{proc.stderr}"
    return {page["name"]: page for page in json.loads(proc.stdout)["pages"]}


@pytest.mark.parametrize("name", [p["name"] for p in PAGES] + ["erd"])
def test_page_is_whole(report, name):
    page = report[name]
    assert "error" not in page, page.get("error")
    assert page["status"] == 200, page["url"]
    problems = {
        key: page[key]
        for key in (
            "consoleErrors",
            "failedRequests",
            "badImages",
            "badLinks",
            "missingAnchors",
            "missingText",
            "missingSelectors",
        )
        if page[key]
    }
    assert not problems, f"{page['url']}: {json.dumps(problems, indent=2)}"
    assert Path(page["screenshot"]).stat().st_size > 10_000, "blank screenshot?"


def test_erd_page_links_back_to_the_site(site):
    page = (site / "erd" / "index.html").read_text(encoding="utf-8")
    assert '<a id="back-to-docs" href="../"' in page
    assert page.count('id="back-to-docs"') == 1


def test_pages_have_diagrams_and_links(report):
    """The checks above are not vacuous: the pages do contain images and internal links."""
    assert report["home"]["imageCount"] >= 1
    assert report[f"table-{TABLE_PAGE}"]["imageCount"] >= 1
    assert report["home"]["linkCount"] >= 20
    assert report[f"table-{TABLE_PAGE}"]["linkCount"] >= 20


def test_search_index_lists_every_table(base_url, schema):
    with urllib.request.urlopen(f"{base_url}search/search_index.json", timeout=10) as response:
        assert response.status == 200
        index = json.load(response)
    locations = {doc["location"] for doc in index["docs"]}
    text = " ".join(f"{doc['title']} {doc['text']}" for doc in index["docs"])
    for table in schema.tables:
        assert f"reference/tables/{table.name}/" in locations, table.name
        assert table.name in text, table.name


def test_downloads_are_the_committed_ddl_files(site):
    """The site serves sql/<target>/schema.sql itself (docs_hooks.py), byte for byte."""
    from generator.targets import TARGETS

    for name, target in TARGETS.items():
        served = site / "downloads" / f"{name}.sql"
        assert served.is_file(), f"{served} missing from the built site"
        assert served.read_bytes() == (ROOT / target.path).read_bytes(), name


def test_demo_page_shows_the_plots_drawn_at_build_time(site, report):
    """docs_hooks.py draws demo-plots/*.svg from the demo data while the site builds; the
    demo page shows all three, and they load in the browser (test_page_is_whole[demo])."""
    from demo.plots import PLOTS

    page = (site / "demo" / "index.html").read_text(encoding="utf-8")
    assert report["demo"]["imageCount"] >= len(PLOTS)
    for name in PLOTS:
        assert f"../demo-plots/{name}" in page, name
        svg = (site / "demo-plots" / name).read_text(encoding="utf-8")
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg, name
        assert svg.count("<path") > 5, f"{name}: no data drawn?"
    assert "label_soc.soc" in (site / "demo-plots" / "soc-label.svg").read_text()


def test_modelling_page_shows_the_baseline_models_plots(site, report):
    """From data to model shows the demo's baseline model (demo/plots.py MODEL_PLOTS), drawn
    at build time from the same demo database, and they load (test_page_is_whole[modelling])."""
    from demo.plots import MODEL_PLOTS

    page = (site / "modelling" / "index.html").read_text(encoding="utf-8")
    assert report["modelling"]["imageCount"] >= len(MODEL_PLOTS)
    for name in MODEL_PLOTS:
        assert f"../demo-plots/{name}" in page, name
        svg = (site / "demo-plots" / name).read_text(encoding="utf-8")
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg, name
        assert "model_run" in svg, name


def test_features_page_shows_the_derived_features_plots(site, report):
    """Features and labels shows the curves, dQ/dV, delta-Q(V) and resistance of the demo
    (demo/plots.py FEATURE_PLOTS), drawn at build time, and they load."""
    from demo.plots import FEATURE_PLOTS

    page = (site / "features" / "index.html").read_text(encoding="utf-8")
    assert report["features"]["imageCount"] >= len(FEATURE_PLOTS)
    for name in FEATURE_PLOTS:
        assert f"../demo-plots/{name}" in page, name
        svg = (site / "demo-plots" / name).read_text(encoding="utf-8")
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg, name
        assert svg.count("<path") > 5, f"{name}: no data drawn?"


def test_table_pages_fit_their_frame(report, schema):
    """Every table page at 1280 and 1920 px: no table wider than the article, so the column
    descriptions are read without scrolling sideways."""
    wide = []
    for spec in table_measures(schema):
        page = report[spec["name"]]
        assert "error" not in page, page.get("error")
        assert page["status"] == 200, page["url"]
        assert page["tables"] >= 1, f"{page['url']}: no table measured"
        assert page["frame"] > 500, f"{page['url']}: frame of {page['frame']} px?"
        wide += [f"{page['url']} at {spec['width']} px: {t}" for t in page["found"]]
    assert not wide, "tables wider than their frame:\n" + "\n".join(wide)
