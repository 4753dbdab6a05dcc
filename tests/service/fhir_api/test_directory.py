"""Organization, Practitioner, PractitionerRole and Location: every reference a principal's
resources carry resolves, and a principal sees only the organisations, people and places it deals
with (service.auth.policy.visible_organizations, visible_practitioner_roles, visible_places)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from fhir_mappings import has_errors, validate
from service.models import Practitioner
from service.usecases import patients, stays
from tests.service.fhir_api.support import World, bearer

REFERENCE = re.compile(r'"reference":"((?:Organization|Practitioner|PractitionerRole|Location)/[^"]+)"')


def _get(client: Any, token: str, path: str, **params: str) -> Any:
    return client.get(f"/fhir/R4/{path}", query_string=params, headers=bearer(token))


def _references(client: Any, token: str, patient_id: str, types: tuple[str, ...]) -> set[str]:
    found: set[str] = set()
    for resource_type in types:
        params = {"_id": patient_id} if resource_type == "Patient" else {"patient": patient_id}
        bundle = _get(client, token, resource_type, **params)
        assert bundle.status_code == 200, (resource_type, bundle.get_json())
        found |= set(REFERENCE.findall(bundle.get_data(as_text=True)))
    return found


def _practitioner(session: Session, world: World) -> str:
    """The planner on patient A's care team gets a Practitioner record (with an NPI)."""
    practitioner = Practitioner(name="Pat Planner", npi="1234567893", organization_id=world.a.hospital.id)
    session.add(practitioner)
    session.flush()
    world.a.planner.practitioner_id = practitioner.id
    session.commit()
    return practitioner.id


def test_every_reference_the_hospital_reads_resolves(client: Any, session: Session, world: World, mint: Any) -> None:
    practitioner_id = _practitioner(session, world)
    token = mint(world.a.hospital.id, "system/*.rs")
    types = ("Task", "ServiceRequest", "Encounter", "CarePlan", "CareTeam", "Patient")
    found = _references(client, token, world.a.patient.id, types)
    references, todo = set(), set(found)
    while todo:  # the references the referenced resources carry resolve too (role -> practitioner, bed -> ward)
        reference = todo.pop()
        references.add(reference)
        answer = _get(client, token, reference)
        assert answer.status_code == 200, reference
        resource = answer.get_json()
        assert f"{resource['resourceType']}/{resource['id']}" == reference
        issues = validate(resource, profile="us-core")
        assert not has_errors(issues), (reference, [str(i) for i in issues])
        todo |= set(REFERENCE.findall(answer.get_data(as_text=True))) - references
    assert {
        f"Organization/{world.a.hospital.id}",
        f"Organization/{world.a.snfs[0].id}",
        f"Organization/{world.a.snfs[1].id}",
        f"PractitionerRole/{world.a.planner.id}",
        f"Practitioner/{practitioner_id}",
    } <= references
    assert {ref.partition("/")[0] for ref in references} == {
        "Organization", "Practitioner", "PractitionerRole", "Location"
    }  # fmt: skip
    assert _get(client, token, f"Practitioner/{practitioner_id}").get_json()["identifier"][0] == {
        "system": "http://hl7.org/fhir/sid/us-npi",
        "value": "1234567893",
    }


def test_a_facility_sees_its_referrer_not_the_other_recipients(client: Any, world: World, mint: Any) -> None:
    snf = world.a.snfs[0]
    token = mint(snf.id, "system/Task.rs system/ServiceRequest.rs system/Organization.rs")
    for reference in _references(client, token, world.a.patient.id, ("Task",)):
        assert _get(client, token, reference).status_code == 200, reference
    assert _get(client, token, f"Organization/{snf.id}").status_code == 200
    assert _get(client, token, f"Organization/{world.a.hospital.id}").status_code == 200  # it referred
    # Another SNF the same patient was referred to, and another hospital's world: not its business.
    assert _get(client, token, f"Organization/{world.a.snfs[1].id}").status_code == 404
    assert _get(client, token, f"Organization/{world.b.hospital.id}").status_code == 404
    names = {e["resource"]["name"] for e in _get(client, token, "Organization", name="oak").get_json()["entry"]}
    assert names == {"Oak SNF 1"}


