"""Compare the live NSSM settings of the service with the install plan and name any drift.

Admins look at (and may edit) the service in the NSSM GUI (`nssm edit RiskManagerDaemon`);
`risk-admin doctor` reads every setting the plan writes back with `nssm get` and reports each
one that differs, so an edit that weakens the service (the account, the exit action, the stop
method) does not go unnoticed. Every nssm call has a time limit, so doctor cannot hang on it.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from risk_manager.service.plan import ServiceInputs, install_plan

Getter = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


@dataclass(frozen=True, slots=True)
class Setting:
    """One NSSM parameter: its name, subkey words (`AppExit Default`) and expected value."""

    name: tuple[str, ...]
    expected: str

    @property
    def label(self) -> str:
        return " ".join(self.name)


@dataclass(frozen=True, slots=True)
class Drift:
    setting: Setting
    live: str | None  # None: nssm could not read it

    def describe(self) -> str:
        live = "unreadable" if self.live is None else repr(self.live)
        return f"{self.setting.label} is {live}, the install plan sets {self.setting.expected!r}"


# Settings whose last word is a subkey, not a value (`nssm set NAME AppExit Default Exit`).
_SUBKEYED = frozenset({"AppExit"})
# Multi-value settings: `nssm get` prints one value per line.
_MULTI = frozenset({"DependOnService", "AppEnvironmentExtra"})


def expected_settings(inputs: ServiceInputs) -> list[Setting]:
    """Every NSSM parameter the install plan writes, with the value it writes."""
    settings: list[Setting] = []
    nssm = str(inputs.installed_nssm)
    for step in install_plan(inputs):
        if step.argv[0] != nssm:
            continue
        verb, args = step.argv[1], step.argv[3:]
        if verb == "install":
            settings.append(Setting(("Application",), args[0]))
            settings.append(Setting(("AppParameters",), args[1]))
        elif verb == "set" and args[0] in _SUBKEYED:
            settings.append(Setting(tuple(args[:2]), args[2]))
        elif verb == "set":
            joined = "\n".join(args[1:]) if args[0] in _MULTI else args[1]
            settings.append(Setting((args[0],), joined))
    return settings


def normalize(value: str) -> str:
    """nssm prints UTF-16 with CRLF and a trailing newline."""
    return "\n".join(
        line.strip() for line in value.replace("\x00", "").splitlines() if line.strip()
    )


def compare(settings: Sequence[Setting], live: dict[tuple[str, ...], str | None]) -> list[Drift]:
    """The settings whose live value differs from the plan, in plan order."""
    drifts = []
    for setting in settings:
        value = live.get(setting.name)
        shown = None if value is None else normalize(value)
        if shown is None or shown != normalize(setting.expected):
            drifts.append(Drift(setting, shown))
    return drifts


def read_live(
    nssm: str, service: str, settings: Sequence[Setting], get: Getter
) -> dict[tuple[str, ...], str | None]:
    """`nssm get SERVICE NAME [SUBKEY]` for each setting (None when nssm reports an error)."""
    live: dict[tuple[str, ...], str | None] = {}
    for setting in settings:
        result = get([nssm, "get", service, *setting.name])
        live[setting.name] = result.stdout if result.returncode == 0 else None
    return live


class NssmUnansweredError(RuntimeError):
    """nssm did not exit within its time budget: doctor reports it instead of waiting forever."""


# One `nssm get` answers in milliseconds; the budget covers a slow or wedged service manager.
NSSM_TIMEOUT = 10.0


def run_nssm(
    argv: Sequence[str], timeout: float = NSSM_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run nssm with its output going to a temporary file, never a pipe.

    A pipe is only closed when every process holding its write end has exited, and on Windows a
    process started meanwhile can inherit it: reading it to the end (`communicate`) then never
    returns, and `subprocess.run(timeout=...)` waits for that end again after the kill. Waiting
    on the process itself and reading a file afterwards is bounded by `timeout`.
    """
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.DEVNULL
        )
        try:
            returncode = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()  # the process handle, not a pipe: returns once it is gone
            raise NssmUnansweredError(
                f"`{' '.join(argv[1:])}` did not answer within {timeout:g} s"
            ) from None
        out.seek(0)
        raw = out.read()
    # nssm writes UTF-16 when its output is not a console.
    text = raw.decode("utf-16-le", "replace") if b"\x00" in raw else raw.decode("utf-8", "replace")
    return subprocess.CompletedProcess(list(argv), returncode, text, "")


def service_drift(inputs: ServiceInputs, get: Getter = run_nssm) -> list[Drift]:
    """Drift of the installed service from the plan for `inputs`."""
    settings = expected_settings(inputs)
    return compare(
        settings, read_live(str(inputs.installed_nssm), inputs.service_name, settings, get)
    )
