"""Hostile input to the FHIR API (issue #11): every case answers 4xx with an OperationOutcome
(413 for an oversize body), stores nothing, and the server keeps answering afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.app import create_app
from service.config import Settings
from service.fhir_api.subscriptions_fhir import FILTER_CRITERIA, PAYLOAD_CONTENT, TOPIC_BASE
from service.models import Handoff
from service.models.subscriptions import Subscription
from tests.service.fhir_api.support import FHIR_JSON, World
from tests.service.fhir_api.test_messaging import message

SNF_SCOPES = "system/Task.rus system/Subscription.crud"
HOSPITAL_SCOPES = "system/Encounter.cru system/Patient.rs"
SUPERSCRIPT_TWO = "\u00b2"


@pytest.fixture
def app(session_factory: sessionmaker[Any], database_url: str) -> Any:
    """Subscriptions here may name the loopback receiver (the operator setting tests use)."""
    settings = Settings(database_url=database_url, celery_eager=True, subscription_allow_private="127.0.0.0/8")
    return create_app(settings, session_factory=session_factory)


@pytest.fixture
def snf_token(world: World, mint: Callable[..., str]) -> str:
    return mint(world.a.snfs[0].id, SNF_SCOPES)


@pytest.fixture
def hospital_token(world: World, mint: Callable[..., str]) -> str:
    return mint(world.a.hospital.id, HOSPITAL_SCOPES)


def headers(token: str, content_type: str = FHIR_JSON) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": FHIR_JSON, "Content-Type": content_type}


def refused(response: Any, status: int, expression: str | None = None) -> dict[str, Any]:
    """`response` is `status` with an OperationOutcome; its issue names `expression` when given."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == FHIR_JSON
    outcome: dict[str, Any] = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "error" and outcome["issue"][0]["diagnostics"]
    if expression is not None:
        assert expression in outcome["issue"][0].get("expression", []), outcome
    return outcome


@pytest.fixture
def alive(client: Any) -> Any:
    """Checked after the test: the server still answers a plain request."""
    yield
    assert client.get("/fhir/R4/metadata").status_code == 200


def subscription(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "referrals to us",
        "criteria": f"{TOPIC_BASE}/task-changed",
        "_criteria": {"extension": [{"url": FILTER_CRITERIA, "valueString": "Task?status=requested"}]},
        "channel": {"type": "rest-hook", "endpoint": "http://127.0.0.1:9/hook", "payload": FHIR_JSON},
    }
    return body | changes


def stored_subscriptions(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Subscription)) or 0


def task_of(client: Any, token: str, task_id: str) -> tuple[dict[str, Any], str]:
    response = client.get(f"/fhir/R4/Task/{task_id}", headers=headers(token))
    assert response.status_code == 200
    return response.get_json(), response.headers["ETag"]


def put_task(
    client: Any, token: str, task: dict[str, Any], etag: str, *, data: bytes | None = None, media: str = FHIR_JSON
) -> Any:
    body = data if data is not None else orjson.dumps(task)
    sent = headers(token, media) | {"If-Match": etag}
    return client.put(f"/fhir/R4/Task/{task['id']}", data=body, headers=sent)


# --- bodies: size, depth, characters, media type -------------------------------------------------


def test_a_50_mb_subscription_is_413(client: Any, session: Session, snf_token: str, alive: None) -> None:
    body = orjson.dumps(subscription(reason="x" * 50_000_000))
    refused(client.post("/fhir/R4/Subscription", data=body, headers=headers(snf_token)), 413)
    assert stored_subscriptions(session) == 0