def test_a_payer_sees_its_members_hospitals_and_care_teams(
    client: Any, session: Session, world: World, mint: Any
) -> None:
    practitioner_id = _practitioner(session, world)
    token = mint(world.a.payer.id, "system/*.rs")
    assert _get(client, token, f"Organization/{world.a.hospital.id}").status_code == 200
    assert _get(client, token, f"Practitioner/{practitioner_id}").status_code == 200
    other = mint(world.b.payer.id, "system/*.rs")
    assert _get(client, other, f"Organization/{world.a.hospital.id}").status_code == 404
    assert _get(client, other, f"Practitioner/{practitioner_id}").status_code == 404


def test_search_by_name_and_identifier(client: Any, session: Session, world: World, mint: Any) -> None:
    from service.usecases import parties

    npi = {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1992999999"}
    clinic = parties.add_organization(
        session, name="Elm Clinic", kind="primary_care", actor="test", identifiers=[npi],
        address_line="5 Elm Row", address_city="Dayton", address_state="OH", address_postal_code="45402",
        phone="+1-937-555-0199",
    )  # fmt: skip
    token = mint(None, "system/Organization.rs")  # carebridge's own client: the whole directory

    def names(**params: str) -> list[str]:
        bundle = _get(client, token, "Organization", **params).get_json()
        assert bundle["type"] == "searchset" and bundle["total"] == len(bundle.get("entry", []))
        return [e["resource"]["name"] for e in bundle.get("entry", [])]

    assert names(identifier="http://hl7.org/fhir/sid/us-npi|1992999999") == ["Elm Clinic"]
    assert names(identifier="1992999999") == ["Elm Clinic"]
    assert names(identifier="http://other.example|1992999999") == []
    assert names(name="elm") == ["Elm Clinic"]
    assert names(**{"name:exact": "Elm"}) == []
    assert names(**{"name:contains": "clin"}) == ["Elm Clinic"]
    assert _get(client, token, f"Organization/{clinic.id}").get_json()["identifier"] == [npi]

    # US Core Organization SHALL search by address: any part of it, starting with the value.
    assert names(address="dayton") == ["Elm Clinic"]
    assert names(address="45402") == ["Elm Clinic"]
    assert names(address="5 elm") == ["Elm Clinic"]
    assert names(address="Springfield") == []
    assert names(**{"address:contains": "row"}) == ["Elm Clinic"]
    read = _get(client, token, f"Organization/{clinic.id}").get_json()
    assert read["address"] == [{"line": ["5 Elm Row"], "city": "Dayton", "state": "OH", "postalCode": "45402"}]
    assert read["telecom"] == [{"system": "phone", "value": "+1-937-555-0199", "use": "work"}]

    refused = _get(client, token, "Organization", partof="Organization/x")
    assert refused.status_code == 400 and refused.get_json()["resourceType"] == "OperationOutcome"
    lenient = client.get(
        "/fhir/R4/Organization", query_string={"partof": "x", "name": "elm"},
        headers=bearer(token) | {"Prefer": "handling=lenient"},
    )  # fmt: skip
    assert [e["resource"]["name"] for e in lenient.get_json()["entry"]] == ["Elm Clinic"]


def test_scopes_and_unknown_ids(client: Any, world: World, mint: Any) -> None:
    no_scope = mint(world.a.hospital.id, "system/Task.rs")
    assert _get(client, no_scope, f"Organization/{world.a.hospital.id}").status_code == 403
    token = mint(world.a.hospital.id, "system/*.rs")
    missing = _get(client, token, "Practitioner/nobody")
    assert missing.status_code == 404 and missing.get_json()["resourceType"] == "OperationOutcome"


def test_the_capability_statement_lists_them(client: Any) -> None:
    rest = client.get("/fhir/R4/metadata").get_json()["rest"][0]
    served = {r["type"]: r for r in rest["resource"]}
    searches = {
        "Organization": {"name", "identifier", "address"},
        "Practitioner": {"name", "identifier"},
        "PractitionerRole": {
            "practitioner",
            "practitioner.name",
            "practitioner.identifier",
            "specialty",
            "organization",
        },
        "Location": {"name", "address", "address-city", "address-state", "address-postalcode"},
    }
    for name, params in searches.items():
        assert {i["code"] for i in served[name]["interaction"]} == {"read", "search-type"}
        assert {p["name"] for p in served[name]["searchParam"]} == params
    assert served["PractitionerRole"]["searchInclude"] == ["PractitionerRole:practitioner"]
    assert "CareTeam:participant:PractitionerRole" in served["CareTeam"]["searchInclude"]


def test_practitioner_roles_of_care_team_members(client: Any, session: Session, world: World, mint: Any) -> None:
    practitioner_id = _practitioner(session, world)
    planner = world.a.planner.id
    token = mint(world.a.hospital.id, "system/*.rs")
    team = _get(client, token, "CareTeam", patient=world.a.patient.id, status="active").get_json()
    (participant,) = team["entry"][0]["resource"]["participant"]
    assert participant["member"] == {"reference": f"PractitionerRole/{planner}"}
    assert "onBehalfOf" not in participant  # R4 ctm-1: only for a Practitioner member

    role = _get(client, token, f"PractitionerRole/{planner}").get_json()
    assert role["practitioner"] == {"reference": f"Practitioner/{practitioner_id}"}
    assert role["organization"] == {"reference": f"Organization/{world.a.hospital.id}"}
    assert role["code"][0]["coding"][0]["code"] == "discharge_planner"
    assert role["specialty"] == [
        {"coding": [{"system": "http://nucc.org/provider-taxonomy", "code": "171M00000X",
                     "display": "Case Manager/Care Coordinator"}]}
    ]  # fmt: skip
    assert not has_errors(validate(role, profile="us-core"))

    def ids(**params: str) -> list[str]:
        bundle = _get(client, token, "PractitionerRole", **params)
        assert bundle.status_code == 200, bundle.get_json()
        return [e["resource"]["id"] for e in bundle.get_json().get("entry", []) if e["search"]["mode"] == "match"]

    assert planner in ids(specialty="http://nucc.org/provider-taxonomy|171M00000X")
    assert ids(specialty="http://nucc.org/provider-taxonomy|208D00000X") == []
    assert ids(practitioner=f"Practitioner/{practitioner_id}") == [planner]
    assert ids(**{"practitioner.name": "pat"}) == [planner]
    assert ids(**{"practitioner.identifier": "http://hl7.org/fhir/sid/us-npi|1234567893"}) == [planner]
    assert ids(**{"practitioner.identifier": "urn:other|1234567893"}) == []
    included = _get(
        client, token, "PractitionerRole", practitioner=practitioner_id, _include="PractitionerRole:practitioner"
    ).get_json()
    assert [(e["resource"]["resourceType"], e["search"]["mode"]) for e in included["entry"]] == [
        ("PractitionerRole", "match"), ("Practitioner", "include")
    ]  # fmt: skip
    with_members = _get(
        client, token, "CareTeam", patient=world.a.patient.id, _include="CareTeam:participant:PractitionerRole"
    ).get_json()
    assert [e["resource"]["id"] for e in with_members["entry"] if e["search"]["mode"] == "include"] == [planner]
    # Another hospital's principal: not its care team, not its people.
    other = mint(world.b.hospital.id, "system/*.rs")
    assert _get(client, other, f"PractitionerRole/{planner}").status_code == 404
    assert planner not in [
        e["resource"]["id"] for e in _get(client, other, "PractitionerRole").get_json().get("entry", [])
    ]


def test_wards_and_beds_are_locations(client: Any, session: Session, world: World, mint: Any) -> None:
    hospital = world.a.hospital
    hospital.address_line, hospital.address_city, hospital.address_state = "1 Example Way", "Dayton", "OH"
    hospital.address_postal_code = "45402"
    session.commit()
    token = mint(hospital.id, "system/*.rs")
    encounter = _get(client, token, f"Encounter/{world.ids_a['Encounter']}").get_json()
    ward_ref, bed_ref = (item["location"]["reference"] for item in encounter["location"])
    ward, bed = _get(client, token, ward_ref).get_json(), _get(client, token, bed_ref).get_json()
    assert (ward["name"], ward["physicalType"]["coding"][0]["code"]) == ("4 West", "wa")
    assert (bed["name"], bed["physicalType"]["coding"][0]["code"]) == ("4 West, bed 12A", "bd")
    assert bed["partOf"] == {"reference": ward_ref}
    assert ward["managingOrganization"] == {"reference": f"Organization/{hospital.id}"}
    assert ward["address"] == {"line": ["1 Example Way"], "city": "Dayton", "state": "OH", "postalCode": "45402"}
    for location in (ward, bed):
        assert not has_errors(validate(location, profile="us-core"))

    def names(**params: str) -> list[str]:
        bundle = _get(client, token, "Location", **params)
        assert bundle.status_code == 200, bundle.get_json()
        return sorted(e["resource"]["name"] for e in bundle.get_json().get("entry", []))

    assert names(name="4 west") == ["4 West", "4 West, bed 12A"]
    assert names(**{"name:exact": "4 West"}) == ["4 West"]
    assert names(**{"name:contains": "12a"}) == ["4 West, bed 12A"]
    assert names(address="dayton") == ["4 West", "4 West, bed 12A"]
    assert names(**{"address-city": "Dayton", "address-state": "OH", "address-postalcode": "45402"}) == [
        "4 West", "4 West, bed 12A"
    ]  # fmt: skip
    assert names(**{"address-city": "Springfield"}) == []
    assert names(_id=ward["id"]) == ["4 West"]
    assert _get(client, token, "Location", near="1|2|3").status_code == 400
    # Another hospital's principal does not see this hospital's wards.
    other = mint(world.b.hospital.id, "system/*.rs")
    assert _get(client, other, ward_ref).status_code == 404
    theirs = [e["resource"] for e in _get(client, other, "Location").get_json().get("entry", [])]
    # Its own 4 West is another ward: the same names at another hospital are other places.
    assert "4 West" in [r["name"] for r in theirs] and {ward["id"], bed["id"]} & {r["id"] for r in theirs} == set()
    assert _get(client, mint(hospital.id, "system/Encounter.rs"), ward_ref).status_code == 403


def test_each_principal_sees_the_places_of_the_stays_it_may_read(
    client: Any, session: Session, world: World, mint: Any, now: datetime
) -> None:
    a, b = world.a, world.b
    # Patient A also stays on hospital B's ICU (a ward, no bed); a patient of payer B lies in hospital A's 5 East.
    stays.admit(session, patient_id=a.patient.id, hospital_id=b.hospital.id, admitted_at=now, unit="ICU", actor="t")
    other = patients.register_patient(
        session, family_name="Oduya", given_name="Ben", payer_id=b.payer.id, identifiers=[], actor="t"
    )
    stays.admit(session, patient_id=other.id, hospital_id=a.hospital.id, admitted_at=now, unit="5 East", bed="3",
                actor="t")  # fmt: skip
    at_a, at_b = f"Organization/{a.hospital.id}", f"Organization/{b.hospital.id}"

    def seen(token: str) -> set[tuple[str, str]]:
        bundle = _get(client, token, "Location")
        assert bundle.status_code == 200, bundle.get_json()
        return {(e["resource"]["managingOrganization"]["reference"], e["resource"]["name"]) for e in
                bundle.get_json().get("entry", [])}  # fmt: skip

    a_wards = {(at_a, "4 West"), (at_a, "4 West, bed 12A")}
    # Hospital A: every place of its own, and the ward of hospital B where its patient A stays.
    assert seen(mint(a.hospital.id, "system/*.rs")) == a_wards | {(at_a, "5 East"), (at_a, "5 East, bed 3"),
                                                                   (at_b, "ICU")}  # fmt: skip
    # Payer A: where its member stays, at both hospitals; not where payer B's member lies.
    assert seen(mint(a.payer.id, "system/*.rs")) == a_wards | {(at_b, "ICU")}
    # Launched for patient A at hospital A: patient A's places only.
    launched = mint(a.hospital.id, "patient/*.rs", patient_id=a.patient.id)
    assert seen(launched) == a_wards | {(at_b, "ICU")}
    # carebridge's own client: every place, including hospital B's 4 West where patient B lies.
    assert (at_b, "4 West, bed 12A") in seen(mint(None, "system/*.rs"))
    # A facility with no stay anywhere sees none.
    assert seen(mint(a.snfs[0].id, "system/*.rs")) == set()


def test_the_task_profile_is_published_at_its_canonical(client: Any) -> None:
    canonical = "https://carebridge.dev/fhir/StructureDefinition/handoff-task"
    read = client.get("/fhir/R4/StructureDefinition/handoff-task").get_json()  # public, like /metadata
    assert (read["url"], read["type"], read["baseDefinition"]) == (
        canonical, "Task", "http://hl7.org/fhir/StructureDefinition/Task",
    )  # fmt: skip
    required = {e["path"] for e in read["differential"]["element"] if e.get("min") == 1}
    assert required == {"Task.code", "Task.for", "Task.requester", "Task.owner"}
    bundle = client.get("/fhir/R4/StructureDefinition", query_string={"url": canonical}).get_json()
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["handoff-task"]
    other = client.get("/fhir/R4/StructureDefinition", query_string={"url": "http://x.example/sd"}).get_json()
    assert other["total"] == 0
    assert client.get("/fhir/R4/StructureDefinition/nothing").status_code == 404
    rest = client.get("/fhir/R4/metadata").get_json()["rest"][0]
    (task,) = [r for r in rest["resource"] if r["type"] == "Task"]
    assert task["supportedProfile"] == [canonical]


def test_provenance_says_who_made_each_change(client: Any, session: Session, world: World, mint: Any) -> None:
    from sqlalchemy import select

    from service.models import AuditRecord

    practitioner_id = _practitioner(session, world)
    created = session.scalar(
        select(AuditRecord).where(AuditRecord.entity_id == world.ids_a["Task"], AuditRecord.action == "create")
    )
    assert created is not None
    created.actor = world.a.planner.username  # made by the planner, who has a Practitioner record
    session.commit()
    token = mint(world.a.hospital.id, "system/*.rs")

    provenance = _get(client, token, f"Provenance/{created.id}").get_json()
    assert provenance["target"] == [{"reference": f"Task/{world.ids_a['Task']}"}]
    assert provenance["activity"]["coding"][0]["code"] == "CREATE"
    assert provenance["agent"][0]["who"] == {"reference": f"Practitioner/{practitioner_id}"}
    assert provenance["agent"][0]["onBehalfOf"] == {"reference": f"Organization/{world.a.hospital.id}"}
    assert not has_errors(validate(provenance, profile="us-core"))
    # Both references resolve for the same principal.
    assert _get(client, token, f"Practitioner/{practitioner_id}").status_code == 200

    by_job = session.scalar(
        select(AuditRecord).where(AuditRecord.entity_id == world.ids_a["Goal"], AuditRecord.action == "create")
    )
    assert by_job is not None and by_job.actor == "test"  # no party: named, not referenced
    assert _get(client, token, f"Provenance/{by_job.id}").get_json()["agent"][0]["who"] == {"display": "carebridge"}

    other = mint(world.b.hospital.id, "system/*.rs")
    assert _get(client, other, f"Provenance/{created.id}").status_code == 404
    assert _get(client, mint(world.a.hospital.id, "system/Task.rs"), f"Provenance/{created.id}").status_code == 403
