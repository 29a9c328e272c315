"""The service plan as data: exact nssm / sc / icacls argv, quoting, SDDL rights."""

from __future__ import annotations

import re
import subprocess
from pathlib import PureWindowsPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from risk_manager.service import plan
from risk_manager.service.cmdline import to_cmdline
from tests.service.winargv import parse_cmdline

HOME = PureWindowsPath(r"C:\Program Files\Risk Home")
PYTHON = PureWindowsPath(r"C:\Program Files\Python311\python.exe")
NSSM = PureWindowsPath(r"C:\Tools\nssm.exe")


@pytest.fixture
def inputs() -> plan.ServiceInputs:
    return plan.ServiceInputs(home=HOME, python=PYTHON, nssm=NSSM)


INSTALLED_NSSM = r"C:\Program Files\RiskManager\nssm.exe"


def nssm_settings(steps: list[plan.Step]) -> dict[str, tuple[str, ...]]:
    return {
        s.argv[3]: s.argv[4:] for s in steps if s.argv[0] == INSTALLED_NSSM and s.argv[1] == "set"
    }


def install_step(inputs: plan.ServiceInputs) -> plan.Step:
    return next(s for s in plan.install_plan(inputs) if s.argv[1:2] == ("install",))


# --- quoting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["a", "b"], "a b"),
        (["C:\\Program Files\\x"], '"C:\\Program Files\\x"'),
        ([""], '""'),
        (['say "hi"'], '"say \\"hi\\""'),
        (["C:\\dir with space\\"], '"C:\\dir with space\\\\"'),
        (["C:\\no_space\\"], "C:\\no_space\\"),
    ],
)
def test_to_cmdline_quotes_like_the_ms_runtime(argv: list[str], expected: str) -> None:
    assert to_cmdline(argv) == expected


@given(st.lists(st.text(alphabet=st.sampled_from(list('ab \\"\tC:')), max_size=12), max_size=5))
def test_to_cmdline_round_trips_through_the_crt_parser(argv: list[str]) -> None:
    assert parse_cmdline(to_cmdline(argv)) == argv


@given(st.lists(st.text(alphabet=st.sampled_from(list('ab \\"\tC:')), max_size=12), max_size=5))
def test_to_cmdline_parses_like_list2cmdline(argv: list[str]) -> None:
    assert parse_cmdline(to_cmdline(argv)) == parse_cmdline(subprocess.list2cmdline(argv))


# --- install -------------------------------------------------------------------------------


def test_install_registers_python_module_with_quoted_home(inputs: plan.ServiceInputs) -> None:
    first = install_step(inputs)

    assert first.argv == (
        INSTALLED_NSSM,
        "install",
        "RiskManagerDaemon",
        str(PYTHON),
        r'-I -u -m risk_manager run --home "C:\Program Files\Risk Home"',
    )
    # CreateProcess hands nssm exactly five arguments; nssm stores the last as AppParameters,
    # which python.exe then splits into a home that keeps its space.
    assert parse_cmdline(first.cmdline) == list(first.argv)
    app_argv = parse_cmdline(first.argv[4])
    # -I: a risk_manager/ planted in the home (the working directory) is never imported.
    assert app_argv == ["-I", "-u", "-m", "risk_manager", "run", "--home", str(HOME)]
    assert first.undo == (INSTALLED_NSSM, "remove", "RiskManagerDaemon", "confirm")


def test_install_home_with_trailing_backslash_survives_quoting() -> None:
    odd = plan.ServiceInputs(home=PureWindowsPath("C:\\Risk Home\\"), python=PYTHON)
    assert parse_cmdline(odd.app_parameters)[-1] == str(odd.home)


def test_install_sets_every_nssm_parameter_exactly(inputs: plan.ServiceInputs) -> None:
    settings = nssm_settings(plan.install_plan(inputs))

    log = r"C:\Program Files\Risk Home\logs\service.log"
    assert settings == {
        "DisplayName": ("Risk Manager Daemon",),
        "Description": (plan.DESCRIPTION,),
        "Start": ("SERVICE_DELAYED_AUTO_START",),
        "ObjectName": ("LocalSystem",),
        "DependOnService": ("Tcpip", "Dnscache"),
        "AppDirectory": (str(HOME),),
        "AppStdout": (log,),
        "AppStderr": (log,),
        "AppStdoutCreationDisposition": ("4",),
        "AppStderrCreationDisposition": ("4",),
        "AppRotateFiles": ("1",),
        "AppRotateOnline": ("1",),
        "AppRotateBytes": ("10485760",),
        "AppStopMethodSkip": ("6",),
        "AppStopMethodConsole": ("30000",),
        "AppKillProcessTree": ("1",),
        "AppExit": ("Default", "Exit"),
        "AppEnvironmentExtra": (rf"RISK_MANAGER_HOME={HOME}",),
    }


