"""Offline Swagger UI, and the HTTP guards: loopback Host only, body limit, no CORS."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.api.conftest import ADMIN, call, error_code, login
from tests.daemon_process import DaemonProcess

MAX_BODY = 1_000_000  # DaemonConfig.max_body_bytes default


def test_docs_page_uses_only_local_assets_that_are_served(daemon: DaemonProcess) -> None:
    page = call(daemon, "GET", "/docs")

    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text
    assert "https://" not in page.text
    assert "//" not in "".join(references)
    assert len(references) >= 3  # script, stylesheet, icon
    for reference in references:
        assert reference.startswith("/docs/assets/")
        assert call(daemon, "GET", reference).status_code == 200, reference
    assert "/openapi.json" in page.text


def test_openapi_json_is_served(daemon: DaemonProcess) -> None:
    schema = call(daemon, "GET", "/openapi.json").json()

    assert {"/api/v1/events", "/api/v1/trader/clock-in", f"{ADMIN}/config"} <= set(schema["paths"])
    assert "Bearer" in schema["info"]["description"]


@pytest.mark.parametrize("path", ["/api/v1/status", "/docs", "/openapi.json"])
def test_foreign_host_header_is_refused(daemon: DaemonProcess, path: str) -> None:
    response = call(daemon, "GET", path, {"Host": "evil.example.com"})

    assert response.status_code == 403
    assert error_code(response) == "forbidden_host"


def test_body_over_the_limit_is_413(daemon: DaemonProcess) -> None:
    headers = {**login(daemon), "Content-Type": "application/toml"}

    response = call(daemon, "PUT", f"{ADMIN}/config", headers, content=b"#" * (MAX_BODY + 1))

    assert response.status_code == 413
    assert error_code(response) == "body_too_large"


def test_chunked_body_over_the_limit_is_413(daemon: DaemonProcess) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the guard must count as it reads
        for _ in range(20):
            yield b"#" * (MAX_BODY // 10)

    headers = {**login(daemon), "Content-Type": "application/toml"}

    response = call(daemon, "PUT", f"{ADMIN}/config", headers, content=chunks())

    assert response.status_code == 413


def test_no_cors_headers_for_a_cross_origin_request(daemon: DaemonProcess) -> None:
    origin = {"Origin": "http://evil.example.com"}

    simple = call(daemon, "GET", "/api/v1/status", origin)
    preflight = call(daemon, "OPTIONS", "/api/v1/status",
                     {**origin, "Access-Control-Request-Method": "GET"})  # fmt: skip

    assert simple.status_code == 200
    for response in (simple, preflight):
        assert not any(h.lower().startswith("access-control-") for h in response.headers)
    assert preflight.status_code in (403, 405)
