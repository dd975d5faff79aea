#!/usr/bin/env bash
# The pull-request job's migration summary: what the change to schema.yaml will do to a live
# database, as the generated migration with its risk labels (safe / needs validation /
# destructive), written as Markdown to $GITHUB_STEP_SUMMARY (or stdout outside GitHub).
#
#   bash scripts/ci-migration-summary.sh BASE_REF     e.g. origin/main
#
# Until the `liam-erd-schema migrate` command exists the summary says so and the step passes.
# Exit status: 0 when there is nothing to report or the summary was written; the migrate
# command's own status otherwise (a plan it refuses to write fails the job).
set -euo pipefail

cd "$(dirname "$0")/.."
die() { printf 'ci-migration-summary: error: %s\n' "$*" >&2; exit 2; }

[ $# -eq 1 ] || die "usage: bash scripts/ci-migration-summary.sh BASE_REF"
base_ref=$1
schema=schema.yaml
tool=.venv/bin/liam-erd-schema

[ -x "$tool" ] || die "$tool not found: run \`make sql\` first"
git rev-parse --verify --quiet "$base_ref^{commit}" >/dev/null \
  || die "unknown base '$base_ref' (in CI, check out with fetch-depth: 0)"
base=$(git merge-base "$base_ref" HEAD) || die "no common ancestor of $base_ref and HEAD"

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then exec 3>>"$GITHUB_STEP_SUMMARY"; else exec 3>&1; fi
report() { printf '%s\n' "$@" >&3; }
report "## Migration for this change to \`$schema\`" ""

if ! git cat-file -e "$base:$schema" 2>/dev/null; then
  report "\`$schema\` does not exist at the base ($base_ref): no migration, the DDL creates everything."
  exit 0
fi
if git diff --quiet "$base" -- "$schema"; then
  report "\`$schema\` is unchanged since $base_ref ($(git rev-parse --short "$base")): no migration."
  exit 0
fi

if ! "$tool" migrate --help >/dev/null 2>&1; then
  report "\`$schema\` changed since $base_ref, but this version of the generator has no" \
    "\`liam-erd-schema migrate\` command yet: once it exists, this step shows the generated" \
    "migration and the risk label of each statement (safe / needs validation / destructive)."
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git show "$base:$schema" >"$work/base.yaml"

# The migration from the base schema to this one, with each operation's risk label, as
# Markdown on stdout; the files go to a scratch folder, never into the checkout.
status=0
"$tool" migrate --from "$work/base.yaml" "$schema" --out "$work/migrations" --summary \
  >"$work/summary.md" 2>"$work/stderr.txt" || status=$?

cat "$work/summary.md" >&3
if [ "$status" -ne 0 ]; then
  report "" "**\`liam-erd-schema migrate\` exited $status:**" "" '```' "$(cat "$work/stderr.txt")" '```'
fi
exit "$status"