def test_install_description_matches_the_brief() -> None:
    assert plan.DESCRIPTION == (
        "Professional risk management service for trading accounts. Enforces position limits "
        "and loss thresholds in real-time."
    )


def test_install_sc_failure_uses_separate_value_arguments(inputs: plan.ServiceInputs) -> None:
    steps = plan.install_plan(inputs)
    sc_steps = [s.argv for s in steps if s.argv[0] == "sc"]

    assert (
        "sc",
        "failure",
        "RiskManagerDaemon",
        "reset=",
        "3600",
        "actions=",
        "restart/10000/restart/30000/restart/60000",
    ) in sc_steps
    assert ("sc", "failureflag", "RiskManagerDaemon", "1") in sc_steps
    failure = next(s for s in steps if s.argv[1] == "failure")
    assert failure.cmdline == (
        "sc failure RiskManagerDaemon reset= 3600 actions= "
        "restart/10000/restart/30000/restart/60000"
    )


def aces(sddl: str) -> dict[str, set[str]]:
    dacl = sddl.split("S:")[0]
    found: dict[str, set[str]] = {}
    for ace_type, rights, trustee in re.findall(r"\((\w+);;(\w*);;;(\w+)\)", dacl):
        assert ace_type == "A"
        found[trustee] = {rights[i : i + 2] for i in range(0, len(rights), 2)}
    return found


def test_sddl_gives_users_query_rights_only(inputs: plan.ServiceInputs) -> None:
    sdset = next(s for s in plan.install_plan(inputs) if s.argv[:2] == ("sc", "sdset"))
    granted = aces(sdset.argv[3])

    full = {"CC", "DC", "LC", "SW", "RP", "WP", "DT", "LO", "CR", "SD", "RC", "WD", "WO"}
    assert granted["SY"] == full
    assert granted["BA"] == full
    for user in ("IU", "AU", "SU"):
        assert granted[user] == {"CC", "LC", "SW", "LO", "RC"}
        # start, stop, pause/continue, change config, user-defined control, delete, ACL edits
        assert not granted[user] & {"RP", "WP", "DT", "DC", "CR", "SD", "WD", "WO"}
    assert set(granted) == {"SY", "BA", "IU", "AU", "SU"}


def test_home_is_locked_before_the_service_exists(inputs: plan.ServiceInputs) -> None:
    steps = plan.install_plan(inputs)
    argvs = [s.argv for s in steps]
    register = argvs.index(install_step(inputs).argv)
    owner = ("icacls", str(HOME), "/setowner", "*S-1-5-32-544", "/T", "/C", "/Q")
    lock = (
        "icacls",
        str(HOME),
        "/inheritance:r",
        "/grant:r",
        "*S-1-5-18:(OI)(CI)F",
        "*S-1-5-32-544:(OI)(CI)F",
    )
    reset = ("icacls", str(HOME / "*"), "/reset", "/T", "/C", "/Q")
    users = ("icacls", str(HOME / "logs"), "/grant:r", "*S-1-5-32-545:(OI)(CI)RX")
    create = argvs.index(
        (str(PYTHON), "-I", "-m", "risk_manager.service.prepare", "create", str(HOME),
         r"C:\Program Files\RiskManager")
    )  # fmt: skip
    check = argvs.index(
        (str(PYTHON), "-I", "-m", "risk_manager.service.prepare", "check", str(HOME))
    )
    # Create (refusing links), take ownership, lock, look for links again, own what appeared
    # in between, reset everything inside, then let Users read the logs — all before nssm.
    owners = [i for i, argv in enumerate(argvs) if argv == owner]
    order = [create, owners[0], argvs.index(lock), check, owners[1], argvs.index(reset)]
    assert order == sorted(order)
    assert argvs.index(users) == argvs.index(reset) + 1 < register
    assert not any(
        a.startswith(plan.USERS_SID) for argv in argvs[:-1] if argv != users for a in argv
    )


def test_failed_lock_restores_the_saved_acls(inputs: plan.ServiceInputs) -> None:
    steps = plan.install_plan(inputs)
    backup = r"C:\Program Files\RiskManager\home-acl.txt"
    save = next(s for s in steps if "/save" in s.argv)
    assert save.argv == ("icacls", str(HOME), "/save", backup, "/T", "/C", "/Q")
    restore = ("icacls", r"C:\Program Files", "/restore", backup, "/C", "/Q")
    assert [s.title for s in steps if s.undo == restore] == [
        "Home: no inherited access; SYSTEM and Administrators full control",
        "Everything inside inherits from the home only (explicit grants removed)",
    ]
    assert steps.index(save) < min(i for i, s in enumerate(steps) if s.undo == restore)


