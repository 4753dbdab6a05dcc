"""A pulled page of Patients: the new ones are registered together, and the result is what the
one-at-a-time path gives: identifiers, links, audit entries and outbox events for each, matches by
identifier, duplicates within the page, and nothing new on a re-read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models import (
    AuditRecord,
    ChangeEvent,
    Partner,
    PartnerLink,
    Patient,
    PatientIdentifier,
    PatientMatch,
    SyncError,
)
from service.sync.pull import PullReport, pull_type
from service.usecases import patients
from service.usecases.partners import add_partner
from tests.factories import Case

MRN = "urn:oid:1.2.36.146.595.217.0.1"


class Pages:
    """The partner's search answered with fixed pages (the HTTP side has tests of its own)."""

    def __init__(self, *pages: list[dict[str, Any]]) -> None:
        self.pages = pages

    def search_pages(self, resource_type: str, params: Any) -> Iterator[dict[str, Any]]:
        for page in self.pages:
            yield {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in page]}

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        raise AssertionError("a Patient page never needs a read")


def patient(remote_id: str, family: str, version: str = "1", mrn: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": remote_id,
        "meta": {"versionId": version, "lastUpdated": f"2026-03-0{version}T10:00:00Z"},
        "name": [{"family": family, "given": ["Ann"]}],
        "gender": "female",
    }
    if mrn:
        resource["identifier"] = [{"system": MRN, "value": mrn}]
    return resource


@pytest.fixture
def payer(session: Session, case: Case) -> Partner:
    return add_partner(
        session, name="acme", kind="payer", organization_id=case.payer.id, fhir_base="http://127.0.0.1:9/fhir",
        client_id="carebridge", key_kid="k1", scopes="system/*.rs", pull_types=["Patient"], push_types=[],
        trusted_identifier_systems=[MRN],
    )  # fmt: skip


def pull(session: Session, partner: Partner, *pages: list[dict[str, Any]]) -> PullReport:
    report = PullReport()
    pull_type(session.connection(), partner, Pages(*pages), "Patient", report)  # type: ignore[arg-type]
    return report


def count(session: Session, model: Any, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_a_page_of_new_patients_is_registered_with_everything_one_at_a_time_writes(
    session: Session, payer: Partner
) -> None:
    page = [patient(f"p{n}", f"Member{n}", mrn=f"M{n}") for n in range(5)]

    report = pull(session, payer, page)

    assert report.counts["Patient"] == {"created": 5}
    links = session.scalars(select(PartnerLink).where(PartnerLink.partner_id == payer.id)).all()
    assert sorted(link.remote_id for link in links) == [f"p{n}" for n in range(5)]
    for link in links:
        member = session.get_one(Patient, link.entity_id)
        assert member.payer_id == payer.organization_id and member.given_name == "Ann"
        assert link.remote_version == "1" and link.remote_json is not None
        assert {(i.system, i.value) for i in member.identifiers} == {
            (MRN, f"M{link.remote_id[1:]}"),
            (f"{payer.fhir_base}/Patient", link.remote_id),
        }
        audit = session.scalars(select(AuditRecord).where(AuditRecord.entity_id == member.id)).one()
        assert (
            audit.action == "create"
            and audit.actor == "partner:acme"
            and audit.after["family_name"] == member.family_name
        )
        event = session.scalars(select(ChangeEvent).where(ChangeEvent.entity_id == member.id)).one()
        assert event.entity_type == "Patient" and event.patient_id == member.id and event.action == "create"


def test_known_changed_matched_and_duplicate_patients_in_one_page(session: Session, payer: Partner) -> None:
    pull(session, payer, [patient("old", "Before")])
    known = patients.register_patient(
        session, family_name="Known", given_name="Ann", actor="test",
        identifiers=[{"kind": "mrn", "system": MRN, "value": "MRN-7"}],
    )  # fmt: skip
    page = [
        patient("old", "After", version="2"),  # linked, changed: updated
        patient("kim", "Known", mrn="MRN-7"),  # no link, but carebridge knows the MRN: linked to Kim
        patient("twin-a", "Twin", mrn="T-1"),
        patient("twin-b", "Twin", mrn="T-1"),  # the same MRN on two partner Patients: held for review
        patient("new", "New"),
    ]

    report = pull(session, payer, page)

    # Updated: "old" (renamed) and "kim" (same name, sex from the partner). Created: "twin-a" and
    # "new". "twin-b" carries the MRN "twin-a" already brought: one identifier, two people at the
    # partner, so it waits for a person instead of merging into twin-a's patient.
    assert report.counts["Patient"] == {"created": 2, "updated": 2, "review": 1}
    link_of = {link.remote_id: link.entity_id for link in session.scalars(select(PartnerLink))}
    assert link_of["kim"] == known.id and "twin-b" not in link_of
    held = session.scalars(select(PatientMatch)).one()
    assert (held.remote_id, held.patient_id, held.state) == ("twin-b", link_of["twin-a"], "open")
    assert held.reason == "its identifier already belongs to the partner's Patient/twin-a"
    assert session.get_one(Patient, link_of["old"]).family_name == "After"
    twins = session.scalars(select(PatientIdentifier).where(PatientIdentifier.value == "T-1")).all()
    assert len(twins) == 1
    assert count(session, SyncError) == 0


def test_a_page_read_twice_changes_nothing(session: Session, payer: Partner) -> None:
    page = [patient(f"p{n}", f"Member{n}") for n in range(3)]
    pull(session, payer, page)
    before = (count(session, Patient), count(session, AuditRecord), count(session, ChangeEvent))

    report = pull(session, payer, page)

    assert report.counts["Patient"] == {"unchanged": 3}
    assert (count(session, Patient), count(session, AuditRecord), count(session, ChangeEvent)) == before
