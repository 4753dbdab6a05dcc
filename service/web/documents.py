"""Clinical documents on the pages: the planner attaches one to a referral from the case page; the
hospital and the referral's recipients open them (the case page, the facility's queue)."""

from __future__ import annotations

from flask import redirect, url_for
from werkzeug.wrappers import Response

from service.app import request_session
from service.downloads import attachment
from service.usecases import documents
from service.web.blueprint import blueprint
from service.web.case import case, writable_stay_referral
from service.web.session import principal, requires
from service.web.uploads import attach_uploaded, form_name


@blueprint.post("/referrals/<referral_id>/documents")
@requires("DocumentReference", "c")
def attach_document(referral_id: str) -> Response:
    referral = writable_stay_referral(referral_id)
    stay_id = str(referral.stay_id)
    refused = attach_uploaded(referral.id, lambda: case(stay_id))
    if refused is not None:
        return refused
    saved = form_name(referral.id)
    return redirect(url_for("web.case", stay_id=stay_id, saved=saved, _anchor=f"referral-{referral.id}"), code=303)


@blueprint.get("/documents/<document_id>")
@requires("DocumentReference", "r")
def open_document(document_id: str) -> Response:
    document, data = documents.content(request_session(), principal(), document_id)
    return attachment(data, document.content_type, document.title)
