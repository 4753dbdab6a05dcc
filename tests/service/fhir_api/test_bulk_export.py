"""Bulk Data `$export`: a payer's Group export holds its members' resources only, every line
validates, and only the kick-off's client can poll, download or cancel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import delete
from sqlalchemy.orm import Session

from fhir_mappings import has_errors, validate
from service.cli import main
from service.usecases import handoffs, patients
from tests.factories import Case
from tests.service.fhir_api.fixtures import export_app, export_dir  # noqa: F401, F811

TYPES = ("Patient", "Encounter", "CarePlan", "Goal", "ServiceRequest", "Task")
PAYER_SCOPES = " ".join(f"system/{t}.rs" for t in TYPES) + " system/Group.r"
ASYNC = {"Prefer": "respond-async"}
MEMBERS = 1_000


@pytest.fixture
def payer_token(case: Case, make_partner: Callable[..., Any], get_token: Callable[..., str]) -> str:
    return get_token(make_partner(case.payer.id, PAYER_SCOPES), PAYER_SCOPES)


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def add_members(session: Session, case: Case, count: int) -> set[str]:
    """`count` more members of the case's payer, every tenth with a payer-authorisation Task."""
    ids = {case.patient.id}
    for i in range(count - 1):
        member = patients.register_patient(
            session, family_name=f"Member{i}", given_name="Max", gender="male", actor="test", payer_id=case.payer.id,
            identifiers=[{"kind": "member_id", "system": "urn:example:acme-member", "value": f"M{i:05}"}],
        )  # fmt: skip
        ids.add(member.id)
        if i % 10 == 0:
            task(session, case, member.id, case.payer.id)
    return ids


def task(session: Session, case: Case, patient_id: str, owner: str) -> str:
    return handoffs.create_handoff(
        session, actor="planner", patient_id=patient_id, kind="payer_authorization",
        owner_org_id=owner, requester_org_id=case.hospital.id,
    ).id  # fmt: skip


def export(client: Any, token: str, url: str) -> dict[str, Any]:
    kick_off = client.get(url, headers=auth(token, **ASYNC))
    assert kick_off.status_code == 202, kick_off.get_json()
    # https://hl7.org/fhir/uv/bulkdata/export.html#response---success: optionally an OperationOutcome.
    assert kick_off.mimetype == "application/fhir+json"
    assert kick_off.get_json()["resourceType"] == "OperationOutcome"
    status_url = kick_off.headers["Content-Location"].removeprefix("http://127.0.0.1:5000")
    done = client.get(status_url, headers=auth(token))
    assert done.status_code == 200, done.get_data(as_text=True)
    # https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status: application/json.
    assert done.mimetype == "application/json"
    manifest: dict[str, Any] = done.get_json()
    assert manifest["request"] == "http://127.0.0.1:5000" + url
    return manifest | {"status_url": status_url}


