#!/usr/bin/env bash
# The whole test suite in one command (pytest options pass through, e.g. -x -q tests/cli).
source "$(dirname "$0")/_venv.sh"
echo "Running the test suite (the whole suite takes about 7 minutes on 2 cores)..."
start=$SECONDS
status=0
python -m pytest "$@" || status=$?
elapsed=$((SECONDS - start))
echo "Test suite finished in $((elapsed / 60))m $((elapsed % 60))s (exit code $status)"
exit "$status"
