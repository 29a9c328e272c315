"""Offline Swagger UI (assets from the swagger_ui_bundle package) and the API's description."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs/assets"

DESCRIPTION = """
Risk Manager Daemon API. Every response is an envelope:
`{"status": "success", "data": ...}` or `{"status": "error", "error": {"code", "message"}}`.
Only loopback Host headers are served; there is no CORS; large bodies are refused (413).

## Admin authentication (SCRAM-SHA-256, then a bearer token)

Routes under `/api/v1/admin/` (except the two below) need `Authorization: Bearer <token>`.
The easy way: run `risk-admin token`, then paste the token into the **Authorize** button on this
page, or send it with curl:

```
TOKEN=$(risk-admin token)
curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:5555/api/v1/admin/config
```

The token lives only in the daemon's memory and ends after 15 minutes, on a password change, or
when the daemon restarts. `risk-admin token` runs SCRAM-SHA-256 (RFC 5802 / RFC 7677, user
`admin`, no channel binding); the password never travels and the daemon stores only the
verifier, which cannot log in:

1. `POST /api/v1/admin/challenge` with `{"client_first": "n,,n=admin,r=<client nonce>"}`
   returns `server_first` (`r=<nonce>,s=<salt>,i=<iterations>`), `wait` (seconds to wait
   before answering, see below) and `expires_in` (at most 60 s after the wait).
2. `POST /api/v1/admin/session` with `{"client_final": "c=biws,r=<nonce>,p=<proof>"}` returns
   `server_final` (`v=<server signature>`), `token`, `token_type` and `expires_in`. Check the
   signature before trusting the token: only the real daemon can compute it.

Clients refuse a challenge asking for fewer than 600,000 iterations (a program squatting the
port could otherwise brute-force the proof cheaply). Each challenge is single use; an unknown,
used or expired one answers 401 `auth_failed` and does not count as a failure (every
`auth_failed` also carries RFC 5802's `e=...` error in `error.details.server_final`). Wrong proofs
against issued challenges do: after 3, new challenges carry a growing `wait` (1, 2, 4 … up to
120 s); answering early gives 429 `auth_wait` with `Retry-After` and keeps the challenge. The
count resets on success, after 15 quiet minutes, or with `risk-admin auth-reset` run by an
administrator of the machine; `/api/v1/health` shows `admin_auth`. Challenges cost the daemon
no memory, so nobody can crowd the admin out by asking for many. No password set yet: 503
`admin_not_configured`; a password file from an older version: 503 `admin_secret_outdated`
(run `risk-admin set-password` again).

## Live events

`GET /api/v1/events` is a Server-Sent Events stream: first `event: hello` (a snapshot), then
`fill`, `pnl`, `day_reset`, `connection`, `violation`, `lockout`, `lockout_ended`, and a
`: keep-alive` comment every 15 s.
"""


def mount_docs(app: FastAPI, title: str) -> None:
    """Serve Swagger UI at /docs from the packaged assets (trading PCs may be offline)."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="swagger-ui-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            # validatorUrl null: otherwise the page fetches a badge from validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": False},
        )
