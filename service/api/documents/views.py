"""Clinical documents sent with a referral: attach (multipart upload), list, read, download."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict

from service.api.auth import principal
from service.api.documents.schemas import DocumentListArgs, DocumentSchema, NewDocumentForm
from service.app import request_session, runtime
from service.downloads import attachment
from service.usecases import documents


class _MultipartParser(FlaskParser):
    """`files` reads the whole multipart body, its form fields with its files: flask-smorest documents one
    schema per request body, so the file and the fields it comes with are one schema."""

    def load_files(self, req: Any, schema: Any) -> Any:
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


class _UploadBlueprint(Blueprint):
    ARGUMENTS_PARSER = _MultipartParser()


blp = _UploadBlueprint("documents", __name__, description="Clinical documents (PDF or text) sent with a referral")

_FILE = {
    "description": "The document's content, as stored",
    "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ("application/pdf", "text/plain")},
}


@blp.route("")
class Documents(MethodView):
    @blp.arguments(DocumentListArgs, location="query")
    @blp.response(200, DocumentSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """List a referral's documents.

        The documents sent with the referral, oldest first: for the hospital that runs the case and the
        referral's recipients.
        """
        return documents.of_referral(request_session(), principal(), args["referral_id"])

    @blp.arguments(NewDocumentForm, location="files")
    @blp.response(201, DocumentSchema)
    @blp.alt_response(413, description="The file is larger than CAREBRIDGE_MAX_DOCUMENT_BYTES")
    @blp.alt_response(415, description="The file is neither a PDF nor plain text")
    def post(self, form: dict[str, Any]) -> Any:
        """Attach a document to a referral.

        A PDF or UTF-8 plain-text file (checked by its content) of one of the listed LOINC document types; the
        referral's hospital only. Recipients read it here and on the FHIR API (DocumentReference, Binary).
        """
        upload = form["file"]
        new = documents.NewDocument(form["type"], upload.read(), upload.mimetype, form["title"], upload.filename)
        max_bytes = runtime(current_app).settings.max_document_bytes
        return documents.attach(request_session(), principal(), form["referral_id"], new, max_bytes=max_bytes)


@blp.route("/<document_id>")
class DocumentById(MethodView):
    @blp.response(200, DocumentSchema)
    def get(self, document_id: str) -> Any:
        """Read a document's details.

        Its type, title, content type, size and referral, who attached it and when; the file is at `/content`.
        """
        return documents.readable(request_session(), principal(), document_id)


@blp.route("/<document_id>/content")
class DocumentContent(MethodView):
    @blp.doc(responses={"200": _FILE})
    def get(self, document_id: str) -> Response:
        """Download a document.

        The stored file with its own content type, as an attachment (never rendered in the browser).
        """
        document, data = documents.content(request_session(), principal(), document_id)
        return attachment(data, document.content_type, document.title)
