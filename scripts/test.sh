#!/usr/bin/env bash
# The whole test suite in one command.
source "$(dirname "$0")/_venv.sh"
exec python -m pytest "$@"