@pytest.mark.parametrize("depth", [1_000, 5_000])
def test_deeply_nested_json_is_400_on_every_write(
    client: Any, world: World, snf_token: str, hospital_token: str, depth: int, alive: None
) -> None:
    # Beyond 1024 levels the JSON parser itself gives up; below, carebridge's bound refuses it.
    deep_reason = b'{"resourceType":"Subscription","reason":' + b'{"a":[' * depth + b"1" + b"]}" * depth + b"}"
    refused(client.post("/fhir/R4/Subscription", data=deep_reason, headers=headers(snf_token)), 400)
    deep_message = b'{"resourceType":"Bundle","type":"message","entry":' + b"[" * depth + b"]" * depth + b"}"
    refused(client.post("/fhir/R4/$process-message", data=deep_message, headers=headers(hospital_token)), 400)
    task, etag = task_of(client, snf_token, world.ids_a["Task"])
    deep_task = orjson.dumps(task)[:-1] + b',"extension":' + b"[" * depth + b"]" * depth + b"}"
    refused(put_task(client, snf_token, task, etag, data=deep_task), 400)


def test_nul_in_a_text_element_is_400_naming_it(client: Any, session: Session, snf_token: str, alive: None) -> None:
    response = client.post("/fhir/R4/Subscription", json=subscription(reason="a\u0000b"), headers=headers(snf_token))
    refused(response, 400, "Subscription.reason")
    assert stored_subscriptions(session) == 0


def test_control_character_in_a_task_note_is_400(client: Any, world: World, snf_token: str, alive: None) -> None:
    task, etag = task_of(client, snf_token, world.ids_a["Task"])
    task["businessStatus"] = {"text": "bed\u0007offered"}
    refused(put_task(client, snf_token, task, etag), 400, "Task.businessStatus.text")


@pytest.mark.parametrize("path", ["/fhir/R4/Subscription", "/fhir/R4/$process-message"])
def test_text_plain_bodies_are_415(
    client: Any, snf_token: str, hospital_token: str, path: str, session: Session, alive: None
) -> None:
    token = snf_token if "Subscription" in path else hospital_token
    body = subscription() if "Subscription" in path else message("admit")
    refused(client.post(path, data=orjson.dumps(body), headers=headers(token, "text/plain")), 415)
    assert stored_subscriptions(session) == 0


def test_text_plain_task_update_is_415(client: Any, world: World, snf_token: str, alive: None) -> None:
    task, etag = task_of(client, snf_token, world.ids_a["Task"])
    task["status"] = "received"
    refused(put_task(client, snf_token, task, etag, media="text/plain"), 415)


def test_json_media_type_is_accepted_as_well(client: Any, snf_token: str) -> None:
    response = client.post("/fhir/R4/Subscription", json=subscription(), headers=headers(snf_token, "application/json"))
    assert response.status_code == 201, response.get_json()


# --- integers: ASCII digits only ---------------------------------------------------------------


def test_superscript_count_is_400(client: Any, snf_token: str, alive: None) -> None:
    refused(client.get(f"/fhir/R4/Task?_count={SUPERSCRIPT_TWO}", headers=headers(snf_token)), 400)


def test_superscript_version_id_is_404(client: Any, world: World, snf_token: str, alive: None) -> None:
    task_id = world.ids_a["Task"]
    refused(client.get(f"/fhir/R4/Task/{task_id}/_history/{SUPERSCRIPT_TWO}", headers=headers(snf_token)), 404)


def test_superscript_if_match_is_412(client: Any, world: World, snf_token: str, session: Session, alive: None) -> None:
    task, _ = task_of(client, snf_token, world.ids_a["Task"])
    task["status"] = "received"
    refused(put_task(client, snf_token, task, f'W/"{SUPERSCRIPT_TWO}"'), 412)
    assert session.get_one(Handoff, task["id"]).status == "requested"


# --- Task updates are validated before anything is stored --------------------------------------


def test_business_status_as_a_bare_string_is_refused(
    client: Any, world: World, snf_token: str, session: Session, alive: None
) -> None:
    task, etag = task_of(client, snf_token, world.ids_a["Task"])
    task["businessStatus"] = "bed offered"
    refused(put_task(client, snf_token, task, etag), 400, "Task.businessStatus")
    session.expire_all()
    assert session.get_one(Handoff, task["id"]).business_status is None


