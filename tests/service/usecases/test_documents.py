"""Documents on referrals: what is taken (by content, not by the declared type), how large, by whom,
and who reads them (the referral's hospital and its recipients only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.auth.context import AccessContext
from service.auth.policy import principal_for_user
from service.auth.scopes import parse_scopes
from service.models import Referral, User
from service.models.documents import Document
from service.usecases import documents, parties
from service.usecases.errors import Forbidden, Invalid, NotFound, TooLarge, UnsupportedType
from tests.factories import Case, send_snf_referral

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
TEXT = "Medication list\n- apixaban 5 mg twice daily\n- métoprolol 25 mg\n".encode()
KIB = 1024


@pytest.fixture(autouse=True)
def _request(app: Any) -> Iterator[None]:
    with app.test_request_context():  # the access audit notes accesses per request
        yield


def _person(session: Session, org_id: str, role: str, name: str) -> AccessContext:
    user = User(username=name, display_name=name, organization_id=org_id, role=role)
    session.add(user)
    session.commit()
    return principal_for_user(user)


def _attach(session: Session, ctx: AccessContext, referral: Referral, data: bytes = PDF, **kw: Any) -> Document:
    fields: dict[str, Any] = {
        "type_code": "34117-2",
        "declared_type": "application/pdf",
        "filename": "H&P 2026-03-09.pdf",
    }
    max_bytes = kw.pop("max_bytes", 64 * KIB)
    new = documents.NewDocument(data=data, **(fields | kw))
    return documents.attach(session, ctx, referral.id, new, max_bytes=max_bytes)


@pytest.fixture
def referral(session: Session, case: Case) -> Referral:
    # To SNFs 1 and 2; SNF 3 is not a recipient.
    return send_snf_referral(session, case, recipient_org_ids=[case.snfs[0].id, case.snfs[1].id])


@pytest.fixture
def planner(session: Session, case: Case) -> AccessContext:
    return principal_for_user(case.planner)


def test_a_pdf_is_attached_with_its_details_and_the_referral_moves_on(
    session: Session, case: Case, referral: Referral, planner: AccessContext
) -> None:
    version = referral.version
    document = _attach(session, planner, referral)
    assert (document.patient_id, document.referral_id, document.stay_id) == (case.patient.id, referral.id, case.stay.id)
    assert (document.type_code, document.content_type, document.size) == ("34117-2", "application/pdf", len(PDF))
    assert document.title == "H&P 2026-03-09"  # the file's name without its extension
    assert document.author_org_id == case.hospital.id and document.status == "current"
    assert documents.content_bytes(session, document) == PDF
    session.refresh(referral)
    assert referral.version == version + 1  # its supportingInfo changed


def test_text_is_taken_whatever_type_the_browser_declared(
    session: Session, referral: Referral, planner: AccessContext
) -> None:
    for declared in ("text/plain; charset=utf-8", "application/octet-stream", None):
        document = _attach(session, planner, referral, TEXT, type_code="10160-0", declared_type=declared)
        assert document.content_type == "text/plain"
    assert _attach(session, planner, referral, PDF, declared_type="").content_type == "application/pdf"


@pytest.mark.parametrize(
    ("data", "declared", "refusal"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png", UnsupportedType),  # a type carebridge does not take
        (b"\x89PNG\r\n\x1a\n\x00\x00", "application/octet-stream", UnsupportedType),  # undeclared, not text or PDF
        (b"<html>not a pdf</html>", "application/pdf", Invalid),  # claims to be a PDF
        (b"\xff\xfeM\x00e\x00d\x00", "text/plain", Invalid),  # UTF-16 is not UTF-8
        (b"Meds\x00\x1b[31m", "text/plain", Invalid),  # control characters
        (PDF, "text/plain", Invalid),  # a PDF sent as text
        (b"", "application/pdf", Invalid),  # empty
    ],
)
def test_content_that_is_not_what_it_claims_is_refused_and_nothing_is_stored(
    session: Session, referral: Referral, planner: AccessContext, data: bytes, declared: str, refusal: type
) -> None:
    with pytest.raises(refusal) as refused:
        _attach(session, planner, referral, data, declared_type=declared)
    assert "file" in refused.value.details["fields"]
    assert session.scalar(select(func.count()).select_from(Document)) == 0


def test_the_size_limit_and_the_document_type(session: Session, referral: Referral, planner: AccessContext) -> None:
    with pytest.raises(TooLarge):
        _attach(session, planner, referral, b"x" * (8 * KIB + 1), declared_type="text/plain", max_bytes=8 * KIB)
    assert _attach(session, planner, referral, b"x" * (8 * KIB), declared_type="text/plain", max_bytes=8 * KIB)
    with pytest.raises(Invalid) as refused:
        _attach(session, planner, referral, type_code="11369-6")  # a LOINC code not offered (immunizations)
    assert list(refused.value.details["fields"]) == ["type"]


def test_only_the_hospital_running_the_case_attaches(session: Session, case: Case, referral: Referral) -> None:
    recipient = _person(session, case.snfs[0].id, "intake_coordinator", "intake.oak1")
    with pytest.raises(Forbidden):  # reads the referral, may not change it
        _attach(session, recipient, referral)
    other_hospital = parties.add_organization(session, name="Elsewhere General", kind="hospital", actor="test")
    with pytest.raises(NotFound):  # may not even see it
        _attach(session, _person(session, other_hospital.id, "discharge_planner", "planner.elsewhere"), referral)
    reader = AccessContext("ehr", "ehr", case.hospital.id, parse_scopes("system/ServiceRequest.rus"), None)
    with pytest.raises(Forbidden):  # no DocumentReference.c scope
        _attach(session, reader, referral)


def test_recipients_and_the_hospital_read_and_others_do_not(
    session: Session, case: Case, referral: Referral, planner: AccessContext
) -> None:
    document = _attach(session, planner, referral)
    other = send_snf_referral(session, case, service="home_health", recipient_org_ids=[case.snfs[2].id])
    _attach(session, planner, other, TEXT, declared_type="text/plain")
    recipient = _person(session, case.snfs[1].id, "intake_coordinator", "intake.oak2")
    payer = _person(session, case.payer.id, "payer_care_manager", "acme.cm")
    for reader in (planner, recipient, payer):
        assert [d.id for d in documents.of_referral(session, reader, referral.id)] == [document.id]
        assert documents.content(session, reader, document.id) == (document, PDF)
    outsider = _person(session, case.snfs[2].id, "intake_coordinator", "intake.oak3")  # the other referral's
    with pytest.raises(NotFound):
        documents.content(session, outsider, document.id)
    with pytest.raises(NotFound):
        documents.of_referral(session, outsider, referral.id)
    assert set(documents.of_referrals(session, outsider, [referral.id, other.id])) == {other.id}
