#!/usr/bin/env bash
# The whole test suite in one command (pytest options pass through, e.g. -x -q tests/cli).
source "$(dirname "$0")/_venv.sh"
start=$SECONDS
status=0
if [ "$#" -eq 0 ]; then
  # Most tests wait on real daemons rather than compute, so test files run three at a time (each
  # file stays in one worker: its daemon fixtures are shared; four workers were no faster). The
  # Windows tier runs on its own afterwards: its Wine services are machine-wide, it reports what
  # Wine cannot verify, and beside the main run its nssm calls under Wine failed on a busy machine.
  echo "Running the test suite (about 1020 tests: some 5 min, then 3 for the Windows tier, on 2 cores)..."
  python -m pytest -n 3 --dist loadfile -m "not windows" --durations=15 || status=$?
  python -m pytest -m windows || status=$?
else
  python -m pytest "$@" || status=$?
fi
elapsed=$((SECONDS - start))
echo "Test suite finished in $((elapsed / 60))m $((elapsed % 60))s (exit code $status)"
exit "$status"
