"""deploy/nssm/*.ps1 must apply the same settings as the plan (a drift guard; no pwsh here)."""

from __future__ import annotations

from pathlib import Path, PureWindowsPath

from risk_manager.service import plan

NSSM_DIR = Path(__file__).resolve().parents[2] / "deploy" / "nssm"
INSTALL = (NSSM_DIR / "install.ps1").read_text()


def test_install_script_sets_the_same_nssm_parameters_as_the_plan() -> None:
    inputs = plan.ServiceInputs(home=PureWindowsPath(r"C:\RM"))
    for step in plan.install_plan(inputs):
        if step.argv[1] != "set" or step.argv[3] in {"Description", "AppEnvironmentExtra"}:
            continue
        name, *values = step.argv[3:]
        literal = ", ".join(f"'{v}'" for v in values)
        dynamic = {"AppDirectory": "$HomeDir", "AppStdout": "$log", "AppStderr": "$log"}
        rendered = dynamic.get(name, literal.replace("'10485760'", '"$RotateBytes"'))
        assert f"@('{name}', {rendered})" in INSTALL, name


def test_install_script_uses_the_plan_recovery_and_rights() -> None:
    assert "'reset=', '3600', 'actions=', 'restart/10000/restart/30000/restart/60000'" in INSTALL
    assert "@('failureflag', $ServiceName, '1')" in INSTALL
    assert f"$full = '{plan.FULL_CONTROL}'" in INSTALL
    assert f"$query = '{plan.QUERY_ONLY}'" in INSTALL
    for sid in (plan.SYSTEM_SID, plan.ADMINS_SID, plan.USERS_SID):
        assert sid in INSTALL


def test_scripts_require_elevation() -> None:
    for script in ("install.ps1", "uninstall.ps1"):
        assert (NSSM_DIR / script).read_text().startswith("#Requires -RunAsAdministrator")


def test_install_script_sddl_equals_the_plan() -> None:
    dacl = '"D:(A;;$full;;;SY)(A;;$full;;;BA)(A;;$query;;;IU)(A;;$query;;;SU)(A;;$query;;;AU)"'
    sacl = '"S:(AU;FA;$full;;;WD)"'
    assert dacl in INSTALL
    assert sacl in INSTALL
    rendered = (dacl + sacl).replace('"', "")
    rendered = rendered.replace("$full", plan.FULL_CONTROL).replace("$query", plan.QUERY_ONLY)
    assert rendered == plan.SDDL
