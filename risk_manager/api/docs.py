"""Offline Swagger UI (assets from the swagger_ui_bundle package) and the API's description."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs/assets"

# Reads the challenge envelope on stdin, prints the session body; kept as one line for shells.
PROOF_ONE_LINER = (
    "import sys,os,json,hmac,hashlib,unicodedata as u; c=json.load(sys.stdin)['data']; "
    "k=hashlib.scrypt(u.normalize('NFC',os.environ['RISK_MANAGER_ADMIN_PASSWORD']).encode(),"
    "salt=bytes.fromhex(c['salt']),n=c['n'],r=c['r'],p=c['p'],dklen=c['dklen'],maxmem=2**28); "
    "print(json.dumps({'nonce':c['nonce'],"
    "'proof':hmac.new(k,bytes.fromhex(c['nonce']),hashlib.sha256).hexdigest()}))"
)

DESCRIPTION = f"""
Risk Manager Daemon API. Every response is an envelope:
`{{"status": "success", "data": ...}}` or `{{"status": "error", "error": {{"code", "message"}}}}`.
Only loopback Host headers are served; there is no CORS; large bodies are refused (413).

## Admin authentication (token + nonce)

Routes under `/api/v1/admin/` (except the two below) need `Authorization: Bearer <token>`.
The password never travels: the client proves it knows it.

1. `POST /api/v1/admin/challenge` (no body) returns `nonce` (hex, single use, expires in
   `expires_in` seconds, at most 60) and the scrypt parameters of the stored hash: `salt` (hex),
   `n`, `r`, `p`, `dklen`.
2. The client computes
   `K = scrypt(password NFC-normalised as UTF-8, salt=bytes.fromhex(salt), n, r, p, dklen)` and
   `proof = hex(HMAC-SHA256(key=K, msg=bytes.fromhex(nonce)))` (64 lowercase hex characters).
3. `POST /api/v1/admin/session` with `{{"nonce": "...", "proof": "..."}}` returns
   `{{"token": "...", "token_type": "bearer", "expires_in": ...}}`. The token lives only in the
   daemon's memory and ends at expiry, on a password change, or when the daemon restarts.
4. Send `Authorization: Bearer <token>` (in this page: the **Authorize** button).

A used, unknown or expired nonce, or a wrong proof, answers 401 `auth_failed`; after 5
consecutive failures admin auth locks for a while: 429 `auth_locked` with `Retry-After`
(`/api/v1/health` shows `admin_auth`). No password set yet: 503 `admin_not_configured`
(run `risk-admin set-password`). `risk-admin` does all of this for you.

With curl and Python (password in `RISK_MANAGER_ADMIN_PASSWORD`):

```
curl -s -X POST http://127.0.0.1:5555/api/v1/admin/challenge \\
  | python -c "{PROOF_ONE_LINER}" \\
  | curl -s -X POST http://127.0.0.1:5555/api/v1/admin/session \\
      -H 'Content-Type: application/json' -d @-
```

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
