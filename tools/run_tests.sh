#!/usr/bin/env bash
# Runs the test suite with the project venv. pytest's exit code 5 (no tests collected)
# is a failure here, never a pass.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${KD_VENV:-$ROOT/.venv}"
cd "$ROOT"
# the web-service tests drive a headless chromium (tests/service/)
bash "$ROOT/tools/install_browser.sh" || exit 1
# one worker per core (KD_TEST_WORKERS to change: 0 runs in this process), each test
# file whole on one worker, so module fixtures are built once
WORKERS="${KD_TEST_WORKERS:-auto}"
XDIST=()
[[ "$WORKERS" != 0 ]] && XDIST=(-n "$WORKERS" --dist loadfile)
"$VENV/bin/python" -m pytest "${XDIST[@]}" "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
    echo "run_tests: pytest collected no tests: failing" >&2
    exit 1
fi
exit $rc
