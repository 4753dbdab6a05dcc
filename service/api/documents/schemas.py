from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from fhir_mappings.codes import DOCUMENT_TYPE
from service.api.common import record_id
from service.usecases.documents import MAX_TITLE


class DocumentSchema(Schema):
    id = fields.Str()
    referral_id = fields.Str()
    patient_id = fields.Str()
    type = fields.Str(attribute="type_code", metadata={"description": "LOINC document code"})
    type_display = fields.Function(lambda d: DOCUMENT_TYPE.concepts.get(d.type_code, d.type_code))
    status = fields.Str()
    title = fields.Str()
    content_type = fields.Str()
    size = fields.Int(metadata={"description": "bytes"})
    created_at = fields.AwareDateTime()
    author = fields.Str()
    content_url = fields.Function(lambda d: f"/api/documents/{d.id}/content")


class NewDocumentForm(Schema):
    """One multipart/form-data body: the file and its form fields (read together, see views)."""

    file = Upload(required=True, metadata={"description": "a PDF or a UTF-8 plain-text file"})
    referral_id = record_id(required=True)
    type = fields.Str(
        required=True,
        validate=validate.OneOf(tuple(DOCUMENT_TYPE.concepts)),
        metadata={
            "description": "LOINC document code: " + "; ".join(f"{c} {d}" for c, d in DOCUMENT_TYPE.concepts.items())
        },
    )
    title = fields.Str(load_default=None, validate=validate.Length(max=MAX_TITLE))


class DocumentListArgs(Schema):
    referral_id = record_id(required=True)
