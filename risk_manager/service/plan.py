"""The Windows service install / uninstall plan as data: titled argv steps for nssm, sc, icacls."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import PureWindowsPath

from risk_manager.service.cmdline import to_cmdline

SERVICE_NAME = "RiskManagerDaemon"
DISPLAY_NAME = "Risk Manager Daemon"
DESCRIPTION = (
    "Professional risk management service for trading accounts. "
    "Enforces position limits and loss thresholds in real-time."
)
DEFAULT_ROTATE_BYTES = 10 * 1024 * 1024

# Restart schedule of the brief: 10 s, 30 s, then 60 s; the failure count resets after 1 h.
RESET_SECONDS = 3600
RESTART_DELAYS_MS = (10_000, 30_000, 60_000)

# Service access rights in SDDL (a service DACL reuses the generic letters for its own rights):
#   CC SERVICE_QUERY_CONFIG         DC SERVICE_CHANGE_CONFIG      LC SERVICE_QUERY_STATUS
#   SW SERVICE_ENUMERATE_DEPENDENTS RP SERVICE_START              WP SERVICE_STOP
#   DT SERVICE_PAUSE_CONTINUE       LO SERVICE_INTERROGATE        CR SERVICE_USER_DEFINED_CONTROL
#   SD DELETE                       RC READ_CONTROL               WD WRITE_DAC   WO WRITE_OWNER
FULL_CONTROL = "CCDCLCSWRPWPDTLOCRSDRCWDWO"
# Query only: no RP/WP/DT (start, stop, pause), no DC (config), no CR (user-defined control).
# Windows' default DACL grants CR to interactive users; it is dropped here on purpose.
QUERY_ONLY = "CCLCSWLORC"
SDDL = (
    f"D:(A;;{FULL_CONTROL};;;SY)"  # LocalSystem: the service account
    f"(A;;{FULL_CONTROL};;;BA)"  # BUILTIN\Administrators
    f"(A;;{QUERY_ONLY};;;IU)"  # interactive users: the trader at the keyboard
    f"(A;;{QUERY_ONLY};;;SU)"  # service logon users
    f"(A;;{QUERY_ONLY};;;AU)"  # authenticated users (remote desktop, runas, WSL interop)
    # Audit every failed access attempt by anyone (the Windows default SACL of a service).
    f"S:(AU;FA;{FULL_CONTROL};;;WD)"
)

# icacls trustees as SIDs: group *names* are localized ("Administratoren"), SIDs are not.
SYSTEM_SID = "*S-1-5-18"
ADMINS_SID = "*S-1-5-32-544"
USERS_SID = "*S-1-5-32-545"

PHASE_CONFIGURE = "Creating service configuration"
PHASE_REGISTER = "Registering with Windows Service Manager"
PHASE_PERMISSIONS = "Setting permissions (regular user cannot stop)"
PHASE_REMOVE = "Unregistering service"
PHASE_DELETE = "Deleting files"


@dataclass(frozen=True, slots=True)
class ServiceInputs:
    """Everything the plan depends on; Windows paths even when the plan is printed elsewhere."""

    home: PureWindowsPath
    python: PureWindowsPath = field(default_factory=lambda: PureWindowsPath(sys.executable))
    nssm: PureWindowsPath = field(default_factory=lambda: PureWindowsPath("nssm.exe"))
    service_name: str = SERVICE_NAME
    display_name: str = DISPLAY_NAME
    description: str = DESCRIPTION
    rotate_bytes: int = DEFAULT_ROTATE_BYTES

    def __post_init__(self) -> None:
        if not self.home.is_absolute():
            raise ValueError(f"home must be an absolute Windows path, got {self.home}")
        if not self.service_name or any(c in self.service_name for c in ' "/\\'):
            raise ValueError(f"service name must be one word, got {self.service_name!r}")
        if self.rotate_bytes <= 0:
            raise ValueError("rotate_bytes must be positive")

    @property
    def service_log(self) -> PureWindowsPath:
        return self.home / "logs" / "service.log"

    @property
    def app_parameters(self) -> str:
        """The AppParameters string: nssm joins its arguments, so the home is quoted here."""
        return to_cmdline(["-m", "risk_manager", "run", "--home", str(self.home)])


@dataclass(frozen=True, slots=True)
class Step:
    """One command of the plan: a title for humans, argv for CreateProcess."""

    title: str
    argv: tuple[str, ...]
    phase: str
    fatal: bool = True

    @property
    def cmdline(self) -> str:
        return to_cmdline(self.argv)


def _nssm_set(inputs: ServiceInputs, title: str, *values: str) -> Step:
    argv = (str(inputs.nssm), "set", inputs.service_name, *values)
    return Step(title, argv, PHASE_CONFIGURE)


def install_plan(inputs: ServiceInputs) -> list[Step]:
    """The commands that register and lock down the service, in order."""
    name, nssm, home = inputs.service_name, str(inputs.nssm), inputs.home
    log = str(inputs.service_log)
    actions = "/".join(f"restart/{delay}" for delay in RESTART_DELAYS_MS)
    steps = [
        Step(
            "Register the service (python.exe -m risk_manager run, never a .bat)",
            (nssm, "install", name, str(inputs.python), inputs.app_parameters),
            PHASE_REGISTER,
        ),
        _nssm_set(inputs, "Display name", "DisplayName", inputs.display_name),
        _nssm_set(inputs, "Description", "Description", inputs.description),
        _nssm_set(inputs, "Automatic (delayed) start", "Start", "SERVICE_DELAYED_AUTO_START"),
        _nssm_set(inputs, "Run as LocalSystem", "ObjectName", "LocalSystem"),
        _nssm_set(inputs, "Start after the network", "DependOnService", "Tcpip", "Dnscache"),
        _nssm_set(inputs, "Working directory", "AppDirectory", str(home)),
        _nssm_set(inputs, "Capture stdout", "AppStdout", log),
        _nssm_set(inputs, "Capture stderr", "AppStderr", log),
        # 4 = OPEN_ALWAYS: append to the log instead of truncating it at every start.
        _nssm_set(inputs, "Append stdout", "AppStdoutCreationDisposition", "4"),
        _nssm_set(inputs, "Append stderr", "AppStderrCreationDisposition", "4"),
        _nssm_set(inputs, "Rotate the service log", "AppRotateFiles", "1"),
        _nssm_set(inputs, "Rotate while running", "AppRotateOnline", "1"),
        _nssm_set(inputs, "Rotation size", "AppRotateBytes", str(inputs.rotate_bytes)),
        # Skip 2 (WM_CLOSE) + 4 (thread messages): Ctrl+C first, then terminate.
        _nssm_set(inputs, "Stop with Ctrl+C only", "AppStopMethodSkip", "6"),
        _nssm_set(inputs, "Wait 30 s for a clean stop", "AppStopMethodConsole", "30000"),
        _nssm_set(inputs, "Kill the whole process tree", "AppKillProcessTree", "1"),
        # nssm exits with the daemon's code, so the SCM recovery below handles the restart.
        _nssm_set(inputs, "Exit with the daemon", "AppExit", "Default", "Exit"),
        _nssm_set(
            inputs,
            "Environment",
            "AppEnvironmentExtra",
            "PYTHONUNBUFFERED=1",
            f"RISK_MANAGER_HOME={home}",
        ),
        Step(
            "Restart after 10 s, 30 s, 60 s; reset after 1 h",
            ("sc", "failure", name, "reset=", str(RESET_SECONDS), "actions=", actions),
            PHASE_REGISTER,
        ),
        Step(
            "Also restart on a non-zero exit code",
            ("sc", "failureflag", name, "1"),
            PHASE_REGISTER,
        ),
        Step(
            "Service DACL: users may only query",
            ("sc", "sdset", name, SDDL),
            PHASE_PERMISSIONS,
        ),
        *_icacls_steps(home),
    ]
    return steps


def _icacls_steps(home: PureWindowsPath) -> list[Step]:
    full = [f"{SYSTEM_SID}:(OI)(CI)F", f"{ADMINS_SID}:(OI)(CI)F"]
    steps = [
        Step(
            "Home: no inherited access; SYSTEM and Administrators full control",
            ("icacls", str(home), "/inheritance:r", "/grant:r", *full),
            PHASE_PERMISSIONS,
        )
    ]
    # /reset drops explicit ACEs so each folder holds exactly what it inherits from the home.
    for sub in ("config", "state", "secrets", "logs"):
        steps.append(
            Step(
                f"{sub}\\: SYSTEM and Administrators only",
                ("icacls", str(home / sub), "/reset", "/T", "/C", "/Q"),
                PHASE_PERMISSIONS,
            )
        )
    steps.append(
        Step(
            "logs\\: Users may read",
            ("icacls", str(home / "logs"), "/grant:r", f"{USERS_SID}:(OI)(CI)RX"),
            PHASE_PERMISSIONS,
        )
    )
    return steps


def uninstall_plan(
    inputs: ServiceInputs,
    delete_data: bool,
    *,
    delete_config: bool | None = None,
    delete_state: bool | None = None,
) -> list[Step]:
    """Stop and remove the service; delete config (with secrets) and state when asked."""
    name, nssm = inputs.service_name, str(inputs.nssm)
    steps = [
        # Not fatal: the service may already be stopped.
        Step("Stop the daemon", (nssm, "stop", name), PHASE_REMOVE, fatal=False),
        Step("Remove the service", (nssm, "remove", name, "confirm"), PHASE_REMOVE),
    ]
    wanted = {
        "config": delete_data if delete_config is None else delete_config,
        "secrets": delete_data if delete_config is None else delete_config,
        "state": delete_data if delete_state is None else delete_state,
    }
    for sub, delete in wanted.items():
        if delete:
            target = str(inputs.home / sub)
            steps.append(
                Step(
                    f"Delete {sub}\\",
                    ("cmd", "/d", "/c", "rmdir", "/s", "/q", target),
                    PHASE_DELETE,
                    fatal=False,
                )
            )
    return steps


def format_plan(steps: list[Step]) -> str:
    """The plan as a cmd.exe script: a REM line with each title, then the exact command."""
    lines: list[str] = []
    for step in steps:
        lines.append(f"REM {step.title}")
        lines.append(step.cmdline)
    return "\n".join(lines)
