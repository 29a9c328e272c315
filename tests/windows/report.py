"""What the Windows tier measured and could not verify; conftest prints it at the end of the run."""

from __future__ import annotations

# Seconds each set-up phase took (the tier has a CI budget).
TIMINGS: dict[str, float] = {}
# Numbers the checks measured, such as how long a graceful service stop took.
MEASURED: dict[str, float] = {}
# Install steps Wine cannot prove, with what they did there.
NOT_VERIFIABLE: list[str] = []
