"""Subscriptions R5 Backport for R4 (STU 1.1) as JSON: topics, Subscription in and out, and the
notification Bundle (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/).

Pure functions: no Flask, no database. carebridge publishes two topics, each with the filters a
subscriber may narrow it by; payloads are `id-only` (or `empty`): a notification names the
changed resource and the subscriber reads it with its own token, so the notification channel
never carries clinical data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from service.usecases.errors import Invalid

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
FILTER_CRITERIA = f"{BACKPORT}/backport-filter-criteria"
PAYLOAD_CONTENT = f"{BACKPORT}/backport-payload-content"
HEARTBEAT_PERIOD = f"{BACKPORT}/backport-heartbeat-period"
TIMEOUT = f"{BACKPORT}/backport-timeout"
TOPIC_BASE = "https://carebridge.dev/fhir/SubscriptionTopic"
# https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/components.html#payload-types
CONTENTS = ("empty", "id-only")
MAX_TIMEOUT_SECONDS = 60
CRITERIA = "Subscription._criteria"  # where the backport's filters live, for refusals
_LINE_BREAK = re.compile(r"[\r\n]")


@dataclass(frozen=True)
class Topic:
    url: str
    resource_type: str  # the FHIR type of the focus
    entity_type: str  # the carebridge record whose ChangeEvents trigger it
    filters: tuple[str, ...]  # the search parameters a subscriber may filter on
    title: str


TOPICS: dict[str, Topic] = {
    t.url: t
    for t in (
        Topic(f"{TOPIC_BASE}/task-changed", "Task", "Handoff", ("owner", "patient", "status"), "Task changed"),
        Topic(f"{TOPIC_BASE}/careplan-changed", "CarePlan", "CasePlan", ("patient", "status"), "CarePlan changed"),
    )
}
TOPIC_FOR_ENTITY = {t.entity_type: t for t in TOPICS.values()}

# https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/Basic-r4-encounter-complete.html: in R4, a
# SubscriptionTopic is a Basic whose code is fhir-types#SubscriptionTopic, its elements carried by
# the cross-version extensions of R5 (url, title, status...) and R4B (resourceTrigger, canFilterBy).
TOPIC_CODE = {"system": "http://hl7.org/fhir/fhir-types", "code": "SubscriptionTopic"}
_R5 = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic."
_R4B = "http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic."


def topic_id(topic: Topic) -> str:
    """The id of the topic's Basic: the last segment of its canonical URL."""
    return topic.url.rsplit("/", 1)[-1]


def topic_basic(topic: Topic) -> dict[str, Any]:
    """`topic` as the backport's R4 Basic representation of a SubscriptionTopic."""
    trigger = [
        {"url": "description", "valueMarkdown": f"A {topic.resource_type} is created or changed."},
        {"url": "resource", "valueUri": f"http://hl7.org/fhir/StructureDefinition/{topic.resource_type}"},
        {"url": "supportedInteraction", "valueCode": "create"},
        {"url": "supportedInteraction", "valueCode": "update"},
    ]
    filters = [
        {
            "url": f"{_R4B}canFilterBy",
            "extension": [
                {"url": "description", "valueMarkdown": f"The {topic.resource_type}'s {name}."},
                {"url": "resource", "valueUri": topic.resource_type},
                {"url": "filterParameter", "valueString": name},
            ],
        }
        for name in topic.filters
    ]
    return {
        "resourceType": "Basic",
        "id": topic_id(topic),
        "extension": [
            {"url": f"{_R5}url", "valueUri": topic.url},
            {"url": f"{_R5}title", "valueString": topic.title},
            {"url": f"{_R5}description", "valueMarkdown": f"{topic.title}: notifications carry its id only."},
            {"url": f"{_R4B}resourceTrigger", "extension": trigger},
            *filters,
            {"url": f"{_R4B}notificationShape", "extension": [{"url": "resource", "valueUri": topic.resource_type}]},
        ],
        # status is a modifier: a topic in use (R5 SubscriptionTopic.status).
        "modifierExtension": [{"url": f"{_R5}status", "valueCode": "active"}],
        "code": {"coding": [dict(TOPIC_CODE)]},
    }


@dataclass(frozen=True)
class SubscriptionSpec:
    """What a client asked for in a POSTed Subscription, validated."""

    topic: Topic
    filters: dict[str, list[str]]
    endpoint: str
    headers: list[str]
    content: str
    heartbeat_seconds: int | None
    timeout_seconds: int
    reason: str


