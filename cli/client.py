"""The HTTP client of both CLIs: finds the daemon, unwraps envelopes, raises typed errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
import typer

from cli.exit_codes import CliError, ExitCode
from risk_manager.paths import HomePaths, default_home
from risk_manager.service import control
from risk_manager.service.control import DEFAULT_URL, URL_ENV, locate_url

API = "/api/v1"
TIMEOUT = 10.0

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar=URL_ENV,
        show_envvar=True,
        metavar="URL",
        help="Daemon API base URL (default: the home's state/daemon.url, else the port in "
        "the home's config, else " + DEFAULT_URL + ").",
    ),
]
HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        metavar="DIR",
        help="The daemon's home directory, as given to `risk-manager run --home` "
        "(default: $RISK_MANAGER_HOME, else the platform's).",
    ),
]
_PORT = re.compile(r"^(\[[^\]]*\]|[^:]*)(?::(.*))?$")


def check_url(url: str, source: str = "--url") -> str:
    """The URL without a trailing slash, or a CliError (exit 2) saying what is wrong with it."""
    where = f"{source} {url!r}"
    if "://" not in url:
        raise CliError(f"{where} has no scheme: write it as http://{url}", ExitCode.USAGE)
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unbalanced "[" of an IPv6 host, ...
        raise CliError(f"{where} is not a valid URL: {exc}", ExitCode.USAGE) from None
    if parts.scheme not in ("http", "https"):
        raise CliError(f"{where}: the scheme must be http or https", ExitCode.USAGE)
    host_port = _PORT.match(parts.netloc.rpartition("@")[2])
    host, port = (host_port.group(1), host_port.group(2)) if host_port else ("", None)
    if not host:
        raise CliError(f"{where} has no host, e.g. http://127.0.0.1:5555", ExitCode.USAGE)
    if any(c.isspace() for c in host):
        raise CliError(f"{where}: the host {host!r} contains a space", ExitCode.USAGE)
    if port is not None and not (port.isascii() and port.isdigit()):
        raise CliError(f"{where}: the port {port!r} is not a number", ExitCode.USAGE)
    if port is not None and not 1 <= int(port) <= 65535:
        raise CliError(f"{where}: the port {port} is not between 1 and 65535", ExitCode.USAGE)
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise CliError(
            f"{where}: give only the base URL (scheme, host, port), e.g. http://127.0.0.1:5555",
            ExitCode.USAGE,
        )
    return url.rstrip("/")


class DaemonDown(CliError):
    """Nothing answered at the URL (refused, timed out, no route)."""

    def __init__(self, url: str, source: str = "--url", home: Path | None = None) -> None:
        hint = "check --url"
        what = f"daemon not running at {url} (from {source}) — start it with `risk-admin start`; "
        if source not in ("--url", URL_ENV):
            where = home or default_home()
            hint = (
                f"looked in {where} (a daemon started with `--home DIR` is found with "
                "--home DIR or RISK_MANAGER_HOME=DIR), or pass --url"
            )
            if (pid := control.read_pid(HomePaths(where))) is not None:
                # It enforces, but its API is not up: "not running" would send the admin
                # off to start a second daemon.
                what = (
                    f"the daemon runs (PID {pid}) but its API does not answer at {url} "
                    f"(from {source}): its port may be taken by another program "
                    "(`risk-admin doctor` checks); "
                )
                hint = f"home {where}"
        super().__init__(what + hint, ExitCode.NOT_RUNNING)
        self.url = url


class ApiFailure(CliError):
    """The daemon answered with an error envelope (or something that is not one)."""

    def __init__(
        self, code: str, message: str, details: Any = None, status: int = 0, path: str = ""
    ) -> None:
        super().__init__(message, _exit_code(status, code))
        self.code = code
        self.details = details
        self.status = status


def _exit_code(status: int, code: str) -> ExitCode:
    if status in (401, 429) or code in ("unauthorized", "auth_failed", "auth_wait"):
        return ExitCode.AUTH_FAILED
    if status == 404:
        return ExitCode.NOT_FOUND
    if code == "invalid_config":  # validate, edit, replace and reload all answer 5
        return ExitCode.INVALID_CONFIG
    if status in (400, 413, 422):
        return ExitCode.USAGE
    return ExitCode.FAILED


def locate(url: str | None = None, home: Path | None = None) -> tuple[str, str]:
    """The checked base URL and its source: --url, $RISK_MANAGER_URL, the home's
    state/daemon.url, the port in the home's config, else the default."""
    found, source = locate_url(HomePaths(home or default_home()), url)
    return check_url(found, source), source


