"""HTTP plumbing shared by the notification, export and messaging blueprints, and their wiring.

`init_app(app)` (one line in service/app.py) mounts the three blueprints under `/fhir/R4`
(each makes its errors OperationOutcomes), loads the Celery tasks, and, when Celery is not eager,
installs the after-commit trigger that relays the outbox and sends notification deliveries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app

from service.app import runtime
from service.auth.tokens import challenge
from service.fhir_api.outcome import FhirError
from service.usecases.errors import Forbidden, Invalid, UseCaseError


def init_app(app: Flask) -> None:
    from service.fhir_api.bulk import bp as bulk_bp
    from service.fhir_api.messaging import bp as messaging_bp
    from service.fhir_api.subscriptions import bp as subscriptions_bp
    from service.tasks import export, notifications, relay  # noqa: F401  (registers the tasks)

    for blueprint in (subscriptions_bp, bulk_bp, messaging_bp):
        app.register_blueprint(blueprint)
    rt = runtime(app)
    if not rt.settings.celery_eager:
        relay.install_relay_trigger(rt.session_factory)


def fhir_base() -> str:
    return runtime(current_app).settings.public_url.rstrip("/") + "/fhir/R4"


@contextmanager
def use_case_errors() -> Iterator[None]:
    """Use-case refusals as OperationOutcomes with the same status (404, 409, 422)."""
    try:
        yield
    except Invalid as refused:
        fields: dict[str, list[str]] = refused.details.get("fields") or {}  # type: ignore[assignment]
        problems = "; ".join(f"{path}: {', '.join(msgs)}" for path, msgs in fields.items())
        message = f"{refused.message} ({problems})" if problems else refused.message
        raise FhirError(refused.status, message, expression=sorted(fields) or None) from None
    except Forbidden as refused:
        headers = challenge("insufficient_scope") if refused.insufficient_scope else None
        raise FhirError(refused.status, refused.message, headers=headers) from None
    except UseCaseError as refused:
        raise FhirError(refused.status, refused.message) from None
