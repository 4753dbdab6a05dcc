"""Every reference carebridge emits to an Organization, Practitioner, PractitionerRole or Location
resolves on its own FHIR API: walk everything the demo data yields through the searches of every
served type, read each resource such a reference names, and the references those carry in turn
(a care-team member's PractitionerRole -> Practitioner and Organization; an Encounter's bed -> its
ward -> the hospital), for each kind of principal. (References to patient data follow the one
access policy: a facility reads the Task addressed to it, not the stay the Task names; and a
referral it reads names as performers only itself, not the other facilities the patient was
referred to, which the policy keeps from it.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.orm import Session

from fhir_mappings import has_errors, validate
from service.demo import Orgs, populate
from tests.service.fhir_api.fixtures import export_dir  # noqa: F401
from tests.service.fhir_api.support import World, bearer, referenced_directory

ASYNC = {"Prefer": "respond-async"}

TYPES = ("Patient", "Encounter", "CarePlan", "Goal", "ServiceRequest", "Task", "CareTeam", "DocumentReference")
BASE = "http://127.0.0.1:5000"


@pytest.fixture
def demo(session: Session) -> Orgs:
    orgs, _ = populate(session, stays=8, seed=7)
    return orgs


def _searched(client: Any, token: str) -> list[str]:
    """The JSON of every search page of every type."""
    pages = []
    for resource_type in TYPES:
        url: str | None = f"/fhir/R4/{resource_type}?_count=50"
        while url:
            answer = client.get(url, headers=bearer(token))
            assert answer.status_code == 200, (resource_type, answer.get_json())
            bundle = answer.get_json()
            pages.append(answer.get_data(as_text=True))
            url = next((link["url"].removeprefix(BASE) for link in bundle["link"] if link["relation"] == "next"), None)
    return pages


# Each principal with the kinds of directory entry its resources name. A facility reads no stay,
# so no ward or bed; it reads the patient's care team (whom to call at the hospital).
KINDS = {
    "hospital": {"Organization", "PractitionerRole", "Practitioner", "Location"},
    "payer": {"Organization", "PractitionerRole", "Practitioner", "Location"},
    "snf": {"Organization", "PractitionerRole", "Practitioner"},
}


@pytest.mark.parametrize("principal", sorted(KINDS))
def test_every_reference_in_the_demo_data_resolves(client: Any, demo: Orgs, mint: Any, principal: str) -> None:
    org = demo.snfs[0] if principal == "snf" else getattr(demo, principal)
    token = mint(org.id, "system/*.rs")
    answers = referenced_directory(client, token, _searched(client, token))
    for reference, answer in answers.items():
        assert answer.status_code == 200, (reference, answer.get_json())
        resource = answer.get_json()
        assert f"{resource['resourceType']}/{resource['id']}" == reference
        issues = validate(resource, profile="us-core")
        assert not has_errors(issues), (reference, [str(i) for i in issues])
    kinds = {ref.partition("/")[0] for ref in answers}
    # The hospital's and payer's resources refer to organisations, people's roles and through them
    # the planner and case manager, and the wards and beds of the stays.
    assert kinds == KINDS[principal], kinds


def test_a_facility_reads_itself_as_the_only_performer_of_a_referral_sent_to_several(
    client: Any, world: World, mint: Any, export_dir: Path  # noqa: F811 (fixture)
) -> None:
    referral, (first, second) = world.ids_a["ServiceRequest"], world.a.snfs[:2]
    sent_to = [{"reference": f"Organization/{first.id}"}, {"reference": f"Organization/{second.id}"}]

    def performers(token: str) -> list[Any]:
        read = client.get(f"/fhir/R4/ServiceRequest/{referral}", headers=bearer(token)).get_json()
        found = client.get("/fhir/R4/ServiceRequest", query_string={"_id": referral}, headers=bearer(token))
        history = client.get(f"/fhir/R4/ServiceRequest/{referral}/_history", headers=bearer(token)).get_json()
        ways = [read, found.get_json()["entry"][0]["resource"], *(e["resource"] for e in history["entry"])]
        assert all(way["performer"] == ways[0]["performer"] for way in ways), ways
        return list(ways[0]["performer"])

    # The hospital that sent it, and the patient's payer, read every recipient.
    assert performers(mint(world.a.hospital.id, "system/*.rs")) == sent_to
    assert performers(mint(world.a.payer.id, "system/*.rs")) == sent_to
    # Each facility reads itself only: not which other facility was sent the same patient.
    facility = mint(first.id, "system/*.rs")
    assert performers(facility) == sent_to[:1]
    assert performers(mint(second.id, "system/*.rs")) == sent_to[1:]
    # Its bulk export says the same.
    kick_off = client.get("/fhir/R4/$export?_type=ServiceRequest", headers={**bearer(facility), **ASYNC})
    assert kick_off.status_code == 202, kick_off.get_json()
    status = client.get(kick_off.headers["Content-Location"].removeprefix(BASE), headers=bearer(facility))
    [output] = status.get_json()["output"]
    [line] = client.get(output["url"].removeprefix(BASE), headers=bearer(facility)).get_data().splitlines()
    assert orjson.loads(line)["performer"] == sent_to[:1]
