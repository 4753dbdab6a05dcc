"""Subscriptions: fan-out from the outbox, tenancy, ordered delivery, retries and dead letters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
import requests
from joserfc.jwk import ECKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import clock
from service.auth import registry
from service.auth.context import AccessContext
from service.auth.scopes import parse_scopes
from service.fhir_api.subscriptions_fhir import FILTER_CRITERIA, TOPIC_BASE, TOPICS, parse_subscription
from service.models.audit_events import AccessEvent
from service.models.clients import PartnerClient
from service.models.subscriptions import NotificationDelivery, Subscription
from service.usecases import handoffs, patients, subscriptions
from service.usecases.consumers import CONSUMERS
from service.usecases.dispatch import dispatch_pending
from service.usecases.errors import Invalid, NotFound
from service.usecases.outbound_endpoints import EndpointPolicy
from service.usecases.subscriptions import RetryPolicy
from tests.factories import Case

BASE = "http://carebridge.test/fhir/R4"
TASK_TOPIC = f"{TOPIC_BASE}/task-changed"
POLICY = RetryPolicy(delays=(10, 60))
# The operator setting the tests run with: receivers on loopback (CAREBRIDGE_SUBSCRIPTION_ALLOW_PRIVATE).
LOOPBACK = EndpointPolicy.from_setting("127.0.0.0/8")


class Receiver:
    """A hand-written endpoint: records what it was sent, or fails while `down`."""

    def __init__(self) -> None:
        self.bundles: list[dict[str, Any]] = []
        self.headers: list[Mapping[str, str]] = []
        self.down = False

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        if self.down:
            raise requests.ConnectionError("refused")
        self.bundles.append(orjson.loads(body))
        self.headers.append(headers)
        return 200

    def kinds(self) -> list[str]:
        return [_param(b, "type") for b in self.bundles]

    def event_numbers(self) -> list[str]:
        return [
            p["part"][0]["valueString"]
            for b in self.bundles
            for p in b["entry"][0]["resource"]["parameter"]
            if p["name"] == "notification-event"
        ]


def _param(bundle: Mapping[str, Any], name: str) -> Any:
    status = bundle["entry"][0]["resource"]
    return next(v for p in status["parameter"] if p["name"] == name for k, v in p.items() if k.startswith("value"))


def payer_access(case: Case, client_id: str = "payer-app") -> AccessContext:
    scopes = parse_scopes("system/Task.rs system/CarePlan.rs system/Subscription.crud")
    return AccessContext(client_id, client_id, case.payer.id, scopes, None)


def subscribe(
    session: Session,
    ctx: AccessContext,
    criteria: list[str] | None = None,
    *,
    endpoint: str = "http://127.0.0.1:9/hook",
    endpoints: EndpointPolicy = LOOPBACK,
) -> Subscription:
    body: dict[str, Any] = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "member tasks",
        "criteria": TASK_TOPIC,
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/fhir+json",
            "header": ["Authorization: Bearer secret-for-the-receiver"],
        },
    }
    if criteria:
        body["_criteria"] = {"extension": [{"url": FILTER_CRITERIA, "valueString": c} for c in criteria]}
    return subscriptions.create_subscription(session, ctx, parse_subscription(body), endpoints)


def deliver(
    session: Session, sub: Subscription, receiver: Receiver, endpoints: EndpointPolicy = LOOPBACK
) -> subscriptions.DeliveryOutcome:
    return subscriptions.deliver_pending(
        session, sub.id, base_url=BASE, policy=POLICY, endpoints=endpoints, send=receiver
    )


def new_task(session: Session, case: Case, patient_id: str | None = None, owner_org_id: str | None = None) -> str:
    h = handoffs.create_handoff(
        session,
        actor="planner",
        patient_id=patient_id or case.patient.id,
        stay_id=None if patient_id else case.stay.id,
        kind="payer_authorization",
        owner_org_id=owner_org_id or case.payer.id,
        requester_org_id=case.hospital.id,
    )
    return h.id


def relay(session: Session) -> None:
    dispatch_pending(session, CONSUMERS)


def test_handshake_then_active_with_the_subscribers_headers(session: Session, case: Case, now: datetime) -> None:
    sub = subscribe(session, payer_access(case))
    assert sub.status == "requested"
    receiver = Receiver()
    assert deliver(session, sub, receiver).delivered == 1
    assert receiver.kinds() == ["handshake"]
    assert receiver.headers[0]["Authorization"] == "Bearer secret-for-the-receiver"
    assert receiver.headers[0]["Content-Type"] == "application/fhir+json"
    bundle = receiver.bundles[0]
    assert bundle["type"] == "history" and bundle["entry"][0]["resource"]["resourceType"] == "Parameters"
    assert session.get(Subscription, sub.id).status == "active"  # type: ignore[union-attr]


def test_member_task_changes_arrive_in_order_with_id_only_payloads(session: Session, case: Case, now: datetime) -> None:
    relay(session)  # the case's own creation events predate the subscription
    sub = subscribe(session, payer_access(case))
    task_id = new_task(session, case)
    handoffs.transition_handoff(session, task_id, "accepted", actor="payer", acting_org_id=case.payer.id)
    relay(session)
    receiver = Receiver()
    deliver(session, sub, receiver)
    assert receiver.kinds() == ["handshake", "event-notification", "event-notification"]
    assert receiver.event_numbers() == ["1", "2"]
    last = receiver.bundles[-1]
    assert _param(last, "events-since-subscription-start") == "2"
    focus = last["entry"][1]
    assert focus["fullUrl"] == f"{BASE}/Task/{task_id}" and "resource" not in focus
    assert focus["request"] == {"method": "PUT", "url": f"Task/{task_id}"}


def test_a_payer_never_hears_of_a_non_member(session: Session, case: Case, now: datetime) -> None:
    relay(session)
    sub = subscribe(session, payer_access(case))
    stranger = patients.register_patient(session, family_name="Other", given_name="Olga", actor="test")
    # Not a member, and the task is addressed to a facility, not to the payer.
    new_task(session, case, patient_id=stranger.id, owner_org_id=case.snfs[0].id)
    relay(session)
    pending = session.scalars(select(NotificationDelivery).where(NotificationDelivery.subscription_id == sub.id))
    assert [d.kind for d in pending] == ["handshake"]


def test_filters_by_status_and_owner(session: Session, case: Case, now: datetime) -> None:
    relay(session)
    ctx = payer_access(case)
    completed_only = subscribe(session, ctx, ["Task?status=completed"])
    for_payer = subscribe(session, ctx, [f"Task?owner=Organization/{case.payer.id}"])
    for_snf = subscribe(session, ctx, [f"Task?owner={case.snfs[0].id}&status=requested"])
    new_task(session, case)
    relay(session)
    assert [s.events_since_start for s in (completed_only, for_payer, for_snf)] == [0, 1, 0]


def test_a_receiver_that_was_down_gets_every_missed_event_once_back(
    session: Session, case: Case, now: datetime
) -> None:
    relay(session)
    sub = subscribe(session, payer_access(case))
    receiver = Receiver()
    deliver(session, sub, receiver)
    receiver.down = True
    for _ in range(3):
        new_task(session, case)
    relay(session)
    outcome = deliver(session, sub, receiver)
    assert outcome.delivered == 0 and outcome.retry_in == timedelta(seconds=10)
    assert sub.status == "error" and sub.error and "could not be reached" in sub.error
    # Not due yet: nothing is attempted, the queue waits.
    assert deliver(session, sub, receiver).delivered == 0
    receiver.down = False
    clock.set_clock(lambda: now + timedelta(seconds=11))
    assert deliver(session, sub, receiver).delivered == 3
    assert receiver.event_numbers() == ["1", "2", "3"]
    assert sub.status == "active" and sub.error is None
    attempts = session.scalars(select(AccessEvent).where(AccessEvent.interaction == "notify")).all()
    assert [a.outcome for a in attempts] == ["0", "4", "0", "0", "0"]


def test_after_the_retry_window_a_notification_is_dead_lettered_and_reported(
    session: Session, case: Case, now: datetime
) -> None:
    relay(session)
    sub = subscribe(session, payer_access(case))
    receiver = Receiver()
    deliver(session, sub, receiver)
    receiver.down = True
    new_task(session, case)
    relay(session)
    clock.set_clock(lambda: now + POLICY.give_up_after)
    deliver(session, sub, receiver)
    failed = session.scalars(select(NotificationDelivery).where(NotificationDelivery.status == "failed")).all()
    assert [d.event_number for d in failed] == [1]
    assert sub.status == "error" and "1 notification(s) could not be delivered" in (sub.error or "")
    receiver.down = False
    new_task(session, case)
    relay(session)
    deliver(session, sub, receiver)
    assert receiver.event_numbers() == ["2"]
    assert sub.status == "error", "a dead letter stays visible after the receiver recovers"


def test_heartbeat_after_a_silent_period(session: Session, case: Case, now: datetime) -> None:
    sub = subscribe(session, payer_access(case))
    sub.heartbeat_seconds = 60
    receiver = Receiver()
    deliver(session, sub, receiver)
    assert subscriptions.queue_heartbeats(session) == []
    clock.set_clock(lambda: now + timedelta(seconds=61))
    assert subscriptions.queue_heartbeats(session) == [sub.id]
    deliver(session, sub, receiver)
    assert receiver.kinds() == ["handshake", "heartbeat"]


def test_only_the_owner_organisation_reads_or_deletes(session: Session, case: Case, now: datetime) -> None:
    sub = subscribe(session, payer_access(case))
    colleague = payer_access(case, client_id="payer-batch")
    assert subscriptions.get_subscription(session, colleague, sub.id) is sub
    outsider = AccessContext("snf-app", "snf-app", case.snfs[0].id, parse_scopes("system/*.rs"), None)
    with pytest.raises(NotFound):
        subscriptions.get_subscription(session, outsider, sub.id)
    with pytest.raises(NotFound):
        subscriptions.delete_subscription(session, outsider, sub.id)
    subscriptions.delete_subscription(session, colleague, sub.id)
    assert session.get(Subscription, sub.id) is None


def test_an_endpoint_resolving_to_an_internal_address_is_refused_at_creation(
    session: Session, case: Case, now: datetime
) -> None:
    dns = {"hooks.payer.test": ["93.184.215.14", "10.0.0.7"]}  # one bad address is enough
    endpoints = EndpointPolicy.from_setting("", resolve=lambda host, port: dns[host])
    with pytest.raises(Invalid) as refused:
        subscribe(session, payer_access(case), endpoint="https://hooks.payer.test/hook", endpoints=endpoints)
    assert list(refused.value.details["fields"]) == ["Subscription.channel.endpoint"]  # type: ignore[arg-type]
    assert session.scalars(select(Subscription)).all() == []


def test_a_name_that_resolves_to_an_internal_address_later_gets_no_delivery(
    session: Session, case: Case, now: datetime
) -> None:
    dns = {"hooks.payer.test": ["93.184.215.14"]}
    endpoints = EndpointPolicy.from_setting("", resolve=lambda host, port: dns[host])
    sub = subscribe(session, payer_access(case), endpoint="https://hooks.payer.test/hook", endpoints=endpoints)
    dns["hooks.payer.test"] = ["169.254.169.254"]  # DNS changed after the check at creation
    receiver = Receiver()
    outcome = deliver(session, sub, receiver, endpoints)
    assert outcome.delivered == 0 and receiver.bundles == []
    assert sub.status == "error" and "not allowed" in (sub.error or "")
    [attempt] = session.scalars(select(AccessEvent).where(AccessEvent.interaction == "notify")).all()
    assert attempt.outcome == "4"
    dns["hooks.payer.test"] = ["93.184.215.14"]
    clock.set_clock(lambda: now + timedelta(seconds=11))
    assert deliver(session, sub, receiver, endpoints).delivered == 1


def registered_payer_client(session: Session, case: Case) -> AccessContext:
    """A payer client registered as `carebridge clients add` does, and its access."""
    key = ECKey.generate_key("P-384", parameters={"kid": "payer-key"})
    client = registry.register_client(
        session, name="payer app", scopes="system/Task.rs system/Subscription.crud", organization_id=case.payer.id,
        jwks={"keys": [key.as_dict(private=False)]},
    )  # fmt: skip
    return payer_access(case, client_id=client.client_id)


def test_a_revoked_clients_subscriptions_stop_at_once(session: Session, case: Case, now: datetime) -> None:
    relay(session)
    ctx = registered_payer_client(session, case)
    sub = subscribe(session, ctx)
    receiver = Receiver()
    deliver(session, sub, receiver)
    new_task(session, case)
    relay(session)  # a notification is already queued when the client is revoked
    registry.revoke_client(session, ctx.client_id)
    assert sub.status == "off"
    new_task(session, case)
    relay(session)
    assert deliver(session, sub, receiver).delivered == 0
    assert receiver.kinds() == ["handshake"]
    assert sub.events_since_start == 1, "no event after the revocation is even queued"


def test_a_delivery_never_goes_out_for_a_revoked_client(session: Session, case: Case, now: datetime) -> None:
    # The revocation committed while the subscription was still live (e.g. a revocation racing a
    # worker that had read the subscription): the delivery itself checks the client.
    relay(session)
    ctx = registered_payer_client(session, case)
    sub = subscribe(session, ctx)
    new_task(session, case)
    relay(session)
    client = session.get(PartnerClient, ctx.client_id)
    assert client is not None
    client.revoked_at = now
    session.commit()
    receiver = Receiver()
    assert deliver(session, sub, receiver).delivered == 0
    assert receiver.bundles == [] and sub.status == "off"


def test_topics_cover_task_and_careplan() -> None:
    assert {t.resource_type for t in TOPICS.values()} == {"Task", "CarePlan"}
