"""Clinical document <-> DocumentReference, US Core DocumentReference profile
(https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-documentreference.html).

US Core wants status, type (LOINC document codes, bound extensibly), category (`clinical-note`
here: every document carebridge keeps is a clinical note sent with a referral) and subject;
`date`, `author`, `content.attachment` (contentType and url or data, us-core-6), `content.format`
and `context` are must-support. The content itself is a Binary the attachment's `url` points to
(https://hl7.org/fhir/R4/documentreference.html: "the document ... may be ... referenced by a url");
`context.related` names the referrals (ServiceRequest) the document was sent with.
"""

from __future__ import annotations

import base64
from typing import Any

from fhir.resources.R4B.documentreference import DocumentReference

from . import fields as f
from .codec import Element, ResourceMap
from .codes import DOCUMENT_TYPES, US_CORE_DOCUMENTREFERENCE_CATEGORY
from .datatypes import identity
from .domain import DocumentData
from .profiles import US_CORE_DOCUMENTREFERENCE, meta_claiming

_ATTACHMENT = ("content", 0, "attachment")
# IHE format code: the MIME type says all a reader needs (PDF or plain text), as US Core's examples
# do for documents without a structured format (https://profiles.ihe.net/fhir/ihe.formatcode.fhir/).
MIME_TYPE_SUFFICIENT = {
    "system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
    "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient",
    "display": "mimeType Sufficient",
}


def _parse_size(raw: Any) -> int | None:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else None


DOCUMENT_REFERENCE: ResourceMap[DocumentData, DocumentReference] = ResourceMap(
    DocumentReference,
    DocumentData,
    (
        f.resource_id(),
        f.code("status", ("status",)),
        f.coded("type_code", ("type",), DOCUMENT_TYPES, required=True),
        f.reference_to("patient_id", ("subject",), "Patient"),
        f.instant("created", ("date",)),
        f.any_reference("author_ref", ("author", 0)),
        f.text("content_type", (*_ATTACHMENT, "contentType")),
        f.text("content_url", (*_ATTACHMENT, "url")),
        Element("size", (*_ATTACHMENT, "size"), _parse_size, identity),
        f.text("sha1", (*_ATTACHMENT, "hash")),
        f.text("title", (*_ATTACHMENT, "title")),
        f.instant("created", (*_ATTACHMENT, "creation")),
        f.reference_to("stay_id", ("context", "encounter", 0), "Encounter"),
        f.references_to("referral_ids", ("context", "related"), "ServiceRequest"),
    ),
    {
        "resourceType": "DocumentReference",
        "meta": meta_claiming(US_CORE_DOCUMENTREFERENCE),
        "category": [{"coding": [US_CORE_DOCUMENTREFERENCE_CATEGORY.coding("clinical-note")]}],
        "content": [{"format": MIME_TYPE_SUFFICIENT}],
    },
)

to_fhir_document_reference_json = DOCUMENT_REFERENCE.to_json
to_fhir_document_reference = DOCUMENT_REFERENCE.to_model
from_fhir_document_reference = DOCUMENT_REFERENCE.from_fhir


def to_fhir_binary_json(document_id: str, content_type: str, data: bytes) -> dict[str, Any]:
    """A document's content as a Binary resource (https://hl7.org/fhir/R4/binary.html): read under
    the access rules of its DocumentReference, which `securityContext` names."""
    return {
        "resourceType": "Binary",
        "id": document_id,
        "contentType": content_type,
        "securityContext": {"reference": f"DocumentReference/{document_id}"},
        "data": base64.b64encode(data).decode("ascii"),
    }