class SubscriptionView(Protocol):
    """The stored subscription, as far as its FHIR representation needs it."""

    id: str
    topic: str
    filters: dict[str, list[str]]
    endpoint: str
    content: str
    heartbeat_seconds: int | None
    timeout_seconds: int
    reason: str
    status: str
    error: str | None
    events_since_start: int


@dataclass(frozen=True)
class EventRef:
    """One event in a notification: its number, when it happened, and its focus."""

    number: int
    at: datetime
    focus_type: str
    focus_id: str


def _extension(node: Mapping[str, Any] | None, url: str) -> list[Any]:
    extensions = (node or {}).get("extension") or []
    return [
        next((v for k, v in ext.items() if k.startswith("value")), None)
        for ext in extensions
        if isinstance(ext, Mapping) and ext.get("url") == url
    ]


def parse_filters(topic: Topic, criteria: Sequence[str]) -> dict[str, list[str]]:
    """`Task?owner=Organization/x&status=requested,accepted` -> {"owner": [...], "status": [...]}.

    Filter syntax: https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/components.html#filters
    (a search-style query on the topic's resource type; comma-separated values are OR-ed).
    """
    filters: dict[str, list[str]] = {}
    for text in criteria:
        resource_type, _, query = text.partition("?")
        if resource_type != topic.resource_type:
            raise Invalid(
                "a filter must search the topic's resource type",
                fields={CRITERIA: [f"'{text}' does not start with '{topic.resource_type}?'"]},
            )
        for name, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
            if name not in topic.filters:
                raise Invalid(
                    "unsupported filter",
                    fields={CRITERIA: [f"'{name}' is not one of {', '.join(topic.filters)} for {topic.title}"]},
                )
            values = [v for v in value.split(",") if v]
            if not values:
                raise Invalid("empty filter value", fields={CRITERIA: [f"'{name}' has no value"]})
            filters.setdefault(name, []).extend(values)
    return filters


def parse_subscription(body: Mapping[str, Any]) -> SubscriptionSpec:
    """Validate a client's Subscription (backport R4 profile) or raise Invalid naming the element."""
    if body.get("resourceType") != "Subscription":
        raise Invalid("expected a Subscription", fields={"Subscription.resourceType": ["must be 'Subscription'"]})
    topic = TOPICS.get(str(body.get("criteria", "")))
    if topic is None:
        raise Invalid(
            "unknown subscription topic",
            fields={"Subscription.criteria": [f"must be one of {', '.join(sorted(TOPICS))}"]},
        )
    channel = body.get("channel") or {}
    if channel.get("type") != "rest-hook":
        raise Invalid(
            "only rest-hook channels are supported", fields={"Subscription.channel.type": ["must be 'rest-hook'"]}
        )
    endpoint = str(channel.get("endpoint") or "")
    if urlsplit(endpoint).scheme not in ("http", "https") or not urlsplit(endpoint).netloc:
        raise Invalid(
            "the channel needs an http(s) endpoint", fields={"Subscription.channel.endpoint": ["is not an http(s) URL"]}
        )
    if channel.get("payload", "application/fhir+json") not in ("application/fhir+json", "application/json"):
        raise Invalid(
            "unsupported payload type", fields={"Subscription.channel.payload": ["must be application/fhir+json"]}
        )
    contents = _extension(channel.get("_payload"), PAYLOAD_CONTENT) or ["id-only"]
    if contents[0] not in CONTENTS:
        raise Invalid(
            "unsupported payload content",
            fields={"Subscription.channel._payload": [f"must be one of {', '.join(CONTENTS)}"]},
        )
    heartbeat = _positive_int(_extension(channel, HEARTBEAT_PERIOD), "Subscription.channel.extension")
    timeout = _positive_int(_extension(channel, TIMEOUT), "Subscription.channel.extension") or 10
    headers = channel.get("header") or []
    # A line break would let the subscriber add headers or a body of its own to every notification
    # (https://www.rfc-editor.org/rfc/rfc9110#section-5.5: no CR or LF in a field value).
    if not all(isinstance(h, str) and ":" in h and not _LINE_BREAK.search(h) for h in headers):
        raise Invalid(
            "bad channel header", fields={"Subscription.channel.header": ["each header is one 'Name: value' line"]}
        )
    return SubscriptionSpec(
        topic=topic,
        filters=parse_filters(topic, [str(c) for c in _extension(body.get("_criteria"), FILTER_CRITERIA)]),
        endpoint=endpoint,
        headers=list(headers),
        content=str(contents[0]),
        heartbeat_seconds=heartbeat,
        timeout_seconds=min(timeout, MAX_TIMEOUT_SECONDS),
        reason=str(body.get("reason") or ""),
    )


