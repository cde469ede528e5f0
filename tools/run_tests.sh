#!/usr/bin/env bash
# Runs the test suite with the project venv. pytest's exit code 5 (no tests collected)
# is a failure here, never a pass.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${KD_VENV:-$ROOT/.venv}"
cd "$ROOT"
# the web-service tests drive a headless chromium (tests/service/)
bash "$ROOT/tools/install_browser.sh" || exit 1
"$VENV/bin/python" -m pytest "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
    echo "run_tests: pytest collected no tests: failing" >&2
    exit 1
fi
exit $rc
