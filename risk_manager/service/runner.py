"""Run plan steps one by one, stopping at the first fatal failure."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from risk_manager.service.plan import Step

Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


def run_command(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run one command, capturing its output as text."""
    return subprocess.run(
        list(argv), capture_output=True, text=True, errors="replace", check=False, timeout=120
    )


@dataclass(frozen=True, slots=True)
class StepOutcome:
    step: Step
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def summary(self) -> str:
        """The last non-empty output line: nssm and sc put the reason there."""
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        return lines[-1] if lines else "(no output)"


class StepFailedError(RuntimeError):
    """A fatal step exited non-zero."""

    def __init__(self, outcome: StepOutcome) -> None:
        self.outcome = outcome
        super().__init__(
            f"{outcome.step.title} failed (exit {outcome.returncode}): {outcome.summary}"
        )


def run_steps(
    steps: Sequence[Step],
    *,
    runner: Runner = run_command,
    on_done: Callable[[StepOutcome], None] = lambda outcome: None,
) -> list[StepOutcome]:
    """Run each step; raise StepFailedError at the first fatal failure, return all outcomes."""
    outcomes: list[StepOutcome] = []
    for step in steps:
        try:
            result = runner(step.argv)
            outcome = StepOutcome(step, result.returncode, f"{result.stdout}\n{result.stderr}")
        except (OSError, subprocess.SubprocessError) as exc:
            outcome = StepOutcome(step, -1, str(exc))
        outcomes.append(outcome)
        on_done(outcome)
        if not outcome.ok and step.fatal:
            raise StepFailedError(outcome)
    return outcomes
