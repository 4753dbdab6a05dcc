"""Who is signed in, CSRF protection on every POST, sign-in/out pages and the error pages.

Every POST must carry the session's CSRF token (form field ``csrf_token`` or header
``X-CSRF-Token``, which htmx sends): the synchronizer-token pattern of the OWASP CSRF Prevention
Cheat Sheet. The cookie is HttpOnly and SameSite=Lax as a second line of defence.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Response, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from service.app import request_session, writes_on_get
from service.auth import policy
from service.auth.context import AccessContext, current_access, set_current_access
from service.auth.request_audit import refused
from service.auth.scopes import Interaction
from service.models import Organization, User
from service.models.web import WebSession
from service.usecases import access
from service.usecases import signin as accounts
from service.usecases.errors import Invalid, TooManyAttempts, UseCaseError
from service.web import formatting
from service.web.blueprint import blueprint

COOKIE = accounts.SESSION_COOKIE
# Pages anyone may open: signing in, the EHR launch (its own OAuth state protects it), assets, and
# an app's authorization request (it checks the app before asking the person to sign in).
PUBLIC = frozenset({"web.signin", "web.launch", "web.launch_callback", "web.static", "web.authorize"})
F = TypeVar("F", bound=Callable[..., Any])


@blueprint.before_request
def load_session() -> BaseResponse | None:
    g.web, g.user = accounts.signed_in(request_session(), request.cookies.get(COOKIE))
    g.zone = formatting.user_zone(g.user.time_zone if g.user else None)
    if g.user is not None:
        set_current_access(policy.principal_for_user(g.user))
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
    if request.method == "POST" and not accounts.csrf_ok(g.web, sent):
        return error_page(403, "This form has expired or did not come from carebridge. Reload the page and try again.")
    if g.user is None and request.endpoint not in PUBLIC:
        refused("not signed in")
        return redirect(url_for("web.signin", next=request.full_path.rstrip("?")))
    return None


@blueprint.after_request
def set_cookie(response: Response) -> Response:
    web: WebSession | None = g.get("new_web")
    if web is not None:
        response.set_cookie(
            COOKIE, web.id, httponly=True, samesite="Lax", secure=request.is_secure, path="/", max_age=36000
        )
    # Pages show patient data: no caching by shared or browser caches.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def start_session(user: User | None = None, **state: Any) -> WebSession:
    """Replace the current session (rotating its id) and send the new cookie with this response."""
    db = request_session()
    web = accounts.sign_in(db, g.web, user, **state) if user is not None else accounts.open_session(db, **state)
    if user is None:
        accounts.close_session(db, g.web)
    g.web, g.user, g.new_web = web, user, web
    if user is not None:
        set_current_access(policy.principal_for_user(user))
    return web


def keep_in_session(**state: Any) -> WebSession:
    """Store `state` in the current session without rotating it (opening an anonymous one if there is none).

    For steps any site can start, such as an EHR launch: they must not end who is signed in.
    """
    if g.web is None:
        return start_session(**state)
    web: WebSession = accounts.update_session(request_session(), g.web, **state)
    return web


def current_user() -> User:
    user: User = g.user
    return user


def principal() -> AccessContext:
    """The signed-in person as a principal (service.auth.policy decides what they may do)."""
    return current_access()


def works_cases() -> bool:
    """Whole cases, the worklist and analytics are for those who run cases (hospital staff: their
    role may change stays); facilities and payers work from their queue."""
    return policy.allows(principal(), "Encounter", "u")


def requires(resource_type: str, interaction: Interaction) -> Callable[[F], F]:
    """The page needs `interaction` on `resource_type` (the role's scopes, as on the REST API)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            access.require(principal(), resource_type, interaction)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths under /app, so a crafted link cannot bounce a user to another site."""
    if target and target.startswith("/app") and not urlsplit(target).netloc and "\\" not in target:
        return target
    return default


@blueprint.app_template_global()
def csrf_token() -> str:
    web: WebSession | None = g.get("web")
    return web.csrf_token if web is not None else ""


@blueprint.context_processor
def page_context() -> dict[str, Any]:
    user: User | None = g.get("user")
    zone = g.get("zone") or formatting.user_zone(None)
    return {
        "user": user,
        "zone": zone,
        "is_hospital": user is not None and works_cases(),
        "has_queue": user is not None and policy.allows(principal(), "Task", "s"),
        "user_roles": accounts.roles(request_session(), user) if user is not None else [],
        "when": lambda moment: formatting.when(moment, zone),
        "day": formatting.day,
        "humanize": formatting.humanize,
        "readiness_short": lambda code: formatting.READINESS_SHORT.get(code) or formatting.humanize(code, "readiness"),
    }


@blueprint.app_template_filter("humanize")
def humanize_filter(code: str | None, vocabulary: str | None = None) -> str:
    return formatting.humanize(code, vocabulary)


@blueprint.route("/")
def home() -> BaseResponse | str:
    if works_cases():
        return redirect(url_for("web.worklist_page"))
    if policy.allows(principal(), "Task", "s"):
        return redirect(url_for("web.queue"))
    return render_template("no_pages.html", principal_role=principal().role)


@blueprint.route("/signin", methods=["GET", "POST"])
@writes_on_get
def signin() -> Any:
    next_url = safe_next(request.values.get("next"), url_for("web.home"))
    if request.method == "GET":
        if g.web is None:
            start_session()
        return render_template("signin.html", next_url=next_url, error=None)
    try:
        user = accounts.authenticate(
            request_session(),
            request.form.get("username", ""),
            request.form.get("password", ""),
            address=request.remote_addr,
        )
    except Invalid as exc:
        return render_template("signin.html", next_url=next_url, error=exc.message), 401
    except TooManyAttempts as exc:
        page = render_template("signin.html", next_url=next_url, error=exc.message)
        return page, 429, {"Retry-After": str(exc.retry_after)}
    start_session(user)
    return redirect(next_url, code=303)


@blueprint.post("/signout")
def signout() -> BaseResponse:
    accounts.close_session(request_session(), g.web)
    response = redirect(url_for("web.signin"), code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def organization_name(org_id: str) -> str:
    """An organisation's name, read once per request (a queue names the same hospital on every card)."""
    names: dict[str, str] = g.setdefault("organization_names", {})
    if org_id not in names:
        org = request_session().get(Organization, org_id)
        names[org_id] = org.name if org is not None else org_id
    return names[org_id]


@blueprint.app_template_global()
def org_name(org_id: str) -> str:
    return organization_name(org_id)


def error_page(status: int, message: str) -> BaseResponse:
    back = safe_next(request.form.get("back") or _referrer_path(), url_for("web.home"))
    response = Response(render_template("error.html", status=status, message=message, back=back), status=status)
    return response


def _referrer_path() -> str | None:
    if not request.referrer:
        return None
    parts = urlsplit(request.referrer)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@blueprint.errorhandler(UseCaseError)
def use_case_error(exc: UseCaseError) -> BaseResponse:
    """A refused action is shown plainly: what happened, that nothing changed, and the way back."""
    fields = exc.details.get("fields")
    pairs = fields.items() if isinstance(fields, dict) else ()
    detail = "; ".join(f"{name.replace('_', ' ')}: {', '.join(msgs)}" for name, msgs in pairs)
    if exc.status in (401, 403):
        refused(exc.message)
    return error_page(exc.status, exc.message + (f" ({detail})" if detail else ""))


@blueprint.errorhandler(403)
def forbidden(_exc: Exception) -> BaseResponse:
    refused("page of another organisation's patients")
    return error_page(403, "This page belongs to another organisation's patients.")


@blueprint.errorhandler(404)
def not_found(_exc: Exception) -> BaseResponse:
    return error_page(404, "There is no such page or record.")
