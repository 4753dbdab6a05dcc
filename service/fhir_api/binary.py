"""Binary read: the content of a document carebridge keeps (https://hl7.org/fhir/R4/binary.html).

A Binary is the content of the DocumentReference of the same id and is read under its access rules
(service.auth.policy, DocumentReference): 404 for anyone who may not read that document. Asked
for a FHIR format (`Accept: application/fhir+json`, or `_format`), the answer is the Binary
resource with the content in base64; otherwise the content itself, with its own content type
(https://hl7.org/fhir/R4/http.html#binary), as an attachment.
"""

from __future__ import annotations

from flask import Response

from fhir_mappings import to_fhir_binary_json
from service.app import request_session
from service.auth.audit import OUTCOME_MINOR, record_access_now
from service.auth.policy import visible_row
from service.downloads import attachment
from service.fhir_api import bp
from service.fhir_api.formats import wants_fhir
from service.fhir_api.guard import authorize
from service.fhir_api.outcome import FhirError, fhir_response
from service.fhir_bridge import stamp
from service.usecases.documents import content_bytes


@bp.get("/Binary/<ident>")
def read_binary(ident: str) -> Response:
    ctx = authorize("Binary", "r")
    session = request_session()
    document = visible_row(session, ctx, "DocumentReference", ident)
    if document is None:
        record_access_now(
            session, ctx, action="R", interaction="read", resource_type="Binary", resource_id=ident,
            outcome=OUTCOME_MINOR, description="not found",
        )  # fmt: skip
        raise FhirError(404, f"Binary/{ident} is not known")
    data = content_bytes(session, document)
    record_access_now(
        session, ctx, action="R", interaction="read", resource_type="Binary", resource_id=ident,
        patient_id=document.patient_id,
    )  # fmt: skip
    if wants_fhir():
        resource = stamp(to_fhir_binary_json(document.id, document.content_type, data), 1, document.created_at)
        return fhir_response(resource, headers={"ETag": 'W/"1"'})
    return attachment(data, document.content_type, document.title)
