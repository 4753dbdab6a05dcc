"""A document on a referral in the browser (issue #14, "Documents on referrals"): the planner attaches
it on the case page, the recipient's intake coordinator opens it from the queue card, and an intake
coordinator of a facility the referral was not sent to is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.models import Organization
from service.models.documents import Document
from service.usecases import referrals
from tests.browser.live_server import LiveApp
from tests.browser.test_pages import OAKWOOD, signed_in_page

pytestmark = pytest.mark.browser

PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


def test_a_document_is_attached_opened_by_a_recipient_and_refused_to_a_non_recipient(
    browser: Any, live_app: LiveApp, screenshot: Any, tmp_path: Path
) -> None:
    stay = live_app.fresh_stay()
    with live_app.session() as db:
        oakwood = db.query(Organization).filter_by(name=OAKWOOD).one().id
        referral = referrals.send_referral(
            db, patient_id=stay.patient_id, stay_id=stay.id, service="snf_placement", recipient_org_ids=[oakwood],
            requester_org_id=stay.hospital_id, reason="Rehab after hip fracture", actor="dana.planner",
        )  # fmt: skip

    planner = signed_in_page(browser, live_app, "dana.planner")
    planner.goto(f"/app/stays/{stay.id}")
    form = planner.locator(f"#referral-{referral.id} form.attach-document")
    form.get_by_label("Document type").select_option(label="History and physical note")
    form.get_by_label("Title (optional)").fill("Admission H&P")
    form.get_by_label("File (PDF or plain text)").set_input_files(
        {"name": "hp.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    form.get_by_role("button", name="Attach").click()
    planner.wait_for_load_state()
    documents = planner.locator(f"#referral-{referral.id} ul.documents")
    assert documents.get_by_role("link", name="Admission H&P").is_visible()
    assert "History and physical note" in documents.inner_text()
    screenshot(planner, "attached")

    intake = signed_in_page(browser, live_app, "oakwood.intake")
    card = intake.locator("li.card", has_text=stay.patient.display_name)
    link = card.get_by_role("link", name="Admission H&P")
    screenshot(intake, "recipient-queue")
    with intake.expect_download() as opened:
        link.click()
    download = opened.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert (download.suggested_filename, saved.read_bytes()) == ("Admission H_P.pdf", PDF)

    with live_app.session() as db:
        document_id = db.query(Document).filter_by(referral_id=referral.id).one().id
    outsider = signed_in_page(browser, live_app, "maple.intake")
    assert outsider.locator("li.card", has_text=stay.patient.display_name).count() == 0
    refused = outsider.goto(f"/app/documents/{document_id}")
    assert refused is not None and refused.status == 404
    screenshot(outsider, "non-recipient-refused")
