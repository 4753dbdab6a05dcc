"""Clinical documents on the pages: the planner attaches one to a referral from the case page; the
hospital and the referral's recipients open them (the case page, the facility's queue)."""

from __future__ import annotations

from flask import abort, current_app, redirect, request, url_for
from werkzeug.wrappers import Response

from service.app import request_session, runtime
from service.downloads import attachment
from service.models import Referral
from service.usecases import access, documents
from service.usecases.errors import Invalid, TooLarge, UnsupportedType
from service.web.blueprint import blueprint
from service.web.case import case
from service.web.forms import refused_in_place
from service.web.session import principal, requires


def form_name(referral_id: str) -> str:
    """The attach form of one referral (its refusals are shown next to its own fields)."""
    return f"document-{referral_id}"


@blueprint.post("/referrals/<referral_id>/documents")
@requires("DocumentReference", "c")
def attach_document(referral_id: str) -> Response:
    db, ctx = request_session(), principal()
    referral: Referral = access.writable(db, ctx, "ServiceRequest", referral_id)
    if referral.stay_id is None:
        abort(404)  # the pages show referrals of a stay only
    stay_id = referral.stay_id
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise Invalid("choose a file", fields={"file": ["Choose a PDF or text file."]})
        new = documents.NewDocument(
            request.form.get("type", ""), upload.read(), upload.mimetype, request.form.get("title"), upload.filename
        )
        documents.attach(db, ctx, referral.id, new, max_bytes=runtime(current_app).settings.max_document_bytes)
    except (Invalid, TooLarge, UnsupportedType) as exc:
        fields = exc.details.get("fields")
        refusal = Invalid(exc.message, fields=fields if isinstance(fields, dict) else None)
        return refused_in_place(form_name(referral.id), refusal, lambda: case(stay_id))
    return redirect(
        url_for("web.case", stay_id=stay_id, saved=form_name(referral.id), _anchor=f"referral-{referral.id}"), code=303
    )


@blueprint.get("/documents/<document_id>")
@requires("DocumentReference", "r")
def open_document(document_id: str) -> Response:
    document, data = documents.content(request_session(), principal(), document_id)
    return attachment(data, document.content_type, document.title)
