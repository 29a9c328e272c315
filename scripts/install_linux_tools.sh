#!/usr/bin/env bash
# Install what the Linux service tests use when it is missing: systemd-analyze (unit checks) and
# Debian's python3-seccomp (the daemon run under the unit's syscall filter, without systemd).
# Needs root and apt-get; elsewhere it says why and exits 0 (those tests then skip with a reason).
set -euo pipefail
missing=()
command -v systemd-analyze >/dev/null || missing+=(systemd)
/usr/bin/python3 -c "import seccomp" 2>/dev/null || missing+=(python3-seccomp)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "${missing[*]} not installed and this is not root with apt-get: those tests will skip" >&2
  exit 0
fi
echo "Installing ${missing[*]} for the Linux service tests..."
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
  echo "could not install ${missing[*]}: those tests will skip" >&2
fi
