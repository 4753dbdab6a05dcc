"""The person's step of carebridge's authorize endpoint (`/auth/authorize` forwards here, where the
session cookie is): sign in if needed, then back to the app with a code.

Apps are registered by the operator (`carebridge clients add --redirect-uri ...`), so there is no
consent page: signing in approves the scopes the app may have and the person's role allows.
"""

from __future__ import annotations

from flask import current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response

from service.app import request_session, runtime
from service.auth.authorization_code import NotForThisApp, Refused, check_request, issue_code, read_request
from service.web.blueprint import blueprint
from service.web.session import error_page


@blueprint.get("/authorize")
def authorize() -> Response:
    db = request_session()
    try:
        app_request = read_request(db, request.args)
    except NotForThisApp as exc:
        # Never redirect to an address carebridge has not checked (RFC 6749 s4.1.2.1).
        return error_page(400, f"This sign-in link from an app is not valid: {exc}.")
    try:
        check_request(runtime(current_app).settings, app_request, request.args)
        if g.user is None:
            return redirect(url_for("web.signin", next=request.full_path.rstrip("?")))
        return redirect(issue_code(db, app_request, g.user))
    except Refused as refused:
        return redirect(app_request.redirect(error=refused.error, error_description=refused.description))
