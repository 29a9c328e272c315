#!/usr/bin/env bash
# One minute that shows what the daemon does; pass --keep to leave the daemon running and its
# home in place for exploring.
source "$(dirname "$0")/_venv.sh"
exec python -m risk_manager demo "$@"
