"""Every resource type x every way a request must be refused, and the allowed case.

Tokens for the allowed case come from a real client-credentials exchange at carebridge's token
endpoint; refused tokens are forged from a valid one (expired, other audience, other issuer,
bad signature, alg=none). Reading what the caller may not see is 404 (existence never leaks);
searching for it gives an empty Bundle (the server filters to what the token may see, as SMART
patient-level scopes do: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from service import clock
from service.fhir_api.resources import KINDS
from tests.service.fhir_api.support import World, bearer, resign, unsigned

TYPES = sorted(KINDS)


def _search_by_id(client: Any, resource_type: str, ident: str, token: str) -> Any:
    return client.get(f"/fhir/R4/{resource_type}", query_string={"_id": ident}, headers=bearer(token))


@pytest.mark.parametrize("resource_type", TYPES)
def test_allowed_hospital_reads_and_searches(
    resource_type: str, client: Any, world: World, make_partner: Any, get_token: Any
) -> None:
    partner = make_partner(world.a.hospital.id, "system/*.rs")
    token = get_token(partner, f"system/{resource_type}.rs")
    ident = world.ids_a[resource_type]
    read = client.get(f"/fhir/R4/{resource_type}/{ident}", headers=bearer(token))
    assert read.status_code == 200, read.get_json()
    assert read.mimetype == "application/fhir+json"
    assert read.get_json()["id"] == ident
    assert read.headers["ETag"] == f'W/"{read.get_json()["meta"]["versionId"]}"'
    found = _search_by_id(client, resource_type, ident, token).get_json()
    assert [e["resource"]["id"] for e in found["entry"]] == [ident]


@pytest.mark.parametrize("resource_type", TYPES)
def test_no_token_is_401_with_challenge(resource_type: str, client: Any, world: World) -> None:
    for url in (f"/fhir/R4/{resource_type}/{world.ids_a[resource_type]}", f"/fhir/R4/{resource_type}"):
        response = client.get(url)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="carebridge"')
        assert response.get_json()["resourceType"] == "OperationOutcome"


def _expired(token: str, session: Any) -> str:
    return resign(session, token, exp=int((clock.now() - timedelta(minutes=10)).timestamp()))


def _wrong_audience(token: str, session: Any) -> str:
    return resign(session, token, aud="http://127.0.0.1:9999/fhir/R4")


def _wrong_issuer(token: str, session: Any) -> str:
    return resign(session, token, iss="http://127.0.0.1:9999/auth")


def _bad_signature(token: str, _session: Any) -> str:
    head, body, signature = token.split(".")
    return f"{head}.{body}.{signature[:-6]}AAAAAA"


def _alg_none(token: str, _session: Any) -> str:
    return unsigned(token)


def _hs256_with_public_key(token: str, session: Any) -> str:
    """The classic confusion attack: HMAC 'signed' with the server's public key as the secret."""
    import hashlib
    import hmac
    import json

    from service.keystore import public_jwks
    from tests.service.fhir_api.support import b64url

    secret = json.dumps(public_jwks(session)["keys"][0]).encode()
    signing_input = f"{b64url({'alg': 'HS256', 'typ': 'JWT'})}.{token.split('.')[1]}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


