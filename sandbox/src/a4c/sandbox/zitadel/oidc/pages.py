"""The hosted login's HTML: the sign-in form, error pages and the signed-out page.

Self-contained pages (no scripts, no external assets) with a strict Content-Security-Policy. The
form's element ids are those of Zitadel's own login (``loginName``, ``password``,
``submit-button``), so browser tests written against it find them here too.
"""

from __future__ import annotations

from html import escape

from starlette.responses import HTMLResponse

# No form-action: browsers apply it to the redirect that follows the POST (back to the app).
CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
}
_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d1d1f}
main{max-width:24rem;margin:10vh auto;padding:2rem;background:#fff;border-radius:8px;
box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin-top:0}label{display:block;margin-top:1rem;font-weight:600}
input{box-sizing:border-box;width:100%;padding:.6rem;margin-top:.3rem;font-size:1rem;
border:1px solid #888;border-radius:4px}
button{margin-top:1.5rem;width:100%;padding:.7rem;font-size:1rem;background:#1a56db;color:#fff;
border:0;border-radius:4px;cursor:pointer}
button:focus,input:focus{outline:3px solid #f59e0b;outline-offset:1px}
#error{margin-top:1rem;padding:.6rem;border-left:4px solid #b91c1c;background:#fde8e8}
.hint{color:#555;font-size:.9rem}
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · ZITADEL (sandbox)</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def login_form(auth_request_id: str, app_name: str, login_name: str = "", error: str = "") -> HTMLResponse:
    alert = f'<p id="error" role="alert">{escape(error)}</p>' if error else ""
    body = f"""<h1>Sign in</h1><p class="hint">to continue to {escape(app_name)}</p>{alert}
<form method="post" action="/ui/login/login">
<input type="hidden" name="authRequestID" value="{escape(auth_request_id)}">
<label for="loginName">Login name</label>
<input id="loginName" name="loginName" value="{escape(login_name)}" autocomplete="username"
 autocapitalize="none" spellcheck="false" required{"" if login_name else " autofocus"}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password"
 required{" autofocus" if login_name else ""}>
<button id="submit-button" type="submit">Sign in</button>
</form>"""
    return _page("Sign in", body)


def error_page(error: str, description: str, status: int = 400) -> HTMLResponse:
    body = (
        f'<h1>Something went wrong</h1><p id="error" role="alert"><strong>{escape(error)}</strong>: '
        f'{escape(description)}</p><p class="hint">Go back to the application and start again.</p>'
    )
    return _page("Error", body, status)


def signed_out_page() -> HTMLResponse:
    return _page("Signed out", "<h1>Signed out</h1><p>You are signed out. You can close this page.</p>")
