#!/usr/bin/env bash
# Build the documentation site into site/ (or --site-dir DIR):
#   1. regenerate the diagrams and the reference pages from schema.yaml;
#   2. mkdocs build --strict (any warning fails the build);
#   3. build the interactive Liam ERD from sql/liam/schema.sql into <site>/erd/, replacing the
#      placeholder page docs/erd/index.md.
#
#   bash scripts/build-docs.sh [--site-dir DIR] [--no-generate]
#
# --no-generate skips step 1 and builds the committed pages as they are (the browser test uses
# it, so running the tests never rewrites files under docs/).
#
# Needs .venv with the docs extra, Graphviz's dot (Debian package graphviz) and the pinned
# Node tools (npm ci): `make docs` installs all three before running this script.
# LIAM_TIMEOUT (seconds, default 300) bounds the Liam build, which can loop forever on
# malformed input.
set -euo pipefail

cd "$(dirname "$0")/.."
say() { printf 'build-docs: %s\n' "$*"; }
die() { printf 'build-docs: error: %s\n' "$*" >&2; exit 1; }

site_dir=site
generate=1
while [ $# -gt 0 ]; do
  case "$1" in
    --site-dir) [ $# -ge 2 ] || die "--site-dir needs a directory"; site_dir=$2; shift 2 ;;
    --site-dir=*) site_dir=${1#*=}; shift ;;
    --no-generate) generate=0; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
done

py=.venv/bin/python
mkdocs=.venv/bin/mkdocs
liam=node_modules/.bin/liam
[ -x "$py" ] || die "$py not found: run \`make sql\` first to create the Python environment"
[ -x "$mkdocs" ] || die "$mkdocs not found: run \`make docs\` (it adds the docs extra to .venv)"
[ "$generate" = 0 ] || command -v dot >/dev/null 2>&1 || die "Graphviz's dot not found: run \`make docs\` (it installs Graphviz) or bash scripts/setup-test-env.sh --for docs"
command -v node >/dev/null 2>&1 || die "node not found: install Node.js 20 (Debian: apt-get install nodejs npm)"
[ -x "$liam" ] || die "$liam not found: run \`make docs\` (it runs npm ci for the pinned Node tools)"
command -v timeout >/dev/null 2>&1 || die "timeout not found (GNU coreutils)"

started=$SECONDS
if [ "$generate" = 1 ]; then
  say "[1/3] regenerating diagrams and reference pages from schema.yaml"
  "$py" -m generator diagrams --quiet
  "$py" -m generator docs --quiet
else
  say "[1/3] skipped (--no-generate): building the pages under docs/ as they are"
fi

# not --quiet: it hides the warnings and then --strict no longer fails on them
say "[2/3] mkdocs build --strict into $site_dir/"
NO_MKDOCS_2_WARNING=1 "$mkdocs" build --strict --site-dir "$site_dir" \
  || die "mkdocs build failed: fix the warnings above (strict mode)"

say "[3/3] Liam ERD from sql/liam/schema.sql into $site_dir/erd/"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! timeout "${LIAM_TIMEOUT:-300}" "$liam" erd build --input sql/liam/schema.sql \
    --format postgres --output-dir "$site_dir/erd" >"$log" 2>&1; then
  cat "$log" >&2
  die "the Liam ERD build failed or timed out after ${LIAM_TIMEOUT:-300} s"
fi
grep -q '"tables"' "$site_dir/erd/schema.json" 2>/dev/null \
  || { cat "$log" >&2; die "the Liam ERD build wrote no $site_dir/erd/schema.json"; }
grep -q 'Liam ERD' "$site_dir/erd/index.html" \
  || die "$site_dir/erd/index.html is still the placeholder page"
# Liam's page has no way back to the site: a link in its header bar, beside Liam's own title,
# in the header's colours (Liam's page is dark whatever the site's palette).
"$py" - "$site_dir/erd/index.html" <<'PY' || die "could not add the link back to the site"
import sys
from pathlib import Path

page = Path(sys.argv[1])
html = page.read_text(encoding="utf-8")
link = (
    '<a id="back-to-docs" href="../" title="Back to the documentation site" style="'
    "position:fixed;top:14px;left:150px;z-index:1000;padding:4px 10px;border-radius:6px;"
    "border:1px solid #444;color:#ddd;background:#222;font:14px/20px system-ui,sans-serif;"
    'text-decoration:none">&larr; Documentation</a>'
)
if 'id="back-to-docs"' not in html:
    if "</body>" not in html:
        sys.exit(f"{page}: no </body> to add the link before")
    page.write_text(html.replace("</body>", link + "</body>", 1), encoding="utf-8")
PY

say "done in $((SECONDS - started)) s: $site_dir/ (open it with: bash scripts/serve-docs.sh --built)"
