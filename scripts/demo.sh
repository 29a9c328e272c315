#!/usr/bin/env bash
# The main job in one command: the daemon on the simulated broker with a scripted trader.
source "$(dirname "$0")/_venv.sh"
exec python -m risk_manager demo "$@"
