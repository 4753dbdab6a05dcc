"""`/fhir/R4/Subscription`: create, read, delete, `$status` and `$events` of rest-hook subscriptions
(https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/), each scoped to the caller's organisation;
and topic discovery: the topics as R4 `Basic` resources (`/Basic?code=SubscriptionTopic`, read),
besides their canonicals in the CapabilityStatement.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, current_app, request

from service import clock
from service.app import request_session, runtime
from service.auth import policy
from service.auth.audit import record_access, record_access_now
from service.fhir_api import install_error_handlers
from service.fhir_api.capability import register_capability
from service.fhir_api.directory import unpaged_searchset
from service.fhir_api.guard import authorize
from service.fhir_api.incoming import resource_body
from service.fhir_api.outcome import FhirError, fhir_response
from service.fhir_api.params import Codes, split_or
from service.fhir_api.routes import lenient
from service.fhir_api.subscriptions_fhir import (
    TOPIC_CODE,
    TOPICS,
    notification_bundle,
    parse_subscription,
    status_bundle,
    subscription_json,
    topic_basic,
    topic_id,
)
from service.fhir_api.subscriptions_http import fhir_base, use_case_errors
from service.limits import ascii_int
from service.usecases import subscriptions
from service.usecases.outbound_endpoints import EndpointPolicy

bp = Blueprint("fhir_subscriptions", __name__, url_prefix="/fhir/R4")
install_error_handlers(bp)


@bp.post("/Subscription")
def create() -> Response:
    ctx = authorize("Subscription", "c")
    with use_case_errors():
        spec = parse_subscription(resource_body("Subscription"))
    # A subscriber only hears about what it may read: no read scope on the topic's type, no topic.
    if not policy.allows(ctx, spec.topic.resource_type, "r"):
        raise FhirError(403, f"subscribing to '{spec.topic.title}' needs read access to {spec.topic.resource_type}")
    session = request_session()
    endpoints = EndpointPolicy.from_setting(runtime(current_app).settings.subscription_allow_private)
    with use_case_errors():
        sub = subscriptions.create_subscription(session, ctx, spec, endpoints)
    record_access(session, ctx, action="C", interaction="create", resource_type="Subscription", resource_id=sub.id)
    session.commit()
    location = f"{fhir_base()}/Subscription/{sub.id}"
    return fhir_response(subscription_json(sub, fhir_base()), 201, {"Location": location})


@bp.get("/Subscription/<subscription_id>")
def read(subscription_id: str) -> Response:
    ctx = authorize("Subscription", "r")
    session = request_session()
    with use_case_errors():
        sub = subscriptions.get_subscription(session, ctx, subscription_id)
    body = subscription_json(sub, fhir_base())
    record_access_now(session, ctx, action="R", interaction="read", resource_type="Subscription", resource_id=sub.id)
    return fhir_response(body)


@bp.delete("/Subscription/<subscription_id>")
def delete(subscription_id: str) -> Response:
    ctx = authorize("Subscription", "d")
    session = request_session()
    with use_case_errors():
        subscriptions.delete_subscription(session, ctx, subscription_id)
    record_access_now(
        session, ctx, action="D", interaction="delete", resource_type="Subscription", resource_id=subscription_id
    )
    return Response(status=204)


@bp.get("/Subscription/<subscription_id>/$status")
def status(subscription_id: str) -> Response:
    """https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/OperationDefinition-backport-subscription-status.html"""
    ctx = authorize("Subscription", "r")
    session = request_session()
    with use_case_errors():
        sub = subscriptions.get_subscription(session, ctx, subscription_id)
    body = status_bundle(sub, fhir_base(), bundle_id=str(uuid.uuid4()))
    record_access_now(session, ctx, action="E", interaction="status", resource_type="Subscription", resource_id=sub.id)
    return fhir_response(body)


@bp.get("/Subscription/<subscription_id>/$events")
def events(subscription_id: str) -> Response:
    """Past events of the subscription, as a notification Bundle of type query-event
    (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/OperationDefinition-backport-subscription-events.html).
    Parameters come in the query string (GET, as the operation does not change state):
    eventsSinceNumber, eventsUntilNumber."""
    ctx = authorize("Subscription", "r")
    session = request_session()
    since, until = (_event_number(request.args.get(n), n) for n in ("eventsSinceNumber", "eventsUntilNumber"))
    with use_case_errors():
        sub, found = subscriptions.subscription_events(session, ctx, subscription_id, since, until)
    body = notification_bundle(sub, "query-event", found, fhir_base(), bundle_id=str(uuid.uuid4()), now=clock.now())
    record_access_now(session, ctx, action="E", interaction="events", resource_type="Subscription", resource_id=sub.id)
    return fhir_response(body)


def _event_number(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    number = ascii_int(value)
    if number is None:
        raise FhirError(400, f"{name} must be a non-negative integer, got '{value}'")
    return number


# The topics as Basic, by id; carebridge serves no other Basic.
TOPIC_BASICS = {topic_id(topic): topic_basic(topic) for topic in TOPICS.values()}
_CODES = Codes(TOPIC_CODE["system"])


@bp.get("/Basic/<ident>")
def read_topic(ident: str) -> Response:
    ctx = authorize("Basic", "r")
    if ident not in TOPIC_BASICS:
        raise FhirError(404, f"Basic/{ident} is not known")
    record_access_now(request_session(), ctx, action="R", interaction="read", resource_type="Basic", resource_id=ident)
    return fhir_response(TOPIC_BASICS[ident])


@bp.get("/Basic")
def search_topics() -> Response:
    """By `code` (token; `SubscriptionTopic` finds every topic) and `_id`."""
    ctx = authorize("Basic", "s")
    found = list(TOPIC_BASICS.values())
    for key, value in request.args.items(multi=True):
        if key == "code":
            codes = {code for v in split_or(value) for code in _CODES.stored("code", v)}
            found = [basic for basic in found if TOPIC_CODE["code"] in codes]
        elif key == "_id":
            found = [basic for basic in found if basic["id"] in split_or(value)]
        elif key not in ("_format", "_count") and not lenient():
            raise FhirError(400, f"unknown search parameter {key!r} for Basic", code="not-supported")
    record_access_now(
        request_session(), ctx, action="E", interaction="search-type", resource_type="Basic",
        query="&".join(dict.fromkeys(k for k in request.args if k != "_format")) or None,
    )  # fmt: skip
    return unpaged_searchset("Basic", found)


def _describe(rest: dict[str, Any]) -> None:
    for resource in rest["resource"]:
        if resource["type"] == "Basic":
            resource["searchParam"] = [
                {"name": "code", "type": "token", "documentation": "SubscriptionTopic: the subscription topics"}
            ]
            resource["documentation"] = "Subscription topics, as the Subscriptions backport represents them in R4"


register_capability(_describe)
