"""Run plan steps one by one; at the first fatal failure undo what was done, newest first."""

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
    """A fatal step exited non-zero; `rolled_back` holds the undo commands that ran."""

    def __init__(self, outcome: StepOutcome, rolled_back: Sequence[StepOutcome] = ()) -> None:
        self.outcome = outcome
        self.rolled_back = list(rolled_back)
        super().__init__(
            f"step {outcome.step.title!r} failed (exit {outcome.returncode}): {outcome.summary}"
        )

    @property
    def rollback_failures(self) -> list[StepOutcome]:
        return [outcome for outcome in self.rolled_back if not outcome.ok]


def _run_one(step: Step, argv: Sequence[str], runner: Runner) -> StepOutcome:
    try:
        result = runner(argv)
    except (OSError, subprocess.SubprocessError) as exc:
        return StepOutcome(step, -1, str(exc))
    return StepOutcome(step, result.returncode, f"{result.stdout}\n{result.stderr}")


def rollback(done: Sequence[Step], runner: Runner = run_command) -> list[StepOutcome]:
    """Run the undo of each finished step, newest first; each distinct undo runs once."""
    outcomes: list[StepOutcome] = []
    seen: set[tuple[str, ...]] = set()
    for step in reversed(done):
        if step.undo and step.undo not in seen:
            seen.add(step.undo)
            undo = Step(f"Undo: {step.title}", step.undo, step.phase, fatal=False)
            outcomes.append(_run_one(undo, undo.argv, runner))
    return outcomes


def run_steps(
    steps: Sequence[Step],
    *,
    runner: Runner = run_command,
    on_done: Callable[[StepOutcome], None] = lambda outcome: None,
) -> list[StepOutcome]:
    """Run each step, all or nothing: at the first fatal failure roll back, then raise."""
    outcomes: list[StepOutcome] = []
    for step in steps:
        outcome = _run_one(step, step.argv, runner)
        outcomes.append(outcome)
        on_done(outcome)
        if not outcome.ok and step.fatal:
            # Only finished steps are undone: a failed `nssm install` may have met a service
            # that someone else registered, which must not be removed.
            undone = rollback([o.step for o in outcomes if o.ok], runner)
            raise StepFailedError(outcome, undone)
    return outcomes
