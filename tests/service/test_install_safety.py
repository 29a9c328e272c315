"""Install safety as data: links in the home, who may write the service's code, rollback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path, PureWindowsPath

import pytest

from risk_manager.service import aclcheck, plan, prepare, runner
from risk_manager.service.aclcheck import Ace, Security

TRADER = "S-1-5-21-1-2-3-1001"
USERS = "S-1-5-32-545"
AUTHENTICATED = "S-1-5-11"
ADMINS, SYSTEM = "S-1-5-32-544", "S-1-5-18"
READ_EXECUTE = 0x1200A9


# --- links in the home ---------------------------------------------------------------------


def test_create_makes_the_home_and_the_program_folder(tmp_path: Path) -> None:
    prepare.create(tmp_path / "home", tmp_path / "program")
    assert (tmp_path / "home").is_dir()
    assert (tmp_path / "program").is_dir()
    prepare.check(tmp_path / "home")
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == sorted(prepare.SUBDIRS)


def test_a_home_that_is_a_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "home").symlink_to(tmp_path / "elsewhere")
    assert prepare.main(["create", str(tmp_path / "home"), str(tmp_path / "program")]) == 1


def test_a_link_planted_inside_the_home_is_refused_and_not_entered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (tmp_path / "trader").mkdir()
    (tmp_path / "trader" / "inner").symlink_to(tmp_path)  # would loop if entered
    (home / "state").symlink_to(tmp_path / "trader")

    assert prepare.main(["check", str(home)]) == 1
    assert str(home / "state") in capsys.readouterr().err
    assert prepare.links_in(home) == [home / "state"]


def test_copy_nssm_copies_once_and_refuses_relative_sources(tmp_path: Path) -> None:
    source = tmp_path / "nssm.exe"
    source.write_bytes(b"MZ nssm")
    target = tmp_path / "program" / "nssm.exe"
    target.parent.mkdir()
    prepare.copy_nssm(source, target)
    prepare.copy_nssm(target, target)  # a re-run that found the installed copy
    assert target.read_bytes() == b"MZ nssm"
    with pytest.raises(prepare.PrepareError, match="absolute"):
        prepare.copy_nssm(Path("nssm.exe"), target)


# --- who may write python.exe, its import path and nssm.exe ----------------------------------


def test_program_files_default_acl_has_no_untrusted_writer() -> None:
    security = Security(
        "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
        (
            Ace(SYSTEM, 0x1F01FF),
            Ace(ADMINS, 0x1F01FF),
            Ace(USERS, READ_EXECUTE),
            Ace("S-1-3-0", 0x10000000, flags=0x8 | 0x3),  # CREATOR OWNER, inherit-only
        ),
    )
    assert aclcheck.untrusted_writers(security) == []


@pytest.mark.parametrize(
    ("security", "writers"),
    [
        # A per-user Python in the profile: the trader owns it.
        (Security(TRADER, (Ace(TRADER, 0x1F01FF), Ace(SYSTEM, 0x1F01FF))), [TRADER]),
        # An old C:\PythonXY: Authenticated Users may modify.
        (Security(ADMINS, (Ace(ADMINS, 0x1F01FF), Ace(AUTHENTICATED, 0x1301BF))), [AUTHENTICATED]),
        # Users may only add files (enough to plant a module).
        (Security(ADMINS, (Ace(USERS, READ_EXECUTE | 0x2),)), [USERS]),
        # A NULL DACL lets everyone write.
        (Security(ADMINS, None), ["S-1-1-0"]),
    ],
)
def test_writable_code_is_found(security: Security, writers: list[str]) -> None:
    assert aclcheck.untrusted_writers(security) == writers


def test_inherit_only_and_deny_aces_grant_nothing_here() -> None:
    security = Security(ADMINS, (Ace(USERS, 0x1F01FF, flags=0x8), Ace(USERS, 0x1F01FF, 1)))
    assert aclcheck.untrusted_writers(security) == []


def test_checked_paths_include_the_import_path_and_both_programs() -> None:
    python = PureWindowsPath(r"C:\Program Files\Python313\python.exe")
    nssm = PureWindowsPath(r"C:\Tools\nssm.exe")
    site = r"C:\Program Files\Python313\Lib\site-packages"
    assert aclcheck.paths_to_check(python, ["", site, site], nssm) == [
        str(python),
        r"C:\Program Files\Python313",
        str(nssm),
        r"C:\Tools",
        site,
    ]


# --- all or nothing ------------------------------------------------------------------------


class FakeRunner:
    """Records argv; fails the command whose first words match `fail`."""

    def __init__(self, fail: Sequence[str]) -> None:
        self.fail = tuple(fail)
        self.ran: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.ran.append(tuple(argv))
        code = 1 if tuple(argv[: len(self.fail)]) == self.fail else 0
        return subprocess.CompletedProcess(argv, code, "", "Access is denied." if code else "")


INPUTS = plan.ServiceInputs(
    home=PureWindowsPath(r"C:\ProgramData\RiskManager"),
    python=PureWindowsPath(r"C:\Program Files\Python313\python.exe"),
    nssm=PureWindowsPath(r"C:\Tools\nssm.exe"),
)


def test_a_failed_step_rolls_back_the_service_safe_mode_and_acls() -> None:
    steps = plan.install_plan(INPUTS)
    fake = FakeRunner(("sc", "sdset"))
    with pytest.raises(runner.StepFailedError) as failed:
        runner.run_steps(steps, runner=fake)

    assert failed.value.outcome.step.title == "Service DACL: users may only query"
    assert "Service DACL" in str(failed.value)
    undone = [o.step.argv for o in failed.value.rolled_back]
    nssm = str(INPUTS.installed_nssm)
    safeboot = rf"{plan.SAFEBOOT_KEY}\RiskManagerDaemon"
    restore = (
        "icacls", r"C:\ProgramData", "/restore",
        r"C:\Program Files\RiskManager\home-acl.txt", "/C", "/Q",
    )  # fmt: skip
    # Newest first, each once: Safe Mode entry, the service, then the home's saved ACLs.
    assert undone == [
        ("reg", "delete", safeboot, "/f"),
        (nssm, "remove", "RiskManagerDaemon", "confirm"),
        restore,
    ]
    assert fake.ran[-3:] == undone
    assert failed.value.rollback_failures == []


def test_a_failure_before_registration_removes_no_service() -> None:
    fake = FakeRunner(("icacls", r"C:\ProgramData\RiskManager\*"))
    with pytest.raises(runner.StepFailedError) as failed:
        runner.run_steps(plan.install_plan(INPUTS), runner=fake)
    assert [o.step.argv[0] for o in failed.value.rolled_back] == ["icacls"]
    assert not any("remove" in argv for argv in fake.ran)


def test_the_failed_step_itself_is_not_undone() -> None:
    # nssm install fails when a service of that name exists: it is not ours to remove.
    fake = FakeRunner((str(INPUTS.installed_nssm), "install"))
    with pytest.raises(runner.StepFailedError) as failed:
        runner.run_steps(plan.install_plan(INPUTS), runner=fake)
    assert not any(argv[1:2] == ("remove",) for argv in fake.ran)
    assert failed.value.rolled_back


# --- isolated mode ---------------------------------------------------------------------------


def test_a_risk_manager_planted_in_the_working_directory_is_not_imported(tmp_path: Path) -> None:
    planted = tmp_path / "risk_manager"
    planted.mkdir()
    (planted / "__init__.py").write_text("raise SystemExit('planted')\n")
    (planted / "__main__.py").write_text("raise SystemExit('planted')\n")
    args = plan.ServiceInputs(home=PureWindowsPath(r"C:\RM")).app_parameters.split()
    assert args[:2] == ["-I", "-u"]

    def run(*flags: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, *flags, "-m", "risk_manager", "--version"]
        return subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, check=False)

    assert run().stderr.strip() == "planted"  # the danger: the working directory comes first
    isolated = run(*args[:2])
    assert isolated.returncode == 0, isolated.stderr
    assert "planted" not in isolated.stdout + isolated.stderr
