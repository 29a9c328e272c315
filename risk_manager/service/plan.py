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
# The DACL only: a SACL part ("S:") would equal the Windows default and need SeSecurityPrivilege.
SDDL = (
    f"D:(A;;{FULL_CONTROL};;;SY)"  # LocalSystem: the service account
    f"(A;;{FULL_CONTROL};;;BA)"  # BUILTIN\Administrators
    f"(A;;{QUERY_ONLY};;;IU)"  # interactive users: the trader at the keyboard
    f"(A;;{QUERY_ONLY};;;SU)"  # service logon users
    f"(A;;{QUERY_ONLY};;;AU)"  # authenticated users (remote desktop, runas, WSL interop)
)

# icacls trustees as SIDs: group *names* are localized ("Administratoren"), SIDs are not.
SYSTEM_SID = "*S-1-5-18"
ADMINS_SID = "*S-1-5-32-544"
USERS_SID = "*S-1-5-32-545"

# A service named under this key also starts in Safe Mode with Networking, which a standard
# user can reach with Shift+Restart; the value "Service" marks the entry as a service.
SAFEBOOT_KEY = r"HKLM\SYSTEM\CurrentControlSet\Control\SafeBoot\Network"
DEFAULT_PROGRAM_DIR = PureWindowsPath(r"C:\Program Files\RiskManager")
ACL_BACKUP = "home-acl.txt"

PHASE_LOCK = "Locking the home (SYSTEM and Administrators only)"
PHASE_COPY = "Installing nssm.exe under Program Files"
PHASE_CONFIGURE = "Creating service configuration"
PHASE_REGISTER = "Registering with Windows Service Manager"
PHASE_PERMISSIONS = "Setting permissions (regular user cannot stop)"
PHASE_REMOVE = "Unregistering service"
PHASE_DELETE = "Deleting files"


def default_python() -> PureWindowsPath:
    """This interpreter on Windows; elsewhere (dry runs) where python.org installs it."""
    if sys.platform == "win32":
        # pythonw.exe has no console, so NSSM's Ctrl+C stop could never reach it.
        return PureWindowsPath(sys.executable.replace("pythonw.exe", "python.exe"))
    version = f"{sys.version_info.major}{sys.version_info.minor}"
    return PureWindowsPath(rf"C:\Program Files\Python{version}\python.exe")


@dataclass(frozen=True, slots=True)
class ServiceInputs:
    """Everything the plan depends on; Windows paths even when the plan is printed elsewhere."""

    home: PureWindowsPath
    python: PureWindowsPath = field(default_factory=default_python)
    # The nssm.exe found on this machine; the service runs a copy in program_dir.
    nssm: PureWindowsPath = field(default_factory=lambda: PureWindowsPath("nssm.exe"))
    program_dir: PureWindowsPath = DEFAULT_PROGRAM_DIR
    service_name: str = SERVICE_NAME
    display_name: str = DISPLAY_NAME
    description: str = DESCRIPTION
    rotate_bytes: int = DEFAULT_ROTATE_BYTES

    def __post_init__(self) -> None:
        for name in ("home", "python", "program_dir"):
            if not getattr(self, name).is_absolute():
                raise ValueError(
                    f"{name} must be an absolute Windows path, got {getattr(self, name)}"
                )
        if not self.service_name or any(c in self.service_name for c in ' "/\\'):
            raise ValueError(f"service name must be one word, got {self.service_name!r}")
        if self.rotate_bytes <= 0:
            raise ValueError("rotate_bytes must be positive")

    @property
    def service_log(self) -> PureWindowsPath:
        return self.home / "logs" / "service.log"

    @property
    def installed_nssm(self) -> PureWindowsPath:
        """The nssm.exe the service runs: a copy where only administrators can write."""
        return self.program_dir / "nssm.exe"

    @property
    def app_parameters(self) -> str:
        """The AppParameters string: nssm joins its arguments, so the home is quoted here.

        -I (isolated): neither the working directory (the home) nor PYTHON* variables reach the
        import path, so a risk_manager/ folder planted in the home is never imported; -u
        replaces PYTHONUNBUFFERED, which -I ignores.
        """
        return to_cmdline(["-I", "-u", "-m", "risk_manager", "run", "--home", str(self.home)])


@dataclass(frozen=True, slots=True)
class Step:
    """One command of the plan: a title for humans, argv for CreateProcess, and its undo."""

    title: str
    argv: tuple[str, ...]
    phase: str
    fatal: bool = True
    # What rolls this step back when a later step fails (empty: nothing to undo).
    undo: tuple[str, ...] = ()

    @property
    def cmdline(self) -> str:
        return to_cmdline(self.argv)


def _nssm_set(inputs: ServiceInputs, title: str, *values: str) -> Step:
    argv = (str(inputs.installed_nssm), "set", inputs.service_name, *values)
    return Step(title, argv, PHASE_CONFIGURE)


def _prepare(inputs: ServiceInputs, title: str, *args: str, phase: str = PHASE_LOCK) -> Step:
    """A step that runs as Python code (risk_manager.service.prepare), in isolated mode."""
    argv = (str(inputs.python), "-I", "-m", "risk_manager.service.prepare", *args)
    return Step(title, argv, phase)


