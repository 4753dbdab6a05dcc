"""A document uploaded with a page's form, attached to a referral (service.usecases.documents), or its
refusal shown in place next to the referral's attach form, with what was chosen kept."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, request
from werkzeug.wrappers import Response

from service.app import request_session, runtime
from service.usecases import documents
from service.usecases.errors import Invalid, TooLarge, UnsupportedType
from service.web.forms import refused_in_place
from service.web.session import principal


def form_name(referral_id: str) -> str:
    """The attach form of one referral (its refusals are shown next to its own fields)."""
    return f"document-{referral_id}"


def attach_uploaded(
    referral_id: str, page: Callable[[], str], *, file_field: str = "file", type_field: str = "type"
) -> Response | None:
    """Attach the form's file to the referral: None when it was attached, else the page again with
    the refusal next to the referral's attach form."""
    upload = request.files.get(file_field)
    try:
        if upload is None or not upload.filename:
            raise Invalid("choose a file", fields={"file": ["Choose a PDF or text file."]})
        new = documents.NewDocument(
            request.form.get(type_field, ""), upload.read(), upload.mimetype, request.form.get("title"), upload.filename
        )
        max_bytes = runtime(current_app).settings.max_document_bytes
        documents.attach(request_session(), principal(), referral_id, new, max_bytes=max_bytes)
    except (Invalid, TooLarge, UnsupportedType) as exc:
        fields = exc.details.get("fields")
        refusal = Invalid(exc.message, fields=fields if isinstance(fields, dict) else None)
        return refused_in_place(form_name(referral_id), refusal, page)
    return None


def has_upload(file_field: str) -> bool:
    upload = request.files.get(file_field)
    return upload is not None and bool(upload.filename)
