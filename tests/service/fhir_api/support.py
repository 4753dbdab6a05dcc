"""Helpers for the FHIR API tests: partner clients, forged tokens, a two-patient world."""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy.orm import Session

from service import clock, keystore
from service.auth import registry
from service.auth.jwts import unverified_claims
from service.auth.scopes import parse_scopes
from service.auth.tokens import issue_access_token
from service.config import Settings
from service.models import CareTeamMember
from service.models.clients import PartnerClient
from service.usecases import documents, plans, questionnaires, referrals, screenings
from tests.factories import Case

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FHIR_JSON = "application/fhir+json"


@dataclass
class Partner:
    client_id: str
    key: RSAKey

    def assertion(self, audience: str, *, lifetime: int = 240, jti: str | None = None, **overrides: Any) -> str:
        """A client assertion (RFC 7523) for `audience`, valid for `lifetime` seconds from now."""
        now = int(clock.now().timestamp())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "iat": now,
            "exp": now + lifetime,
            "jti": jti or str(uuid.uuid4()),
            **overrides,
        }
        return jwt.encode({"alg": "RS384", "kid": self.key.kid, "typ": "JWT"}, claims, self.key, algorithms=["RS384"])


@dataclass
class World:
    """Two unrelated patients (A and B), each with a hospital, SNFs, a payer, a plan, a goal, a
    referral to two SNFs with their Tasks and an H&P sent with it, and a care team; ids by FHIR type."""

    a: Case
    b: Case
    ids_a: dict[str, str]
    ids_b: dict[str, str]


# A screening that finds food insecurity (Hunger Vital Sign question 1 "often true") and a lack of
# transportation (93030-5 "yes"), answered 2026-03-10 08:30Z.
SCREENING = {
    "resourceType": "QuestionnaireResponse",
    "questionnaire": "https://carebridge.dev/fhir/Questionnaire/ahc-hrsn-core",
    "status": "completed",
    "authored": "2026-03-10T08:30:00Z",
    "item": [
        {"linkId": "88122-7", "answer": [{"valueCoding": {"system": "http://loinc.org", "code": "LA28397-0"}}]},
        {"linkId": "93030-5", "answer": [{"valueCoding": {"system": "http://loinc.org", "code": "LA33-6"}}]},
    ],
}


def populate(session: Session, case: Case) -> dict[str, str]:
    questionnaires.load_shipped(session)
    screening = screenings.record_screening(session, SCREENING, patient_id=case.patient.id, actor="test")
    food = screenings.decide_concern(session, f"{screening.id}-c1", "confirmed", actor="test")
    plan = plans.create_case_plan(session, patient_id=case.patient.id, title="Discharge plan", actor="test")
    goal = plans.add_goal(session, plan.id, description="Home with support", actor="test")
    referral = referrals.send_referral(
        session,
        patient_id=case.patient.id,
        stay_id=case.stay.id,
        case_plan_id=plan.id,
        service="snf_placement",
        recipient_org_ids=[case.snfs[0].id, case.snfs[1].id],
        requester_org_id=case.hospital.id,
        concern_id=food.id,
        actor="test",
    )
    session.add(CareTeamMember(patient_id=case.patient.id, user_id=case.planner.id, role="discharge_planner"))
    session.commit()
    document = documents.add_document(
        session, referral.id, documents.NewDocument("34117-2", b"History and physical\n", "text/plain", "H&P"),
        max_bytes=1024, actor="test", author_org_id=case.hospital.id,
    )  # fmt: skip
    task = next(h for h in referral.handoffs if h.owner_org_id == case.snfs[0].id)
    return {
        "Patient": case.patient.id,
        "Encounter": case.stay.id,
        "CarePlan": plan.id,
        "Goal": goal.id,
        "ServiceRequest": referral.id,
        "Task": task.id,
        "CareTeam": case.patient.id,
        "DocumentReference": document.id,
        "QuestionnaireResponse": screening.id,
        "Observation": f"{screening.id}-o1",
        "Condition": food.id,
    }


def committed_token(session: Session, settings: Settings, organization_id: str, scopes: str) -> str:
    """A new client of `organization_id` and a token for it, committed (for a database other processes read)."""
    client = registry.register_client(
        session, name="test partner", scopes=scopes, organization_id=organization_id,
        jwks_url="https://partner.invalid/jwks.json",
    )  # fmt: skip
    row = session.get(PartnerClient, client.client_id)
    assert row is not None
    token, _ = issue_access_token(session, settings, row, parse_scopes(scopes))
    session.commit()
    return token


def resign(session: Session, token: str, *, header: dict[str, Any] | None = None, **claims: Any) -> str:
    """`token` with some claims changed, signed again with carebridge's own key."""
    kid, alg, key = keystore.active_key(session)
    payload = {**unverified_claims(token), **claims}
    return jwt.encode({"alg": alg, "kid": kid, "typ": "at+jwt", **(header or {})}, payload, key, algorithms=[alg])


def b64url(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(token: str) -> str:
    """`token` re-encoded with `alg: none` and no signature (RFC 7519 section 6)."""
    return f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(unverified_claims(token))}."


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": FHIR_JSON}


# A relative reference (https://hl7.org/fhir/R4/references.html#literal) to a directory type.
DIRECTORY_REFERENCE = re.compile(
    r'"reference":"((?:Organization|Practitioner|PractitionerRole|Location)/[A-Za-z0-9.-]{1,64})"'
)


def referenced_directory(client: Any, token: str, texts: list[str]) -> dict[str, Any]:
    """Every Organization, Practitioner, PractitionerRole and Location the JSON `texts` refer to,
    read with `token`, and those the read ones refer to in turn: reference -> the answer."""
    todo = {ref for text in texts for ref in DIRECTORY_REFERENCE.findall(text)}
    answers: dict[str, Any] = {}
    while todo:
        reference = todo.pop()
        answers[reference] = answer = client.get(f"/fhir/R4/{reference}", headers=bearer(token))
        if answer.status_code == 200:
            todo |= set(DIRECTORY_REFERENCE.findall(answer.get_data(as_text=True))) - set(answers)
    return answers
