"""The benchmark command runs end to end and prints one JSON document (numbers not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_quick_benchmark_prints_every_section_as_json() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["daemon_lifecycle"]["exit_codes"] == [0]
    assert report["state_path"]["fills_durable"]["per_second"] > 0
    assert report["all_rules_20_accounts"]["enforcement_failures"] == 0
    assert report["breach_to_first_action"]["breaches"] > 0
    assert report["breach_with_unanswered_notifications"]["p50_ms"]["never_answers"] > 0
    assert report["projectx_fill_to_close"]["breaches"] == 30
    assert report["replay"]["rule_ticks"] > 3 * 3600 - 10
    assert report["api_under_load"]["requests"] > 0
