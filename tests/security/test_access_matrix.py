"""Issue #10's access matrix, written out by hand from the issue's rules (not from the policy's tables).

World: patient A of hospital A (stay, plan, goal, a referral to SNF A1 and SNF A2, each with a
Task, and an H&P sent with the referral), payer A's member; patient B the same at hospital B.
Every principal acts for A's side.

Rules the expectations come from:
- discharge planners and case managers: all case types, their hospital's patients;
- intake coordinators: Patient, ServiceRequest, the referral's documents (DocumentReference and
  their content, Binary) and Task (read; answer Tasks), of referrals addressed to their facility;
  no stays, plans or goals;
- payer care managers: read their members' cases; auditors: AuditEvent only; administrators: no
  patient data;
- backend clients: `system/*` for their organisation: a hospital sees its patients' records, an
  SNF the referrals and Tasks addressed to it and their patient, a payer its members' records;
- `patient/` scopes hold a token to its launch patient, whatever else it carries;
- a missing scope is 403; a record the principal may not see is 404, like one that does not exist.

Screening (issue #15; patient A was screened, one concern confirmed and served by A's referral):
- hospital staff and clients, payers and patient tokens read the screening (QuestionnaireResponse),
  its Observations and concerns (Condition) of the patients whose whole record they hold;
- a facility reads only the concern the referral addressed to it serves; an intake coordinator
  has no screening scope but Condition's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import clock
from service.auth.jwts import unverified_claims
from service.models import User
from service.models.audit_events import AccessEvent
from tests.service.fhir_api.support import World, resign, unsigned

TYPES = ("Patient", "Encounter", "CarePlan", "Goal", "ServiceRequest", "Task", "DocumentReference")
REST_READ = {
    "Patient": "/api/patients/{}",
    "Encounter": "/api/stays/{}",
    "CarePlan": "/api/plans/{}",
    "Goal": "/api/plans/goals/{}",
    "ServiceRequest": "/api/referrals/{}",
    "Task": "/api/handoffs/{}",
    "DocumentReference": "/api/documents/{}",
}
EVERYTHING = dict.fromkeys(TYPES, 200)
NOTHING = dict.fromkeys(TYPES, 403)
UNSEEN = dict.fromkeys(TYPES, 404)


@dataclass(frozen=True)
class Expect:
    """What one principal gets reading A's records (own) and B's (other), per type; `care_team`:
    the FHIR CareTeam of patient A and of patient B; `patch`: changing patient A's name (REST);
    `document`: the content of A's and B's documents (FHIR Binary, the REST download, the web page
    for people)."""

    own: dict[str, int]
    other: dict[str, int]
    care_team: tuple[int, int]
    patch: int
    document: tuple[int, int]


INTAKE_OWN = {
    "Patient": 200, "Encounter": 403, "CarePlan": 403, "Goal": 403, "ServiceRequest": 200, "Task": 200,
    "DocumentReference": 200,
}  # fmt: skip
INTAKE_OTHER = {
    "Patient": 404, "Encounter": 403, "CarePlan": 403, "Goal": 403, "ServiceRequest": 404, "Task": 404,
    "DocumentReference": 404,
}  # fmt: skip
SNF_OWN = {
    "Patient": 200, "Encounter": 404, "CarePlan": 404, "Goal": 404, "ServiceRequest": 200, "Task": 200,
    "DocumentReference": 200,
}  # fmt: skip
MIXED_OWN = {
    "Patient": 200, "Encounter": 403, "CarePlan": 403, "Goal": 403, "ServiceRequest": 403, "Task": 200,
    "DocumentReference": 403,
}  # fmt: skip
MIXED_OTHER = {
    "Patient": 404, "Encounter": 403, "CarePlan": 403, "Goal": 403, "ServiceRequest": 403, "Task": 404,
    "DocumentReference": 403,
}  # fmt: skip

# Principal -> expectations, by hand. People: (role, organisation); clients: (organisation, scopes).
MATRIX: dict[str, Expect] = {
    "discharge_planner": Expect(EVERYTHING, UNSEEN, (200, 404), 200, (200, 404)),
    "case_manager": Expect(EVERYTHING, UNSEEN, (200, 404), 200, (200, 404)),
    "intake_coordinator": Expect(INTAKE_OWN, INTAKE_OTHER, (403, 403), 403, (200, 404)),
    "payer_care_manager": Expect(EVERYTHING, UNSEEN, (200, 404), 403, (200, 404)),
    "auditor": Expect(NOTHING, NOTHING, (403, 403), 403, (403, 403)),
    "administrator": Expect(NOTHING, NOTHING, (403, 403), 403, (403, 403)),
    "hospital client": Expect(EVERYTHING, UNSEEN, (200, 404), 200, (200, 404)),
    "snf client": Expect(SNF_OWN, UNSEEN, (200, 404), 403, (200, 404)),
    "payer client": Expect(EVERYTHING, UNSEEN, (200, 404), 403, (200, 404)),
    "patient token": Expect(EVERYTHING, UNSEEN, (200, 404), 403, (200, 404)),
    "mixed-scope token": Expect(MIXED_OWN, MIXED_OTHER, (403, 403), 403, (403, 403)),
}
SCREENING_TYPES = ("QuestionnaireResponse", "Observation", "Condition")
SCREENING_REST = {"QuestionnaireResponse": "/api/screenings/{}", "Condition": "/api/concerns/{}"}
ALL_SCREENING = dict.fromkeys(SCREENING_TYPES, 200)
NO_SCREENING = dict.fromkeys(SCREENING_TYPES, 403)
UNSEEN_SCREENING = dict.fromkeys(SCREENING_TYPES, 404)
CONCERN_ONLY = {"QuestionnaireResponse": 403, "Observation": 403, "Condition": 200}
# Principal -> (patient A's, patient B's) screening records, by hand.
SCREENING_MATRIX: dict[str, tuple[dict[str, int], dict[str, int]]] = {
    "discharge_planner": (ALL_SCREENING, UNSEEN_SCREENING),
    "case_manager": (ALL_SCREENING, UNSEEN_SCREENING),
    "intake_coordinator": (CONCERN_ONLY, {**CONCERN_ONLY, "Condition": 404}),
    "payer_care_manager": (ALL_SCREENING, UNSEEN_SCREENING),
    "auditor": (NO_SCREENING, NO_SCREENING),
    "administrator": (NO_SCREENING, NO_SCREENING),
    "hospital client": (ALL_SCREENING, UNSEEN_SCREENING),
    "snf client": ({**UNSEEN_SCREENING, "Condition": 200}, UNSEEN_SCREENING),
    "payer client": (ALL_SCREENING, UNSEEN_SCREENING),
    "patient token": (ALL_SCREENING, UNSEEN_SCREENING),
    "mixed-scope token": (NO_SCREENING, NO_SCREENING),
}
PEOPLE_ORG = {
    "discharge_planner": "hospital",
    "case_manager": "hospital",
    "intake_coordinator": "snf",
    "payer_care_manager": "payer",
    "auditor": "hospital",
    "administrator": "hospital",
}


def _org(world: World, kind: str) -> str:
    return {"hospital": world.a.hospital.id, "snf": world.a.snfs[0].id, "payer": world.a.payer.id}[kind]


@pytest.fixture
def token_for(world: World, mint: Callable[..., str], person_token: Callable[[User], str]) -> Callable[[str], str]:
    """A bearer token for each principal of the matrix."""

    def make(name: str) -> str:
        if name in PEOPLE_ORG:
            org_id = _org(world, PEOPLE_ORG[name])
            return person_token(User(username=f"{name}.matrix", display_name=name, organization_id=org_id, role=name))
        if name.endswith("client"):
            return mint(_org(world, name.split()[0]), "system/*.cruds")
        scope = "patient/*.rs" if name == "patient token" else "patient/Task.rs user/Patient.rs"
        return mint(None, scope, patient_id=world.a.patient.id)

    return make


def _refusals(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AccessEvent).where(AccessEvent.outcome != "0")) or 0


def _status(client: Any, session: Session, url: str, token: str) -> int:
    """The status, and (refusals) that an access event recorded it."""
    before = _refusals(session)
    status: int = client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code
    if status >= 400:
        assert _refusals(session) > before, f"{url}: refusal {status} was not audited"
    return status


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_reads_on_the_rest_and_fhir_apis(
    name: str, client: Any, session: Session, world: World, token_for: Callable[[str], str]
) -> None:
    token, expect = token_for(name), MATRIX[name]
    for door, url_of in (("REST", lambda t, i: REST_READ[t].format(i)), ("FHIR", lambda t, i: f"/fhir/R4/{t}/{i}")):
        own = {t: _status(client, session, url_of(t, world.ids_a[t]), token) for t in TYPES}
        other = {t: _status(client, session, url_of(t, world.ids_b[t]), token) for t in TYPES}
        assert (door, own, other) == (door, expect.own, expect.other)
    care_team = tuple(_status(client, session, f"/fhir/R4/CareTeam/{w.patient.id}", token) for w in (world.a, world.b))
    assert care_team == expect.care_team


@pytest.mark.parametrize("name", sorted(SCREENING_MATRIX))
def test_screening_reads_on_the_rest_and_fhir_apis(
    name: str, client: Any, session: Session, world: World, token_for: Callable[[str], str]
) -> None:
    token, (own, other) = token_for(name), SCREENING_MATRIX[name]
    for ids, expected in ((world.ids_a, own), (world.ids_b, other)):
        fhir = {t: _status(client, session, f"/fhir/R4/{t}/{ids[t]}", token) for t in SCREENING_TYPES}
        assert fhir == expected, ("FHIR", fhir)
        rest = {t: _status(client, session, url.format(ids[t]), token) for t, url in SCREENING_REST.items()}
        assert rest == {t: expected[t] for t in SCREENING_REST}, ("REST", rest)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_document_content_on_the_fhir_and_rest_apis(
    name: str, client: Any, session: Session, world: World, token_for: Callable[[str], str]
) -> None:
    token, expect = token_for(name), MATRIX[name]
    a, b = world.ids_a["DocumentReference"], world.ids_b["DocumentReference"]
    binary = tuple(_status(client, session, f"/fhir/R4/Binary/{ident}", token) for ident in (a, b))
    assert binary == expect.document
    # The REST download asks for the DocumentReference itself (its content has no scope of its own there).
    rest = tuple(_status(client, session, f"/api/documents/{ident}/content", token) for ident in (a, b))
    assert rest == (expect.own["DocumentReference"], expect.other["DocumentReference"])


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_changing_patient_a(name: str, client: Any, session: Session, world: World, token_for: Any) -> None:
    url = f"/api/patients/{world.a.patient.id}"
    response = client.patch(url, json={"given_name": "Agatha"}, headers={"Authorization": f"Bearer {token_for(name)}"})
    assert response.status_code == MATRIX[name].patch


def _expired(session: Session, token: str) -> str:
    return resign(session, token, exp=int((clock.now() - timedelta(minutes=10)).timestamp()))


@pytest.mark.parametrize("case", ["none", "expired", "forged", "alg none"])
def test_no_usable_credentials_is_401_on_every_door(
    case: str, client: Any, session: Session, world: World, mint: Any
) -> None:
    good = mint(world.a.hospital.id, "system/*.cruds")
    token = {"none": None, "expired": _expired(session, good), "forged": good[:-4] + "AAAA", "alg none": unsigned(good)}
    headers = {"Authorization": f"Bearer {token[case]}"} if token[case] else {}
    urls = [REST_READ[t].format(world.ids_a[t]) for t in TYPES] + [f"/fhir/R4/{t}/{world.ids_a[t]}" for t in TYPES]
    for url in [*urls, "/api/patients", "/api/worklist", "/api/organizations", "/fhir/R4/CareTeam"]:
        before = _refusals(session)
        response = client.get(url, headers=headers)
        assert response.status_code == 401, url
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="carebridge"'), url
        body = response.get_json()
        assert (body["resourceType"] == "OperationOutcome") if url.startswith("/fhir") else (body["code"] == 401)
        assert _refusals(session) == before + 1, f"{url}: refusal not audited"


@pytest.mark.parametrize(
    ("scope", "resource_type"),
    [("system/Task.rs", "Patient"), ("system/Patient.rs", "Task"), ("system/CarePlan.rs", "Goal")],
)
def test_wrong_scope_is_403(scope: str, resource_type: str, client: Any, world: World, mint: Any) -> None:
    token, ident = mint(world.a.hospital.id, scope), world.ids_a[resource_type]
    for url in (REST_READ[resource_type].format(ident), f"/fhir/R4/{resource_type}/{ident}"):
        response = client.get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 403 and "insufficient_scope" in response.headers["WWW-Authenticate"], url


def test_refusals_carry_the_client_the_request_and_the_reason(
    client: Any, session: Session, world: World, mint: Any
) -> None:
    token = mint(world.a.snfs[0].id, "system/Task.rs")
    url = f"/api/referrals/{world.ids_a['ServiceRequest']}"
    assert client.get(f"{url}?name=Anders", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    event = session.scalars(select(AccessEvent).where(AccessEvent.outcome == "4")).one()
    assert (event.client_id, event.organization_id) == (unverified_claims(token)["client_id"], world.a.snfs[0].id)
    assert event.query == f"GET {url}"  # method and path; never the query string's values
    assert "ServiceRequest" in (event.description or "") and "Anders" not in (event.description or "")
