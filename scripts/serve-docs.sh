#!/usr/bin/env bash
# Preview the documentation site locally.
#
#   bash scripts/serve-docs.sh            mkdocs serve with live reload (regenerates the pages
#                                         first); the interactive ERD is a placeholder here
#   bash scripts/serve-docs.sh --built    serve the site built by scripts/build-docs.sh
#                                         (site/, interactive ERD included) as static files
#
# Options: --port N (default 8000), --addr HOST (default 127.0.0.1).
set -euo pipefail

cd "$(dirname "$0")/.."
say() { printf 'serve-docs: %s\n' "$*"; }
die() { printf 'serve-docs: error: %s\n' "$*" >&2; exit 1; }

mode=live port=8000 addr=127.0.0.1
while [ $# -gt 0 ]; do
  case "$1" in
    --built) mode=built; shift ;;
    --port) [ $# -ge 2 ] || die "--port needs a number"; port=$2; shift 2 ;;
    --addr) [ $# -ge 2 ] || die "--addr needs a host"; addr=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
done

py=.venv/bin/python
[ -x "$py" ] || die "$py not found: run \`make sql\` first to create the Python environment"

if [ "$mode" = built ]; then
  [ -f site/index.html ] || die "site/ is not built: run \`make docs\` (scripts/build-docs.sh) first"
  [ -f site/erd/schema.json ] || say "note: site/erd/ has no Liam ERD yet; run scripts/build-docs.sh"
  say "serving site/ on http://$addr:$port/ (Ctrl-C stops)"
  exec "$py" -m http.server --bind "$addr" --directory site "$port"
fi

command -v dot >/dev/null 2>&1 || die "Graphviz's dot not found: run bash scripts/setup-test-env.sh --for docs (or make docs)"
say "regenerating diagrams and reference pages"
"$py" -m generator diagrams --quiet
"$py" -m generator docs --quiet
say "mkdocs serve on http://$addr:$port/ (live reload; the ERD page is a placeholder here:"
say "run scripts/build-docs.sh, then scripts/serve-docs.sh --built to see it)"
NO_MKDOCS_2_WARNING=1 exec .venv/bin/mkdocs serve --dev-addr "$addr:$port"
