"""Documents on the pages: the planner attaches one to a referral from the case page (refusals next to
the field, on the same page), the referral's recipients open it from their queue, others cannot."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Referral
from service.models.documents import Document
from tests.factories import send_snf_referral
from tests.service.web.conftest import WebCase, sign_in

TEXT = b"Medications\n- apixaban 2.5 mg twice daily\n"


def _attach(client: Any, token: str, referral_id: str, data: bytes, name: str, mimetype: str) -> Any:
    form = {"csrf_token": token, "type": "10160-0", "title": "", "file": (io.BytesIO(data), name, mimetype)}
    return client.post(f"/app/referrals/{referral_id}/documents", data=form, content_type="multipart/form-data")


def test_attach_then_open_as_recipient_and_refused_to_others(client: Any, session: Session, web_case: WebCase) -> None:
    case = web_case.case
    referral = send_snf_referral(session, case, recipient_org_ids=[case.snfs[0].id, case.snfs[1].id])
    token = sign_in(client, web_case.planner.username)
    sent = _attach(client, token, referral.id, TEXT, "meds.txt", "text/plain")
    assert sent.status_code == 303 and sent.location.endswith(f"#referral-{referral.id}")
    page = client.get(f"/app/stays/{case.stay.id}").text
    assert ">meds</a>" in page and "History of Medication use Narrative" in page
    assert "Document attached: meds" in page  # the case timeline, credited to the planner

    sign_in(client, web_case.intakes[1].username)  # a recipient
    queue = client.get("/app/queue").text
    link = queue.split('href="/app/documents/')[1].split('"')[0]
    opened = client.get(f"/app/documents/{link}")
    assert opened.status_code == 200 and opened.data == TEXT
    assert opened.headers["Content-Disposition"].startswith("attachment") and opened.mimetype == "text/plain"

    sign_in(client, web_case.intakes[2].username)  # SNF 3 is not a recipient
    assert "/app/documents/" not in client.get("/app/queue").text
    assert client.get(f"/app/documents/{link}").status_code == 404


def test_a_file_that_is_not_a_pdf_is_refused_next_to_the_field(
    client: Any, session: Session, web_case: WebCase
) -> None:
    case = web_case.case
    referral = send_snf_referral(session, case)
    token = sign_in(client, web_case.planner.username)
    refused = _attach(client, token, referral.id, b"<html>", "hp.pdf", "application/pdf")
    assert refused.status_code == 422
    assert f'id="err-document-{referral.id}-file"' in refused.text and "does not start like a PDF" in refused.text
    assert 'aria-invalid="true"' in refused.text
    missing = _attach(client, token, referral.id, b"", "", "application/octet-stream")
    assert missing.status_code == 422 and "Choose a PDF or text file." in missing.text


def test_a_referral_is_sent_with_its_document_and_a_refused_file_leaves_the_referral_sent(
    client: Any, session: Session, web_case: WebCase
) -> None:
    case = web_case.case
    token = sign_in(client, web_case.planner.username)

    def send(data: bytes, name: str, mimetype: str) -> Any:
        form = {
            "csrf_token": token, "service": "snf_placement", "priority": "routine", "recipient": [case.snfs[0].id],
            "document_type": "34117-2", "document": (io.BytesIO(data), name, mimetype),
        }  # fmt: skip
        return client.post(f"/app/stays/{case.stay.id}/referrals", data=form, content_type="multipart/form-data")

    assert send(b"%PDF-1.4\n%%EOF\n", "Admission H&P.pdf", "application/pdf").status_code == 303
    (referral,) = session.scalars(select(Referral).where(Referral.stay_id == case.stay.id)).all()
    (document,) = session.scalars(select(Document).where(Document.referral_id == referral.id)).all()
    assert (document.title, document.type_code) == ("Admission H&P", "34117-2")
    assert document.content_type == "application/pdf"

    refused = send(b"\x89PNG\r\n\x1a\n", "scan.png", "image/png")
    assert refused.status_code == 422 and "is not a PDF or text" in refused.text
    newest = session.scalars(select(Referral).where(Referral.stay_id == case.stay.id, Referral.id != referral.id)).one()
    assert f'id="err-document-{newest.id}-file"' in refused.text  # at the new referral's own attach form
