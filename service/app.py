"""Application factory: ``create_app(settings=None)`` builds the WSGI app for web and tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Request, Response, g
from flask.sessions import SessionInterface, SessionMixin
from flask_smorest import Api
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.db import WRITES, make_engine, make_session_factory
from service.usecases import follow_ups


class Runtime:
    """What a running app holds: settings, the engine and the session factory."""

    def __init__(self, settings: Settings, session_factory: sessionmaker[Any] | None = None) -> None:
        self.settings = settings
        if session_factory is None:
            session_factory = make_session_factory(make_engine(settings.database_url))
        self.session_factory = session_factory


def create_app(settings: Settings | None = None, *, session_factory: sessionmaker[Any] | None = None) -> Flask:
    settings = settings or Settings.from_env()
    # An operator's follow-up file is checked at start, not at the first discharge (which would fail).
    follow_ups.rules()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        API_TITLE="carebridge",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        # Swagger UI served from the swagger-ui-bundle package: the docs page works offline.
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",
        API_SPEC_OPTIONS={
            "info": {"description": "Care coordination for discharge planners, case managers and payers."},
            # Every operation needs a principal (service/api/auth.py): a bearer token carebridge issued, or
            # the web app's session cookie (writes then also need the X-CSRF-Token header).
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                    "session": {"type": "apiKey", "in": "cookie", "name": "carebridge_session"},
                }
            },
            "security": [{"bearer": []}, {"session": []}],
        },
    )
    app.extensions["carebridge"] = Runtime(settings, session_factory)
    app.session_interface = _NoCookieSession()
    app.teardown_appcontext(_close_session)

    from service import limits
    from service.api import register_api
    from service.api.auth import init_app as init_rest_auth
    from service.api.errors import register_error_handlers
    from service.auth.request_audit import init_app as init_request_audit
    from service.celery_app import init_celery
    from service.fhir_api import register_fhir_api
    from service.fhir_api.subscriptions_http import init_app as init_subscriptions_http
    from service.security_headers import init_app as init_security_headers
    from service.web import blueprint as web_blueprint

    init_rest_auth(app)  # every /api request has a principal before its view runs
    init_request_audit(app, request_session)  # REST and web accesses, and refusals on every door
    api = Api(app)
    register_api(api)
    register_error_handlers(app)
    limits.install(app, settings)
    _register_docs_assets(app)
    register_fhir_api(app)  # FHIR R4 API + SMART auth
    init_subscriptions_http(app)  # Subscription, $export, $process-message
    app.register_blueprint(web_blueprint, url_prefix="/app")
    _register_root(app)

    init_security_headers(app)
    init_celery(app)
    return app


class _NoCookieSession(SessionInterface):
    """Flask's signed-cookie session is never used: a person's sign-in lives in the web_sessions table
    (service/web/session.py), a partner's in its bearer token. Opening Flask's on every request built a
    signing serializer for nothing (3 % of a FHIR read); `flask.session` is now a NullSession, which
    refuses writes."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        return None


def runtime(app: Flask) -> Runtime:
    runtime_: Runtime = app.extensions["carebridge"]
    return runtime_


def request_session() -> Session:
    """One session per request (or app context), closed at teardown.

    A request that writes (any method but GET and HEAD, or a view marked `writes_on_get`) takes
    SQLite's write lock when its transaction begins (service.db.WRITES); reads stay deferred, so
    parallel readers never wait for each other.

    The session holds one connection for the whole request, and the access audit writes on it
    (service.auth.group_commit): a FHIR read used to check a connection out of the pool twice (a
    round trip each on PostgreSQL, for the pre-ping) and to run its reads and its audit on two.
    """
    from flask import current_app

    if "db_session" not in g:
        factory = runtime(current_app).session_factory
        options: dict[str, Any] = WRITES if _writes() else {}
        bind = factory.kw.get("bind")
        if isinstance(bind, Engine):
            if not options and bind.dialect.name == "postgresql" and _marked("reads_only"):
                options = _NO_TRANSACTION
            g.db_connection = bind.connect().execution_options(**options)
            g.db_session = factory(bind=g.db_connection)
        else:  # a connection of the caller's (the tests' rolled-back one)
            g.db_session = factory(execution_options=options)
    session: Session = g.db_session
    return session


V = TypeVar("V", bound=Callable[..., Any])


def writes_on_get(view: V) -> V:
    """Mark a GET view that writes (an export kick-off, a sign-in page): its session takes the write lock."""
    view.writes_on_get = True  # type: ignore[attr-defined]
    return view


def reads_only(view: V) -> V:
    """Mark a view that only reads (its access audit is a transaction of its own: service.auth.group_commit).
    On PostgreSQL its statements run without a transaction around them: under READ COMMITTED each
    statement sees what was committed when it began, in a transaction or not
    (https://www.postgresql.org/docs/current/transaction-iso.html#XACT-READ-COMMITTED), and a FHIR read is
    spared BEGIN and COMMIT, two of its five round trips. SQLite keeps its transaction: there a
    transaction is what gives a read's statements one snapshot. A POST to the view still writes."""
    view.reads_only = True  # type: ignore[attr-defined]
    return view


_NO_TRANSACTION = {"isolation_level": "AUTOCOMMIT"}


def _writes() -> bool:
    from flask import has_request_context, request

    if not has_request_context():
        return False
    return request.method not in ("GET", "HEAD") or _marked("writes_on_get")


def _marked(mark: str) -> bool:
    from flask import current_app, has_request_context, request

    view = current_app.view_functions.get(request.endpoint or "") if has_request_context() else None
    return getattr(view, mark, False)


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
    connection = g.pop("db_connection", None)
    if connection is not None:
        connection.close()


def _register_root(app: Flask) -> None:
    """A person typing the bare address lands in the web app; browsers asking for /favicon.ico get its icon."""
    from flask import redirect, url_for

    @app.get("/")
    def root() -> Any:
        return redirect(url_for("web.home"))

    @app.get("/favicon.ico")
    def favicon() -> Any:
        return redirect(url_for("web.static", filename="favicon.svg"), code=301)


def _register_docs_assets(app: Flask) -> None:
    import swagger_ui_bundle
    from flask import send_from_directory

    @app.get("/docs/assets/<path:filename>")
    def docs_assets(filename: str) -> Any:
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)
