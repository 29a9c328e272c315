#!/usr/bin/env bash
# The whole test suite in one command (pytest options pass through, e.g. -x -q tests/cli).
source "$(dirname "$0")/_venv.sh"
echo "Running the test suite (about 780 tests: some 20 minutes on a busy 2-core machine, less when idle)..."
start=$SECONDS
status=0
python -m pytest "$@" || status=$?
elapsed=$((SECONDS - start))
echo "Test suite finished in $((elapsed / 60))m $((elapsed % 60))s (exit code $status)"
exit "$status"
