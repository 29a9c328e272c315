#!/usr/bin/env bash
# Install Debian's wine64 for the Windows test tier (tests/windows) when it is missing.
# Needs root and apt-get; elsewhere it says why and exits 0 (the tier then skips with a reason).
set -euo pipefail
if command -v wine >/dev/null && command -v wineserver >/dev/null && command -v wineboot >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "wine64 is not installed and this is not root with apt-get: the Windows tier will skip" >&2
  exit 0
fi
echo "Installing wine64 for the Windows test tier..."
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq wine64 >/dev/null; }; then
  echo "could not install wine64: the Windows tier will skip" >&2
fi