def _positive_int(values: list[Any], path: str) -> int | None:
    if not values:
        return None
    value = values[0]
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise Invalid("expected a positive integer", fields={path: ["must be a positive integer"]})
    return value


def subscription_json(sub: SubscriptionView, base: str) -> dict[str, Any]:
    """The stored Subscription as the backport R4 profile renders it (channel headers are never echoed)."""
    topic = TOPICS[sub.topic]
    criteria = [f"{topic.resource_type}?{name}={','.join(values)}" for name, values in sorted(sub.filters.items())]
    channel: dict[str, Any] = {
        "type": "rest-hook",
        "endpoint": sub.endpoint,
        "payload": "application/fhir+json",
        "_payload": {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": sub.content}]},
        "extension": [{"url": TIMEOUT, "valueUnsignedInt": sub.timeout_seconds}],
    }
    if sub.heartbeat_seconds:
        channel["extension"].append({"url": HEARTBEAT_PERIOD, "valueUnsignedInt": sub.heartbeat_seconds})
    resource: dict[str, Any] = {
        "resourceType": "Subscription",
        "id": sub.id,
        "meta": {"profile": [f"{BACKPORT}/backport-subscription"]},
        "status": sub.status,
        "reason": sub.reason or topic.title,
        "criteria": sub.topic,
        "channel": channel,
    }
    if criteria:
        resource["_criteria"] = {"extension": [{"url": FILTER_CRITERIA, "valueString": c} for c in criteria]}
    if sub.error:
        resource["error"] = sub.error
    return resource


def status_parameters(
    sub: SubscriptionView, kind: str, events: Sequence[EventRef], base: str, *, include_focus: bool = True
) -> dict[str, Any]:
    """The SubscriptionStatus of the backport, R4 form: a Parameters resource
    (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/StructureDefinition-backport-subscription-status-r4.html).
    """
    parameters: list[dict[str, Any]] = [
        {"name": "subscription", "valueReference": {"reference": f"{base}/Subscription/{sub.id}"}},
        {"name": "topic", "valueCanonical": sub.topic},
        {"name": "status", "valueCode": sub.status},
        {"name": "type", "valueCode": kind},
        # R4 has no integer64: the backport carries the counter as a string.
        {"name": "events-since-subscription-start", "valueString": str(sub.events_since_start)},
    ]
    for event in events:
        part: list[dict[str, Any]] = [
            {"name": "event-number", "valueString": str(event.number)},
            {"name": "timestamp", "valueInstant": _instant(event.at)},
        ]
        if include_focus:
            part.append(
                {"name": "focus", "valueReference": {"reference": f"{base}/{event.focus_type}/{event.focus_id}"}}
            )
        parameters.append({"name": "notification-event", "part": part})
    if sub.error:
        parameters.append({"name": "error", "valueCodeableConcept": {"text": sub.error}})
    return {
        "resourceType": "Parameters",
        "meta": {"profile": [f"{BACKPORT}/backport-subscription-status-r4"]},
        "parameter": parameters,
    }


def notification_bundle(
    sub: SubscriptionView, kind: str, events: Sequence[EventRef], base: str, *, bundle_id: str, now: datetime
) -> dict[str, Any]:
    """A `history` Bundle: the status first, then (id-only) one entry per focus, no resource body
    (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/payloads.html#id-only)."""
    id_only = sub.content == "id-only"
    status = status_parameters(sub, kind, events, base, include_focus=id_only)
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"urn:uuid:{bundle_id}",
            "resource": status,
            # History bundles need request and response on every entry (bdl-3, bdl-4).
            "request": {"method": "GET", "url": f"{base}/Subscription/{sub.id}/$status"},
            "response": {"status": "200"},
        }
    ]
    if id_only:
        entries += [
            {
                "fullUrl": f"{base}/{e.focus_type}/{e.focus_id}",
                "request": {"method": "PUT", "url": f"{e.focus_type}/{e.focus_id}"},
                "response": {"status": "200"},
            }
            for e in events
        ]
    return {"resourceType": "Bundle", "id": bundle_id, "type": "history", "timestamp": _instant(now), "entry": entries}


def status_bundle(sub: SubscriptionView, base: str, *, bundle_id: str) -> dict[str, Any]:
    """`Subscription/<id>/$status`: a searchset holding the status (query-status type)."""
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "searchset",
        "total": 1,
        "entry": [
            {
                "fullUrl": f"urn:uuid:{bundle_id}",
                "resource": status_parameters(sub, "query-status", (), base),
                "search": {"mode": "match"},
            }
        ],
    }


def _instant(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