def lines(client: Any, token: str, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for item in manifest["output"]:
        answer = client.get(item["url"].removeprefix("http://127.0.0.1:5000"), headers=auth(token))
        assert answer.status_code == 200 and answer.mimetype == "application/fhir+ndjson"
        body = answer.get_data().splitlines()
        assert len(body) == item["count"]
        out += [orjson.loads(line) for line in body]
    return out


def patient_of(resource: dict[str, Any]) -> str:
    if resource["resourceType"] == "Patient":
        return str(resource["id"])
    ref = (resource.get("for") or resource.get("subject"))["reference"]
    return str(ref.removeprefix("Patient/"))


def test_group_export_of_a_thousand_members_holds_only_members_and_validates(
    client: Any, session: Session, case: Case, payer_token: str, export_dir: Path  # noqa: F811
) -> None:
    members = add_members(session, case, MEMBERS)
    stranger = patients.register_patient(session, family_name="Else", given_name="Ed", actor="test")
    # Addressed to the payer, so a search would show it; but Ed is not a member of the Group.
    task(session, case, stranger.id, case.payer.id)

    manifest = export(client, payer_token, f"/fhir/R4/Group/{case.payer.id}/$export")
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    assert {o["type"] for o in manifest["output"]} == {"Patient", "Encounter", "Task"}
    resources = lines(client, payer_token, manifest)
    by_type: dict[str, int] = {}
    for resource in resources:
        by_type[resource["resourceType"]] = by_type.get(resource["resourceType"], 0) + 1
        assert patient_of(resource) in members
        issues = validate(resource)
        assert not has_errors(issues), (resource["resourceType"], [str(i) for i in issues])
    assert by_type == {"Patient": MEMBERS, "Encounter": 1, "Task": 100}

    # The CLI validates one resource (or Bundle) per file: give it a line of the export as a file.
    one_line = next(export_dir.rglob("Task-1.ndjson")).read_bytes().splitlines()[0]
    (export_dir / "task.json").write_bytes(one_line)
    result = CliRunner().invoke(main, ["fhir", "validate", str(export_dir / "task.json")])
    assert result.exit_code == 0, result.output


def test_type_and_since_narrow_the_export(client: Any, session: Session, case: Case, payer_token: str) -> None:
    task(session, case, case.patient.id, case.payer.id)
    # Rows stamp updated_at with the wall clock (service.db.utcnow), not the frozen test clock.
    recently = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    # Percent-encoded as sent: the manifest's `request` repeats it byte for byte (checked in export()).
    manifest = export(client, payer_token, f"/fhir/R4/Patient/$export?_type=Task%2CPatient&_since={quote(recently)}")
    assert sorted(o["type"] for o in manifest["output"]) == ["Patient", "Task"]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert export(client, payer_token, f"/fhir/R4/$export?_type=Task&_since={quote(later)}")["output"] == []


def test_files_need_the_same_client_and_delete_cancels(
    client: Any, case: Case, payer_token: str, make_partner: Callable[..., Any], get_token: Callable[..., str]
) -> None:
    manifest = export(client, payer_token, "/fhir/R4/Patient/$export?_type=Patient")
    file_url = manifest["output"][0]["url"].removeprefix("http://127.0.0.1:5000")
    colleague = get_token(make_partner(case.payer.id, PAYER_SCOPES), PAYER_SCOPES)
    assert client.get(file_url, headers=auth(colleague)).status_code == 404
    assert client.get(manifest["status_url"], headers=auth(colleague)).status_code == 404
    assert client.get(file_url).status_code == 401
    assert client.delete(manifest["status_url"], headers=auth(payer_token)).status_code == 202
    assert client.get(manifest["status_url"], headers=auth(payer_token)).status_code == 404
    assert client.get(file_url, headers=auth(payer_token)).status_code == 404


@pytest.mark.parametrize(
    ("url", "headers", "status"),
    [
        ("/fhir/R4/$export", {}, 400),  # no Prefer: respond-async
        ("/fhir/R4/$export?_outputFormat=text/csv", ASYNC, 400),
        ("/fhir/R4/$export?_type=MedicationRequest", ASYNC, 400),  # a type carebridge does not keep
        ("/fhir/R4/$export?_since=yesterday", ASYNC, 400),
        ("/fhir/R4/Group/not-a-payer/$export", ASYNC, 404),
    ],
)
def test_refused_kick_offs(client: Any, payer_token: str, url: str, headers: dict[str, str], status: int) -> None:
    answer = client.get(url, headers=auth(payer_token, **headers))
    assert answer.status_code == status and answer.get_json()["resourceType"] == "OperationOutcome"


def test_another_payer_cannot_export_or_read_the_group(
    client: Any, session: Session, case: Case, make_partner: Callable[..., Any], get_token: Callable[..., str]
) -> None:
    from service.usecases import parties

    other = parties.add_organization(session, name="Other Plan", kind="payer", actor="test")
    token = get_token(make_partner(other.id, PAYER_SCOPES), PAYER_SCOPES)
    assert client.get(f"/fhir/R4/Group/{case.payer.id}/$export", headers=auth(token, **ASYNC)).status_code == 404
    assert client.get(f"/fhir/R4/Group/{case.payer.id}", headers=auth(token)).status_code == 404


def test_group_read_lists_the_members(client: Any, case: Case, payer_token: str) -> None:
    group = client.get(f"/fhir/R4/Group/{case.payer.id}", headers=auth(payer_token)).get_json()
    assert group["type"] == "person" and group["actual"] is True and group["quantity"] == 1
    assert group["member"] == [{"entity": {"reference": f"Patient/{case.patient.id}"}}]
    assert not has_errors(validate(group))


def test_without_type_every_served_type_is_exported_care_team_included(
    client: Any, session: Session, case: Case, make_partner: Callable[..., Any], get_token: Callable[..., str]
) -> None:
    from service.models import CareTeamMember

    session.add(CareTeamMember(patient_id=case.patient.id, user_id=case.planner.id, role="discharge_planner"))
    session.commit()
    scopes = PAYER_SCOPES + " system/CareTeam.rs"
    token = get_token(make_partner(case.payer.id, scopes), scopes)
    manifest = export(client, token, f"/fhir/R4/Group/{case.payer.id}/$export")
    assert [o["type"] for o in manifest["output"]] == ["Patient", "Encounter", "CareTeam"]
    (team,) = [r for r in lines(client, token, manifest) if r["resourceType"] == "CareTeam"]
    assert team["id"] == case.patient.id and team["subject"] == {"reference": f"Patient/{case.patient.id}"}
    assert not has_errors(validate(team))


def test_a_partners_tasks_export_byte_for_byte_as_the_api_reads_them_rendered_first_then_kept(
    client: Any, session: Session, case: Case, mint: Callable[..., str]
) -> None:
    """The import keeps each Task's JSON as it writes it; with nothing kept (as after an upgrade),
    the first export renders each Task from its own result row and the second copies what the
    first kept. Every line is the bytes the read interaction serves, for Tasks imported with a
    partner's JSON that carebridge keeps and merges into (lossless)."""
    from service.models import Handoff, PartnerLink
    from service.models.renditions import Rendition
    from service.sync.incoming import Incoming, apply
    from service.usecases import parties
    from service.usecases.partners import add_partner

    npi = {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}
    parties.add_organization(session, name="Riverside", kind="primary_care", actor="test", identifiers=[npi])
    sent = {
        ("Patient", "p1"): {"resourceType": "Patient", "id": "p1", "identifier": [{"system": "urn:example:mrn",
                            "value": "MRN-1001"}], "name": [{"family": "Anders", "given": ["Agnes"]}]},
        ("ServiceRequest", "sr1"): {"resourceType": "ServiceRequest", "id": "sr1", "status": "active",
                                    "intent": "order", "subject": {"reference": "Patient/p1"}},
    }  # fmt: skip
    partner = add_partner(
        session, name="ehr", kind="ehr", organization_id=case.hospital.id, fhir_base="http://127.0.0.1:9/fhir/R4",
        client_id="cb", key_kid="k1", scopes="system/*.rs", pull_types=["Patient", "ServiceRequest", "Task"],
        push_types=[], trusted_identifier_systems=["urn:example:mrn"],
    )  # fmt: skip
    ehr = Incoming(partner, lambda kind, remote_id: sent[kind, remote_id])
    ehr_base = "http://127.0.0.1:9/fhir/R4"
    # What carebridge does not model passes through: an extension, the partner's time zone and key
    # order, a note's author, a business status coded only in the partner's system.
    as_sent = {
        "resourceType": "Task", "id": "t1", "extension": [{"url": "urn:example:ehr#queue", "valueString": "wound"}],
        "intent": "order", "status": "requested", "for": {"reference": "Patient/p1"},
        "focus": {"reference": "ServiceRequest/sr1"}, "owner": {"identifier": npi, "display": "Riverside"},
        "authoredOn": "2026-03-10T04:00:00-05:00",
        "businessStatus": {"coding": [{"system": "urn:example:ehr-steps", "code": "q"}], "text": "queued"},
        "note": [{"authorString": "Dr Who", "text": "dressing twice a day"}],
    }  # fmt: skip
    unknown_owner = {"reference": "Organization/o-77", "display": "Sunrise Home Care"}
    for task_json in (as_sent, {**as_sent, "id": "t2", "owner": unknown_owner}):
        assert apply(session, ehr, task_json) == "created"
    links = session.query(PartnerLink).filter(PartnerLink.resource_type == "Task").all()
    changed = next(link.entity_id for link in links if link.remote_id == "t2")
    handoffs.add_note(session, changed, "member called back", actor="planner")  # merged into the partner's JSON
    token = mint(case.hospital.id, "system/Task.rs")

    def exported_lines() -> dict[str, bytes]:
        manifest = export(client, token, "/fhir/R4/$export?_type=Task")
        found: dict[str, bytes] = {}
        for item in manifest["output"]:
            answer = client.get(item["url"].removeprefix("http://127.0.0.1:5000"), headers=auth(token))
            found |= {orjson.loads(line)["id"]: line for line in answer.get_data().splitlines()}
        return found

    at_write = exported_lines()
    session.execute(delete(Rendition))
    session.commit()
    first, second = exported_lines(), exported_lines()

    assert set(first) == {link.entity_id for link in links} and session.query(Handoff).count() == 2
    for task_id, line in first.items():
        read = client.get(f"/fhir/R4/Task/{task_id}", headers=auth(token))
        assert read.status_code == 200 and line == read.get_data() == second[task_id] == at_write[task_id]
    merged = orjson.loads(first[changed])
    assert merged["extension"] == as_sent["extension"] and merged["authoredOn"] == "2026-03-10T04:00:00-05:00"
    assert merged["owner"] == {"reference": f"{ehr_base}/Organization/o-77", "display": "Sunrise Home Care"}
    assert [n["text"] for n in merged["note"]] == ["dressing twice a day", "member called back"]
    assert merged["note"][0]["authorString"] == "Dr Who" and merged["meta"]["versionId"] == "2"