FORGERIES: dict[str, Callable[[str, Any], str]] = {
    "expired": _expired,
    "wrong audience": _wrong_audience,
    "wrong issuer": _wrong_issuer,
    "bad signature": _bad_signature,
    "alg=none": _alg_none,
    "HS256 with the public key": _hs256_with_public_key,
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
@pytest.mark.parametrize("resource_type", TYPES)
def test_unusable_tokens_are_401(
    resource_type: str, forgery: str, client: Any, world: World, mint: Any, session: Any
) -> None:
    token = FORGERIES[forgery](mint(world.a.hospital.id, "system/*.rs"), session)
    response = client.get(f"/fhir/R4/{resource_type}/{world.ids_a[resource_type]}", headers=bearer(token))
    assert response.status_code == 401, response.get_json()
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("resource_type", TYPES)
def test_insufficient_scope_is_403(resource_type: str, client: Any, world: World, mint: Any) -> None:
    other = "CarePlan" if resource_type != "CarePlan" else "Task"
    token = mint(world.a.hospital.id, f"system/{other}.rs")
    ident = world.ids_a[resource_type]
    for response in (
        client.get(f"/fhir/R4/{resource_type}/{ident}", headers=bearer(token)),
        client.get(f"/fhir/R4/{resource_type}", headers=bearer(token)),
    ):
        assert response.status_code == 403
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    # Read-only scopes never allow a search-only token to read, nor the reverse.
    search_only = mint(world.a.hospital.id, f"system/{resource_type}.s")
    assert client.get(f"/fhir/R4/{resource_type}/{ident}", headers=bearer(search_only)).status_code == 403


@pytest.mark.parametrize("resource_type", TYPES)
def test_other_patient_is_invisible(resource_type: str, client: Any, world: World, mint: Any) -> None:
    # A patient-level token for patient B (of the same hospital organisation-less app).
    token = mint(None, f"patient/{resource_type}.rs", patient_id=world.b.patient.id)
    ident_a, ident_b = world.ids_a[resource_type], world.ids_b[resource_type]
    assert client.get(f"/fhir/R4/{resource_type}/{ident_a}", headers=bearer(token)).status_code == 404
    assert client.get(f"/fhir/R4/{resource_type}/{ident_b}", headers=bearer(token)).status_code == 200
    assert _search_by_id(client, resource_type, ident_a, token).get_json()["total"] == 0
    if resource_type != "Patient":
        patient_search = client.get(
            f"/fhir/R4/{resource_type}", query_string={"patient": world.a.patient.id}, headers=bearer(token)
        )
        assert patient_search.status_code == 200
        assert patient_search.get_json()["total"] == 0


@pytest.mark.parametrize("resource_type", TYPES)
def test_other_organisation_is_invisible(resource_type: str, client: Any, world: World, mint: Any) -> None:
    for org in (world.b.hospital, world.b.payer, world.b.snfs[0]):
        token = mint(org.id, f"system/{resource_type}.rs")
        ident = world.ids_a[resource_type]
        response = client.get(f"/fhir/R4/{resource_type}/{ident}", headers=bearer(token))
        assert response.status_code == 404
        assert response.get_json()["resourceType"] == "OperationOutcome"
        assert _search_by_id(client, resource_type, ident, token).get_json()["total"] == 0


# What each kind of organisation of patient A's case may read (issue #5 part 3).
VISIBLE_TO = {
    "payer": set(TYPES),
    "hospital": set(TYPES),
    # A receiving facility: the Task addressed to it, the referral it answers, the documents sent
    # with that referral, the concern it serves, and the patient; not the screening nor its
    # Observations.
    "snf": {"Task", "ServiceRequest", "DocumentReference", "Condition", "Patient", "CareTeam"},
}


@pytest.mark.parametrize("resource_type", TYPES)
def test_receiving_facility_sees_only_what_is_addressed_to_it(
    resource_type: str, client: Any, world: World, mint: Any, session: Any
) -> None:
    from service.models import Handoff

    orgs = {"payer": world.a.payer, "hospital": world.a.hospital, "snf": world.a.snfs[0]}
    for kind, org in orgs.items():
        token = mint(org.id, f"system/{resource_type}.rs")
        status = client.get(f"/fhir/R4/{resource_type}/{world.ids_a[resource_type]}", headers=bearer(token)).status_code
        assert status == (200 if resource_type in VISIBLE_TO[kind] else 404), (kind, resource_type)
    # SNF 1 never sees the Task addressed to SNF 2 for the same referral.
    if resource_type == "Task":
        token = mint(world.a.snfs[0].id, "system/Task.rs")
        other = session.query(Handoff).filter_by(owner_org_id=world.a.snfs[1].id).one()
        assert client.get(f"/fhir/R4/Task/{other.id}", headers=bearer(token)).status_code == 404
