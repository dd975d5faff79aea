#!/usr/bin/env bash
# Writes the peers' reference values that tests/derive/test_oracles.py compares derive with
# (tests/fixtures/oracles/*.json), each peer run once in a venv of its own under $WORK (given:
# kept, and its venvs reused; else a temporary folder, removed afterwards): BEEP, cellpy and
# BatteryML (below: only with BATTERYML_GIT) stay out of the project's environments (cellpy 2
# needs Python >= 3.13 and pandas >= 3, the project pins pandas 2.3 on Python 3.11; BEEP adds
# about 120 MB: boto3, scikit-learn, h5py).
# Run from the checkout with its .venv made (make test): bash scripts/oracles/make_references.sh
# PYTHON313 names a Python 3.13 for cellpy (default: python3.13 on the path, else pyenv's).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/tests/fixtures/oracles
if [ -z "${WORK:-}" ]; then  # a temporary folder of our own, removed at the end
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"
PY313=${PYTHON313:-python3.13}
"$PY313" --version >/dev/null 2>&1 || PY313=$HOME/.pyenv/versions/3.13.0/bin/python
PIP_FLAGS="--disable-pip-version-check --quiet"

# the input: the aging session as the BDF CSV the tests load
.venv/bin/python scripts/oracles/write_session.py "$WORK/aging.bdf.csv"
SHA=$(sha256sum "$WORK/aging.bdf.csv" | cut -d' ' -f1)

run_peer() {  # name, python, requirements..., writes $OUT/<name>.json ($ARGS: more arguments)
    local name=$1 python=$2
    shift 2
    [ -x "$WORK/$name/bin/python" ] || "$python" -m venv "$WORK/$name"
    "$WORK/$name/bin/python" -m pip install $PIP_FLAGS "$@"
    "$WORK/$name/bin/python" "scripts/oracles/${name}_reference.py" "$WORK/aging.bdf.csv" \
        "$WORK/$name.json" ${ARGS:-} >"$WORK/$name.log" 2>&1
    "$WORK/$name/bin/python" - "$WORK/$name.json" "$OUT/$name.json" "$SHA" "${INSTALLED:-$*}" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
data["input_sha256"] = sys.argv[3]
data["installed"] = sys.argv[4]
data["command"] = "bash scripts/oracles/make_references.sh"
json.dump(data, open(sys.argv[2], "w"), separators=(",", ":"), sort_keys=True)
open(sys.argv[2], "a").write("\n")
PY
    echo "wrote $OUT/$name.json"
}

mkdir -p "$OUT"
run_peer beep python3 beep==2026.2.7 pandas==3.1.1 numpy==2.4.6 scipy==1.17.1
run_peer cellpy "$PY313" cellpy==2.1.5.post10 pandas==3.1.1 numpy==2.5.5 scipy==1.18.1

# BatteryML is not on PyPI: BATTERYML_GIT names a clone of microsoft/BatteryML (a work tree or a
# bare repository); its HEAD is installed with torch 2.13.0 (CPU) and numpy 1 (it asks < 2):
# about 2.3 GB and six minutes. Without it, batteryml.json stays as it is.
if [ -n "${BATTERYML_GIT:-}" ]; then
    commit=$(git -C "$BATTERYML_GIT" rev-parse HEAD)
    rm -rf "$WORK/batteryml-src" && mkdir -p "$WORK/batteryml-src"
    git -C "$BATTERYML_GIT" archive HEAD | tar -x -C "$WORK/batteryml-src"
    [ -x "$WORK/batteryml/bin/python" ] || python3 -m venv "$WORK/batteryml"
    "$WORK/batteryml/bin/python" -m pip install $PIP_FLAGS torch==2.13.0 "numpy<2"
    ARGS=$commit INSTALLED="torch==2.13.0 numpy<2 microsoft/BatteryML@$commit" \
        run_peer batteryml python3 "$WORK/batteryml-src"
else
    echo "BATTERYML_GIT not set: tests/fixtures/oracles/batteryml.json left as it is"
fi