def install_plan(inputs: ServiceInputs) -> list[Step]:
    """The commands that lock the home, then register and lock down the service, in order."""
    name, home = inputs.service_name, inputs.home
    log = str(inputs.service_log)
    actions = "/".join(f"restart/{delay}" for delay in RESTART_DELAYS_MS)
    safeboot = f"{SAFEBOOT_KEY}\\{name}"
    return [
        *_lock_home_steps(inputs),
        _prepare(
            inputs,
            "Copy nssm.exe where only administrators can write",
            "copy-nssm",
            str(inputs.nssm),
            str(inputs.installed_nssm),
            phase=PHASE_COPY,
        ),
        Step(
            "Register the service (python.exe -I -u -m risk_manager run, never a .bat)",
            (
                str(inputs.installed_nssm),
                "install",
                name,
                str(inputs.python),
                inputs.app_parameters,
            ),
            PHASE_REGISTER,
            undo=(str(inputs.installed_nssm), "remove", name, "confirm"),
        ),
        _nssm_set(inputs, "Display name", "DisplayName", inputs.display_name),
        _nssm_set(inputs, "Description", "Description", inputs.description),
        # Delayed: the SCM starts it about two minutes after the automatic services.
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
        # NSSM's default, set anyway: `risk-admin doctor` compares every setting of this plan
        # with the live service, so an edit in the NSSM GUI that would leave children of a
        # killed daemon running (holding the port and the home lock) is reported as drift.
        _nssm_set(inputs, "Kill the whole process tree", "AppKillProcessTree", "1"),
        # nssm exits with the daemon's code, so the SCM recovery below handles the restart.
        _nssm_set(inputs, "Exit with the daemon", "AppExit", "Default", "Exit"),
        _nssm_set(inputs, "Environment", "AppEnvironmentExtra", f"RISK_MANAGER_HOME={home}"),
        Step(
            "Restart after 10 s, 30 s, 60 s; reset after 1 h",
            ("sc", "failure", name, "reset=", str(RESET_SECONDS), "actions=", actions),
            PHASE_REGISTER,
        ),
        Step(
            "Also restart on a non-zero exit code (not only when the process dies)",
            ("sc", "failureflag", name, "1"),
            PHASE_REGISTER,
        ),
        Step(
            "Also run in Safe Mode with Networking",
            ("reg", "add", safeboot, "/ve", "/t", "REG_SZ", "/d", "Service", "/f"),
            PHASE_REGISTER,
            undo=("reg", "delete", safeboot, "/f"),
        ),
        Step("Service DACL: users may only query", ("sc", "sdset", name, SDDL), PHASE_PERMISSIONS),
    ]


def _lock_home_steps(inputs: ServiceInputs) -> list[Step]:
    """Lock the home before the service exists: a trader who pre-created it loses control."""
    home, parent = str(inputs.home), str(inputs.home.parent)
    backup = str(inputs.program_dir / ACL_BACKUP)
    restore = ("icacls", parent, "/restore", backup, "/C", "/Q")
    take_ownership = ("icacls", home, "/setowner", ADMINS_SID, "/T", "/C", "/Q")
    full = [f"{SYSTEM_SID}:(OI)(CI)F", f"{ADMINS_SID}:(OI)(CI)F"]
    return [
        _prepare(
            inputs,
            "Create the home; refuse links (junctions, symlinks) in it",
            "create",
            home,
            str(inputs.program_dir),
        ),
        Step(
            "Save the home's ACLs (restored if the install fails)",
            ("icacls", home, "/save", backup, "/T", "/C", "/Q"),
            PHASE_LOCK,
        ),
        Step("Take ownership: Administrators own the home", take_ownership, PHASE_LOCK),
        Step(
            "Home: no inherited access; SYSTEM and Administrators full control",
            ("icacls", home, "/inheritance:r", "/grant:r", *full),
            PHASE_LOCK,
            undo=restore,
        ),
        _prepare(inputs, "Create config, state, secrets, logs; refuse links", "check", home),
        # Anything created between taking ownership and the lock is owned by its creator.
        Step(
            "Take ownership again, now that nobody else can add files", take_ownership, PHASE_LOCK
        ),
        Step(
            "Everything inside inherits from the home only (explicit grants removed)",
            ("icacls", str(inputs.home / "*"), "/reset", "/T", "/C", "/Q"),
            PHASE_LOCK,
            undo=restore,
        ),
        Step(
            "logs\\: Users may read",
            ("icacls", str(inputs.home / "logs"), "/grant:r", f"{USERS_SID}:(OI)(CI)RX"),
            PHASE_LOCK,
        ),
    ]


def uninstall_plan(
    inputs: ServiceInputs,
    delete_data: bool,
    *,
    delete_config: bool | None = None,
    delete_state: bool | None = None,
) -> list[Step]:
    """Stop and remove the service; delete config (with secrets) and state when asked."""
    name, nssm = inputs.service_name, str(inputs.installed_nssm)
    steps = [
        # Not fatal: the service may already be stopped.
        Step("Stop the daemon", (nssm, "stop", name), PHASE_REMOVE, fatal=False),
        Step("Remove the service", (nssm, "remove", name, "confirm"), PHASE_REMOVE),
        # Not fatal: an install from before Safe Mode support has no key.
        Step(
            "Remove the Safe Mode entry",
            ("reg", "delete", f"{SAFEBOOT_KEY}\\{name}", "/f"),
            PHASE_REMOVE,
            fatal=False,
        ),
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