def test_service_runs_the_copy_of_nssm_under_program_files(inputs: plan.ServiceInputs) -> None:
    steps = plan.install_plan(inputs)
    copy = next(s for s in steps if "copy-nssm" in s.argv)
    assert copy.argv[-2:] == (str(NSSM), INSTALLED_NSSM)
    nssm_steps = [s for s in steps if s.argv[0].lower().endswith("nssm.exe")]
    assert nssm_steps
    assert all(s.argv[0] == INSTALLED_NSSM for s in nssm_steps)
    assert steps.index(copy) < steps.index(nssm_steps[0])


def test_safe_mode_entry_is_added_and_removed(inputs: plan.ServiceInputs) -> None:
    key = r"HKLM\SYSTEM\CurrentControlSet\Control\SafeBoot\Network\RiskManagerDaemon"
    add = next(s for s in plan.install_plan(inputs) if s.argv[:2] == ("reg", "add"))
    assert add.argv == ("reg", "add", key, "/ve", "/t", "REG_SZ", "/d", "Service", "/f")
    assert add.undo == ("reg", "delete", key, "/f")
    uninstall = [s.argv for s in plan.uninstall_plan(inputs, delete_data=False)]
    assert ("reg", "delete", key, "/f") in uninstall


def test_sddl_has_no_sacl() -> None:
    assert "S:" not in plan.SDDL
    assert plan.SDDL.startswith("D:")


def test_install_never_runs_a_batch_file(inputs: plan.ServiceInputs) -> None:
    for step in plan.install_plan(inputs):
        assert not any(arg.lower().endswith((".bat", ".cmd")) for arg in step.argv)
        assert step.fatal


def test_install_phases_follow_the_brief_order(inputs: plan.ServiceInputs) -> None:
    phases = list(dict.fromkeys(s.phase for s in plan.install_plan(inputs)))
    assert phases == [
        plan.PHASE_LOCK,
        plan.PHASE_COPY,
        plan.PHASE_REGISTER,
        plan.PHASE_CONFIGURE,
        plan.PHASE_PERMISSIONS,
    ]


def test_format_plan_prints_titles_and_exact_commands(inputs: plan.ServiceInputs) -> None:
    steps = plan.install_plan(inputs)
    start = steps.index(install_step(inputs))
    text = plan.format_plan(steps[start : start + 2])
    assert text.splitlines() == [
        "REM Register the service (python.exe -I -u -m risk_manager run, never a .bat)",
        r'"C:\Program Files\RiskManager\nssm.exe" install RiskManagerDaemon '
        r'"C:\Program Files\Python311\python.exe" '
        r'"-I -u -m risk_manager run --home \"C:\Program Files\Risk Home\""',
        "REM Display name",
        r'"C:\Program Files\RiskManager\nssm.exe" set RiskManagerDaemon DisplayName '
        r'"Risk Manager Daemon"',
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"home": PureWindowsPath("relative\\home")}, "absolute"),
        ({"home": HOME, "python": PureWindowsPath("python.exe")}, "absolute"),
        ({"home": HOME, "service_name": "Risk Manager"}, "one word"),
        ({"home": HOME, "rotate_bytes": 0}, "positive"),
    ],
)
def test_inputs_reject_bad_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan.ServiceInputs(**kwargs)  # type: ignore[arg-type]


# --- uninstall -----------------------------------------------------------------------------


def test_uninstall_stops_then_removes_and_keeps_data(inputs: plan.ServiceInputs) -> None:
    steps = plan.uninstall_plan(inputs, delete_data=False)

    key = r"HKLM\SYSTEM\CurrentControlSet\Control\SafeBoot\Network\RiskManagerDaemon"
    assert [s.argv for s in steps] == [
        (INSTALLED_NSSM, "stop", "RiskManagerDaemon"),
        (INSTALLED_NSSM, "remove", "RiskManagerDaemon", "confirm"),
        ("reg", "delete", key, "/f"),
    ]
    assert [s.fatal for s in steps] == [False, True, False]


def test_uninstall_with_delete_data_removes_config_secrets_state(
    inputs: plan.ServiceInputs,
) -> None:
    deleted = [s.argv[-1] for s in plan.uninstall_plan(inputs, delete_data=True)[3:]]
    assert deleted == [str(HOME / "config"), str(HOME / "secrets"), str(HOME / "state")]
    assert str(HOME / "logs") not in deleted


def test_uninstall_asks_config_and_state_separately(inputs: plan.ServiceInputs) -> None:
    steps = plan.uninstall_plan(inputs, False, delete_config=False, delete_state=True)
    assert [s.argv for s in steps[3:]] == [
        ("cmd", "/d", "/c", "rmdir", "/s", "/q", str(HOME / "state"))
    ]
