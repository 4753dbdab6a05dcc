"""`/fhir/R4/Subscription`: create, read, `$status`, delete, scoped to the caller's organisation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from service.app import create_app
from service.config import Settings
from service.fhir_api.subscriptions_fhir import FILTER_CRITERIA, TOPIC_BASE
from tests.factories import Case

PAYER_SCOPES = "system/Subscription.crud system/Task.rs"


def subscription(topic: str = f"{TOPIC_BASE}/task-changed", **channel: Any) -> dict[str, Any]:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "member tasks",
        "criteria": topic,
        "_criteria": {"extension": [{"url": FILTER_CRITERIA, "valueString": "Task?status=requested,completed"}]},
        "channel": {"type": "rest-hook", "endpoint": "http://127.0.0.1:9/hook", "payload": "application/fhir+json"}
        | channel,
    }


@pytest.fixture(params=["127.0.0.0/8"])
def app(request: Any, session_factory: sessionmaker[Any], database_url: str) -> Any:
    """The app with the operator setting that lets endpoints reach the loopback test receivers
    (CAREBRIDGE_SUBSCRIPTION_ALLOW_PRIVATE); `indirect` parametrisation changes it per test."""
    settings = Settings(database_url=database_url, celery_eager=True, subscription_allow_private=request.param)
    return create_app(settings, session_factory=session_factory)


@pytest.fixture
def payer_token(case: Case, make_partner: Callable[..., Any], get_token: Callable[..., str]) -> str:
    return get_token(make_partner(case.payer.id, PAYER_SCOPES), PAYER_SCOPES)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_create_read_status_delete(client: Any, payer_token: str) -> None:
    created = client.post("/fhir/R4/Subscription", json=subscription(), headers=auth(payer_token))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["status"] == "requested" and created.headers["Location"].endswith(f"/Subscription/{body['id']}")
    assert body["_criteria"]["extension"][0]["valueString"] == "Task?status=requested,completed"
    read = client.get(f"/fhir/R4/Subscription/{body['id']}", headers=auth(payer_token))
    assert read.status_code == 200 and read.get_json()["criteria"] == f"{TOPIC_BASE}/task-changed"
    status = client.get(f"/fhir/R4/Subscription/{body['id']}/$status", headers=auth(payer_token)).get_json()
    parameters = status["entry"][0]["resource"]["parameter"]
    assert {p["name"]: next(iter(v for k, v in p.items() if k.startswith("value"))) for p in parameters} == {
        "subscription": {"reference": f"http://127.0.0.1:5000/fhir/R4/Subscription/{body['id']}"},
        "topic": f"{TOPIC_BASE}/task-changed",
        "status": "requested",
        "type": "query-status",
        "events-since-subscription-start": "0",
    }
    assert client.delete(f"/fhir/R4/Subscription/{body['id']}", headers=auth(payer_token)).status_code == 204
    assert client.get(f"/fhir/R4/Subscription/{body['id']}", headers=auth(payer_token)).status_code == 404


def test_another_organisation_cannot_see_it(
    client: Any, case: Case, payer_token: str, make_partner: Callable[..., Any], get_token: Callable[..., str]
) -> None:
    sub_id = client.post("/fhir/R4/Subscription", json=subscription(), headers=auth(payer_token)).get_json()["id"]
    snf_token = get_token(make_partner(case.snfs[0].id, PAYER_SCOPES), PAYER_SCOPES)
    for method in (client.get, client.delete):
        answer = method(f"/fhir/R4/Subscription/{sub_id}", headers=auth(snf_token))
        assert answer.status_code == 404 and answer.get_json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    ("body", "status", "expression"),
    [
        (subscription(topic="https://example.org/SubscriptionTopic/anything"), 422, "Subscription.criteria"),
        (subscription(type="websocket"), 422, "Subscription.channel.type"),
        (subscription(endpoint="mailto:payer@example.org"), 422, "Subscription.channel.endpoint"),
        (subscription(topic=f"{TOPIC_BASE}/careplan-changed"), 403, None),
    ],
)
def test_refused_subscriptions(client: Any, payer_token: str, body: Any, status: int, expression: str | None) -> None:
    if body["criteria"].endswith("careplan-changed"):
        body.pop("_criteria")  # valid for CarePlan, but the token cannot read CarePlans
    answer = client.post("/fhir/R4/Subscription", json=body, headers=auth(payer_token))
    assert answer.status_code == status
    issue = answer.get_json()["issue"][0]
    assert expression is None or issue["expression"] == [expression]


def test_a_token_is_required(client: Any) -> None:
    answer = client.post("/fhir/R4/Subscription", json=subscription())
    assert answer.status_code == 401 and "Bearer" in answer.headers["WWW-Authenticate"]


@pytest.mark.parametrize("app", [""], indirect=True)
@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/hook",
        "https://192.168.1.20/hook",
        "https://172.16.0.1/hook",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://[fe80::1]/hook",
        "https://[fd00::1]/hook",
        "https://2130706433/hook",  # 127.0.0.1 written as one number
    ],
)
def test_internal_endpoints_are_refused_by_default(client: Any, payer_token: str, endpoint: str) -> None:
    answer = client.post("/fhir/R4/Subscription", json=subscription(endpoint=endpoint), headers=auth(payer_token))
    assert answer.status_code == 422, answer.get_json()
    issue = answer.get_json()["issue"][0]
    assert issue["expression"] == ["Subscription.channel.endpoint"]


@pytest.mark.parametrize("app", ["127.0.0.0/8"], indirect=True)
def test_the_operator_setting_allows_only_the_networks_it_names(client: Any, payer_token: str) -> None:
    for endpoint in ("http://127.0.0.1:9/hook", "https://127.0.0.2:8443/hook"):
        answer = client.post("/fhir/R4/Subscription", json=subscription(endpoint=endpoint), headers=auth(payer_token))
        assert answer.status_code == 201, answer.get_json()
    for endpoint in ("https://10.0.0.5/hook", "https://169.254.169.254/latest/meta-data/"):
        answer = client.post("/fhir/R4/Subscription", json=subscription(endpoint=endpoint), headers=auth(payer_token))
        issue = answer.get_json()["issue"][0]
        assert answer.status_code == 422 and issue["expression"] == ["Subscription.channel.endpoint"]


def test_events_returns_past_events_by_number(client: Any, payer_token: str, case: Case, session: Any) -> None:
    from datetime import UTC, datetime

    from service.models.subscriptions import NotificationDelivery

    created = client.post("/fhir/R4/Subscription", json=subscription(), headers=auth(payer_token)).get_json()
    at = datetime(2026, 3, 10, 9, tzinfo=UTC)
    for number in (1, 2, 3):
        session.add(
            NotificationDelivery(
                subscription_id=created["id"], kind="event-notification", event_number=number, focus_type="Task",
                focus_id=f"task-{number}", event_at=at, created_at=at, next_attempt_at=at, status="delivered",
            )
        )  # fmt: skip
    session.commit()
    path = f"/fhir/R4/Subscription/{created['id']}/$events"
    answer = client.get(path, query_string={"eventsSinceNumber": "2"}, headers=auth(payer_token))
    assert answer.status_code == 200
    bundle = answer.get_json()
    assert bundle["type"] == "history"
    status = {p["name"]: p for p in bundle["entry"][0]["resource"]["parameter"]}
    assert status["type"]["valueCode"] == "query-event"
    assert [e["fullUrl"].rsplit("/", 1)[1] for e in bundle["entry"][1:]] == ["task-2", "task-3"]
    bounded = client.get(path, query_string={"eventsUntilNumber": "1"}, headers=auth(payer_token)).get_json()
    assert [e["fullUrl"].rsplit("/", 1)[1] for e in bounded["entry"][1:]] == ["task-1"]
    bad = client.get(path, query_string={"eventsSinceNumber": "two"}, headers=auth(payer_token))
    assert bad.status_code == 400


# Topic discovery in R4 (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/Basic-r4-encounter-complete.html):
# each topic is a Basic coded fhir-types#SubscriptionTopic with the R5 url extension.
TOPIC_URL = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.url"


def _topic_urls(bundle: dict[str, Any]) -> list[str]:
    return sorted(
        ext["valueUri"]
        for e in bundle.get("entry", [])
        for ext in e["resource"]["extension"]
        if ext["url"] == TOPIC_URL
    )


def test_topics_are_basic_resources(
    client: Any, case: Case, make_partner: Callable[..., Any], get_token: Callable[..., str]
) -> None:
    token = get_token(make_partner(case.payer.id, "system/Basic.rs"), "system/Basic.rs")
    both = ["https://carebridge.dev/fhir/SubscriptionTopic/careplan-changed", f"{TOPIC_BASE}/task-changed"]
    for code in ("SubscriptionTopic", "http://hl7.org/fhir/fhir-types|SubscriptionTopic"):
        bundle = client.get("/fhir/R4/Basic", query_string={"code": code}, headers=auth(token)).get_json()
        assert bundle["type"] == "searchset" and _topic_urls(bundle) == both
    other = client.get("/fhir/R4/Basic", query_string={"code": "urn:other|SubscriptionTopic"}, headers=auth(token))
    assert other.get_json()["total"] == 0

    topic = client.get("/fhir/R4/Basic/task-changed", headers=auth(token)).get_json()
    assert topic["code"] == {"coding": [{"system": "http://hl7.org/fhir/fhir-types", "code": "SubscriptionTopic"}]}
    filters = [
        [x["valueString"] for x in ext["extension"] if x["url"] == "filterParameter"]
        for ext in topic["extension"]
        if ext["url"].endswith("SubscriptionTopic.canFilterBy")
    ]
    assert filters == [["owner"], ["patient"], ["status"]]  # what Subscription criteria may filter on
    assert topic["modifierExtension"] == [
        {"url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.status", "valueCode": "active"}
    ]

    assert client.get("/fhir/R4/Basic/nothing", headers=auth(token)).status_code == 404
    refused = client.get("/fhir/R4/Basic", query_string={"author": "x"}, headers=auth(token))
    assert refused.status_code == 400 and refused.get_json()["resourceType"] == "OperationOutcome"
    no_scope = get_token(make_partner(case.payer.id, "system/Task.rs"), "system/Task.rs")
    assert client.get("/fhir/R4/Basic", headers=auth(no_scope)).status_code == 403

    rest = client.get("/fhir/R4/metadata").get_json()["rest"][0]
    (basic,) = [r for r in rest["resource"] if r["type"] == "Basic"]
    assert [i["code"] for i in basic["interaction"]] == ["read", "search-type"]
    assert [p["name"] for p in basic["searchParam"]] == ["code"]
