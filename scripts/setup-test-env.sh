#!/usr/bin/env bash
# Install the Debian packages and Node tools a job needs. Idempotent.
#
#   bash scripts/setup-test-env.sh [--for JOB]
#
# JOB (default test) and what it installs:
#   test      everything the tests' engines need (see the harness/ package)
#   docs      Graphviz + fonts (diagrams) and the Node tools (the Liam ERD)
#   graphviz  Graphviz + fonts only (make diagrams, make all, make check)
#   bench     the PostgreSQL 15 server and the Node tools (PGlite with TimescaleDB)
# Debian packages: postgresql-15 (the PostgreSQL 15 server), graphviz (dot),
# fonts-liberation, chromium (headless browser tests), and nodejs/npm if `node`
# is missing (not for graphviz).
# Only missing packages are installed; `apt-get update` runs only then. As root
# it installs them; as another user through `sudo -n` when that works, else it
# prints the command to run and exits 1 after doing the rest.
# npm packages: `npm ci` from package-lock.json when node_modules is missing or
# older than package.json / package-lock.json. No browser is ever downloaded.
set -euo pipefail

cd "$(dirname "$0")/.."
say() { printf 'setup-test-env: %s\n' "$*"; }
die() { printf 'setup-test-env: error: %s\n' "$*" >&2; exit 2; }

job=test
while [ $# -gt 0 ]; do
  case "$1" in
    --for) [ $# -ge 2 ] || die "--for needs a job: test, docs, graphviz, bench"; job=$2; shift 2 ;;
    --for=*) job=${1#*=}; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
done

# fonts-liberation: the diagrams are measured in Liberation Sans (Arial); other fonts change the SVGs.
case "$job" in
  test) wanted=(postgresql-15 graphviz fonts-liberation chromium) need_node=1 ;;
  docs) wanted=(graphviz fonts-liberation) need_node=1 ;;
  graphviz) wanted=(graphviz fonts-liberation) need_node=0 ;;
  bench) wanted=(postgresql-15) need_node=1 ;;
  *) die "unknown job '$job': choose test, docs, graphviz or bench" ;;
esac

incomplete=0

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# --- Debian packages -------------------------------------------------------
missing=()
for pkg in "${wanted[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done
if [ "$need_node" -eq 1 ] && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  node_note=""
  [ "$need_node" -eq 0 ] || node_note=", node $(node --version)"
  say "Debian packages for $job: all present (${wanted[*]}$node_note)"
else
  can_install=1
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    can_install=0
  fi
  if [ "$can_install" -eq 0 ]; then
    say "Debian packages: MISSING ${missing[*]}; as root run:"
    say "  apt-get update && apt-get install -y ${missing[*]}"
    incomplete=1
  else
    say "Debian packages: installing ${missing[*]} (apt-get update + install)"
    log=$(mktemp)
    if ! { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 update &&
      "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 install -y \
        "${missing[@]}"; } >"$log" 2>&1; then
      tail -n 40 "$log" >&2
      rm -f "$log"
      say "Debian packages: apt-get failed (output above)"
      exit 1
    fi
    rm -f "$log"
    say "Debian packages: installed ${missing[*]}"
  fi
fi

# --- npm packages ----------------------------------------------------------
if [ "$need_node" -eq 0 ]; then
  :
elif ! command -v npm >/dev/null 2>&1; then
  say "npm packages: SKIPPED, npm is not installed"
  incomplete=1
elif [ -f node_modules/.package-lock.json ] &&
  [ ! package-lock.json -nt node_modules/.package-lock.json ] &&
  [ ! package.json -nt node_modules/.package-lock.json ]; then
  say "npm packages: node_modules is up to date with package-lock.json"
else
  say "npm packages: npm ci (from package-lock.json)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund \
    --loglevel=error
  say "npm packages: installed from package-lock.json"
fi

if [ "$incomplete" -ne 0 ]; then
  say "INCOMPLETE: see the lines above"
  exit 1
fi
say "done ($job)"
