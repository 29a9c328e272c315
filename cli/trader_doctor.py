"""risk-trader doctor: find the daemon and explain why it cannot be reached."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cli.client import Client, HomeOption, UrlOption, check_url
from cli.exit_codes import CliError, ExitCode
from cli.output import JsonOption, console, emit_json, note
from risk_manager.netaddr import is_loopback_host
from risk_manager.paths import HomePaths, default_home
from risk_manager.service.control import url_candidates

WSL_HINT = (
    "WSL2 cannot reach a daemon on the Windows loopback in NAT mode. Add to "
    "%UserProfile%\\.wslconfig:\n[wsl2]\nnetworkingMode=mirrored\nthen run `wsl --shutdown` "
    "from Windows and reopen this shell, or pass --url."
)


def is_wsl() -> bool:
    """Whether this runs inside Windows Subsystem for Linux."""
    try:
        return "microsoft" in Path("/proc/version").read_text(encoding="utf-8").lower()
    except OSError:
        return False


def is_loopback(url: str) -> bool:
    """Whether the URL's host is a loopback address (the daemon refuses anything else)."""
    return is_loopback_host(urlsplit(url).hostname or "")


def _probe(url: str, source: str) -> tuple[dict[str, Any] | None, str | None]:
    """(health, None) when it answers, else (None, why not)."""
    try:
        check_url(url, source)
        with Client(url, timeout=3.0) as client:
            return client.get("/health"), None
    except CliError as exc:
        return None, exc.message


def doctor(url: UrlOption = None, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Find the daemon: try --url, $RISK_MANAGER_URL, the home's state/daemon.url, the port
    in the home's config and the default."""
    checks = []
    for source, candidate in url_candidates(HomePaths(home or default_home()), url):
        health, problem = _probe(candidate, source)
        checks.append(
            {
                "source": source,
                "url": candidate,
                "loopback": is_loopback(candidate),
                "reachable": health is not None,
                "status": None if health is None else health.get("status"),
                "problem": problem,
            }
        )
    found = next((c["url"] for c in checks if c["reachable"]), None)
    wsl = is_wsl()
    if as_json:
        emit_json({"found": found, "wsl": wsl, "candidates": checks})
    else:
        for check in checks:
            mark = "[green]✓[/]" if check["reachable"] else "[red]✗[/]"
            state = check["status"] or "no answer"
            local = "" if check["loopback"] else " [yellow](not loopback: the daemon refuses it)[/]"
            console.print(f"{mark} {check['url']} ({check['source']}): {state}{local}")
        console.print(f"{'[yellow]![/]' if wsl else '[green]✓[/]'} WSL: {'yes' if wsl else 'no'}")
        if found:
            console.print(f"[green]Daemon found at {found}[/]")
        if found and not checks[0]["reachable"]:
            # The CLIs use only the first candidate: say which one hides the daemon.
            first = checks[0]
            console.print(
                f"[yellow]![/] the CLIs use {first['url']} ({first['source']}), which does not "
                f"answer: pass --url {found} or remove that setting",
                soft_wrap=True,
            )
    if found is None:
        if wsl:
            note(WSL_HINT)
        where = home or default_home()
        raise CliError(
            f"daemon not reachable at any candidate URL (home {where}; a daemon started with "
            "`--home DIR` is found with --home DIR or RISK_MANAGER_HOME=DIR)",
            ExitCode.NOT_RUNNING,
        )
