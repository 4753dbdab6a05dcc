"""Browser-facing security headers on every response (OWASP Secure Headers / HTTP Headers Cheat Sheet).

- Content-Security-Policy: scripts, styles and everything else only from carebridge itself; the web
  app has no inline script or style (htmx comes from /app/static, its indicator styles are off).
  `frame-ancestors 'none'` (with X-Frame-Options DENY for older browsers) stops clickjacking.
  https://www.w3.org/TR/CSP3/#directive-frame-ancestors
- X-Content-Type-Options nosniff: JSON and ndjson are never run as script.
- Referrer-Policy no-referrer: URLs carry ids (and OAuth codes on redirects); they never leave.

/docs is Swagger UI, whose page (flask-smorest's template) starts the UI with one inline script and
whose React components set inline styles: that page alone allows exactly that script, by its hash,
and inline styles.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request

_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def content_security_policy(*, inline_scripts: tuple[bytes, ...] = (), inline_styles: bool = False) -> str:
    policy = dict(_POLICY)
    if inline_scripts:
        hashes = (base64.b64encode(hashlib.sha256(s).digest()).decode() for s in inline_scripts)
        policy["script-src"] += "".join(f" 'sha256-{h}'" for h in hashes)
    if inline_styles:
        policy["style-src"] += " 'unsafe-inline'"
    return "; ".join(f"{name} {value}" for name, value in policy.items())


def init_app(app: Flask) -> None:
    docs_path = "/" + app.config["OPENAPI_SWAGGER_UI_PATH"]
    every_other_page = content_security_policy()  # built once: it was a share of every request

    @app.after_request
    def security_headers(response: Response) -> Response:
        if request.path == docs_path and response.status_code == 200:
            scripts = tuple(_INLINE_SCRIPT.findall(response.get_data()))
            csp = content_security_policy(inline_scripts=scripts, inline_styles=True)
        else:
            csp = every_other_page
        response.headers.setdefault("Content-Security-Policy", csp)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
