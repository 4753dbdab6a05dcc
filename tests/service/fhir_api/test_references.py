"""Every reference carebridge emits to an Organization, Practitioner, PractitionerRole or Location
resolves on its own FHIR API: walk everything the demo data yields through the searches of every
served type, read each resource such a reference names, and the references those carry in turn
(a care-team member's PractitionerRole -> Practitioner and Organization; an Encounter's bed -> its
ward -> the hospital), for each kind of principal. (References to patient data follow the one
access policy: a facility reads the Task addressed to it, not the stay the Task names. A
facility is left out here: a referral it reads names as performers the other facilities the
patient was referred to, which the policy keeps from it.)"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from fhir_mappings import has_errors, validate
from service.demo import Orgs, populate
from tests.service.fhir_api.support import bearer, referenced_directory

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


@pytest.mark.parametrize("principal", ["hospital", "payer"])
def test_every_reference_in_the_demo_data_resolves(client: Any, demo: Orgs, mint: Any, principal: str) -> None:
    token = mint(getattr(demo, principal).id, "system/*.rs")
    answers = referenced_directory(client, token, _searched(client, token))
    for reference, answer in answers.items():
        assert answer.status_code == 200, (reference, answer.get_json())
        resource = answer.get_json()
        assert f"{resource['resourceType']}/{resource['id']}" == reference
        issues = validate(resource, profile="us-core")
        assert not has_errors(issues), (reference, [str(i) for i in issues])
    kinds = {ref.partition("/")[0] for ref in answers}
    # The resources refer to organisations, people's roles and through them the planner and case
    # manager, and the wards and beds of the stays.
    assert kinds == {"Organization", "PractitionerRole", "Practitioner", "Location"}, kinds