def unwrap(response: httpx.Response) -> Any:
    """The `data` of a success envelope; ApiFailure for anything else."""
    path = response.request.url.path if response.request else ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("status") == "success":
        return body.get("data")
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("code") or "request failed")
        if error.get("code") in ("not_found", "method_not_allowed"):
            # No such route: an older daemon, or a wrong --url pointing at another server.
            method = response.request.method
            message = f"no route {method} {path} (daemon too old, or --url points elsewhere)"
        if response.status_code == 429 and (retry := response.headers.get("Retry-After")):
            message += f" (retry after {retry} s)"
        code = str(error.get("code") or "error")
        details = error.get("details")
        failure = ApiFailure(code, message, details, response.status_code, path)
        if code == "invalid_config" and isinstance(details, list) and details:
            # Each problem on its own line (as `config validate` prints them), then a summary.
            failure.lines = [str(problem) for problem in details]
            failure.message = f"configuration refused, nothing changed: {len(details)} problem(s)"
        raise failure
    raise ApiFailure(
        "bad_reply",
        f"unexpected reply from daemon (HTTP {response.status_code})",
        None,
        response.status_code,
        path,
    )


class Client:
    """Talks to one daemon; every method returns unwrapped `data`."""

    def __init__(
        self, url: str | None = None, *, home: Path | None = None, timeout: float = TIMEOUT
    ) -> None:
        self.url, self.source = locate(url, home)
        self.home = home
        # trust_env=False: an HTTP proxy from the environment must never see loopback traffic.
        self.http = httpx.Client(base_url=self.url, timeout=timeout, trust_env=False)
        self.token: str | None = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request under /api/v1 and unwrap the envelope."""
        try:
            headers = {**self._headers(), **kwargs.pop("headers", {})}
            response = self.http.request(method, API + path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise self.down() from exc
        return unwrap(response)

    def down(self) -> DaemonDown:
        """The error for "nothing answers at this client's URL"."""
        return DaemonDown(self.url, self.source, self.home)

    def get(self, path: str, **params: Any) -> Any:
        """GET with query parameters (None values dropped)."""
        query = {k: v for k, v in params.items() if v is not None}
        return self.request("GET", path, params=query)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST a JSON body."""
        return self.request("POST", path, json=body or {})

    def put_text(self, path: str, text: str, content_type: str) -> Any:
        """PUT a text body with the given content type."""
        headers = {"Content-Type": content_type}
        return self.request("PUT", path, content=text.encode("utf-8"), headers=headers)

    def events(self, read_timeout: float = 60.0) -> Iterator[tuple[str, Any]]:
        """Server-Sent Events from /events as (type, data); ends when the stream closes."""
        timeout = httpx.Timeout(TIMEOUT, read=read_timeout)
        try:
            with self.http.stream("GET", API + "/events", timeout=timeout) as response:
                if response.status_code != 200:
                    response.read()
                    unwrap(response)
                yield from parse_sse(response.iter_lines())
        except httpx.TransportError as exc:
            raise self.down() from exc


def parse_sse(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """Group `event:`/`data:` lines into messages; comments (keep-alives) are skipped."""
    kind, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                text = "\n".join(data)
                try:
                    yield kind, json.loads(text)
                except ValueError:
                    yield kind, text
            kind, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                kind = value
            elif field == "data":
                data.append(value)
