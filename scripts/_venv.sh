# Sourced by the scripts here: create .venv with the project installed (once), then activate it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
stamp=".venv/.installed-$(cksum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ]; then
  # pip's and the build backend's chatter goes to a log; shown only when something fails.
  log=".venv-setup.log"
  echo "Setting up .venv (first run only, about a minute; details in $log)..."
  if ! { "$PYTHON" -m venv .venv \
      && .venv/bin/python -m pip install --quiet --upgrade pip \
      && .venv/bin/python -m pip install --quiet -e ".[test]"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "error: setting up .venv failed (the output above is in $log)" >&2
    exit 1
  fi
  rm -f "$log"
  touch "$stamp"
  echo "  .venv ready"
fi
# shellcheck disable=SC1091
source .venv/bin/activate
