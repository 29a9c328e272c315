"""Swagger UI really renders the API offline (headless Chromium when the machine has it)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile

import pytest
from swagger_ui_bundle import swagger_ui_path

from tests.daemon_process import DaemonProcess


def test_bundled_swagger_ui_can_read_the_openapi_version_we_serve(daemon: DaemonProcess) -> None:
    served = daemon.client.get("/openapi.json").json()["openapi"]  # type: ignore[union-attr]
    major = int(re.search(r"swagger-ui-(\d+)", str(swagger_ui_path)).group(1))  # type: ignore[union-attr]
    # Swagger UI renders OpenAPI 3.1 from major version 5 on (4.x shows "Unable to render").
    assert served.startswith("3.0") or major >= 5


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_docs_page_renders_operations_with_only_loopback_reachable(daemon: DaemonProcess) -> None:
    result = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tempfile.mkdtemp()}",
         # Nothing but loopback resolves: the page must not need the internet.
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
         "--virtual-time-budget=8000", "--dump-dom", f"{daemon.url}/docs"],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip

    assert "Unable to render" not in result.stdout
    assert result.stdout.count('class="opblock ') >= 10  # the rendered operations
    assert "/api/v1/health" in result.stdout