def test_rejection_with_numbers_for_a_reason_is_refused(
    client: Any, world: World, snf_token: str, session: Session, alive: None
) -> None:
    task, etag = task_of(client, snf_token, world.ids_a["Task"])
    task["status"] = "rejected"
    task["statusReason"] = [1, 2]
    refused(put_task(client, snf_token, task, etag), 400, "Task.statusReason")
    session.expire_all()
    assert session.get_one(Handoff, task["id"]).status == "requested"


def test_rejection_with_an_empty_reason_is_refused(client: Any, world: World, snf_token: str, alive: None) -> None:
    task, etag = task_of(client, snf_token, world.ids_a["Task"])
    task["status"] = "rejected"
    task["statusReason"] = {}
    refused(put_task(client, snf_token, task, etag), 400, "Task.statusReason")


def test_unknown_task_status_is_refused_by_its_binding(client: Any, world: World, snf_token: str, alive: None) -> None:
    task, etag = task_of(client, snf_token, world.ids_a["Task"])
    task["status"] = "open"
    refused(put_task(client, snf_token, task, etag), 400, "Task.status")


# --- Subscriptions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expression"),
    [
        ({"channel": "rest-hook"}, "Subscription.channel"),
        (
            {"channel": subscription()["channel"] | {"_payload": "id-only"}},
            "Subscription.channel._payload",
        ),
        (
            {"channel": subscription()["channel"] | {"header": ["X-Tenant: a\r\nX-Injected: b"]}},
            "Subscription.channel.header",
        ),
        ({"_criteria": {"extension": [{"url": FILTER_CRITERIA, "valueString": "bogus"}]}}, "Subscription._criteria"),
        ({"_criteria": "Task?status=requested"}, "Subscription._criteria"),
        ({"_criteria": {"extension": [{"url": FILTER_CRITERIA, "valueString": "Task?x=1"}]}}, "Subscription._criteria"),
        ({"reason": ["a", "b"]}, "Subscription.reason"),
        ({"status": 7}, "Subscription.status"),
    ],
    ids=["channel-string", "payload-string", "header-crlf", "criteria-bogus", "criteria-string", "criteria-param",
         "reason-list", "status-number"],
)  # fmt: skip
def test_malformed_subscriptions_are_refused_and_not_stored(
    client: Any, session: Session, snf_token: str, changes: dict[str, Any], expression: str, alive: None
) -> None:
    response = client.post("/fhir/R4/Subscription", json=subscription(**changes), headers=headers(snf_token))
    outcome = refused(response, response.status_code, expression)
    assert response.status_code in (400, 422), outcome
    assert stored_subscriptions(session) == 0


def test_payload_content_extension_is_still_read(client: Any, snf_token: str) -> None:
    channel = subscription()["channel"] | {"_payload": {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": "empty"}]}}
    response = client.post("/fhir/R4/Subscription", json=subscription(channel=channel), headers=headers(snf_token))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["channel"]["_payload"]["extension"][0]["valueCode"] == "empty"


# --- $process-message ----------------------------------------------------------------------------


def _header(body: dict[str, Any]) -> dict[str, Any]:
    header: dict[str, Any] = body["entry"][0]["resource"]
    return header


@pytest.mark.parametrize(
    ("element", "value"),
    [
        ("eventCoding", "notification-admit"),
        ("source", "https://ehr.example.org/fhir"),
        ("focus", {"reference": "urn:uuid:encounter-1"}),
    ],
)
def test_process_message_with_wrong_types_is_400(
    client: Any, hospital_token: str, element: str, value: Any, alive: None
) -> None:
    body = message("admit")
    _header(body)[element] = value
    response = client.post("/fhir/R4/$process-message", json=body, headers=headers(hospital_token))
    refused(response, 400, f"Bundle.entry[0].resource.{element}")


@pytest.mark.parametrize("url", ["/fhir/R4/Task/a%00b", "/fhir/R4/Task?status=a%00b", "/fhir/R4/Task?_count=%00"])
def test_control_characters_in_the_url_are_400(client: Any, snf_token: str, url: str, alive: None) -> None:
    refused(client.get(url, headers=headers(snf_token)), 400)
