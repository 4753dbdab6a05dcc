"""One content-negotiation rule for everything under /fhir/R4: carebridge answers JSON only
(`application/fhir+json`, and NDJSON for bulk files), so `_format` or `Accept` asking for anything
else, XML included, gets 406 (https://hl7.org/fhir/R4/http.html#mime-type), on read and search
alike, before any handler runs."""

from __future__ import annotations

from flask import request

from service.fhir_api.outcome import FhirError

BINARY_PREFIX = "/fhir/R4/Binary/"

# https://hl7.org/fhir/R4/http.html#mime-type: `_format` may be a MIME type or a short form.
_JSON_FORMATS = frozenset(
    {"json", "application/json", "application/fhir+json", "application/json+fhir", "text/json"}
    | {"ndjson", "application/ndjson", "application/fhir+ndjson"}
)
_SERVED = (
    "application/fhir+json",
    "application/json",
    "application/json+fhir",
    "application/fhir+ndjson",
    "application/ndjson",
)


def wants_fhir() -> bool:
    """`_format` or `Accept` asks for a FHIR JSON resource rather than a document's own content
    (https://hl7.org/fhir/R4/http.html#binary): a FHIR type named first, not merely allowed by a wildcard."""
    wanted = request.args.get("_format")
    if wanted is not None:
        return wanted.split(";")[0].strip() in _JSON_FORMATS
    best = request.accept_mimetypes.best
    return best is not None and best in _SERVED


def check_format() -> None:
    """A before-request hook of the FHIR blueprints: 406 unless the answer may be JSON. A Binary
    read answers any type (its native content or the Binary resource: service.fhir_api.binary)."""
    if request.path.startswith(BINARY_PREFIX):
        return
    wanted = request.args.get("_format")
    if wanted is not None:
        if wanted.split(";")[0].strip() not in _JSON_FORMATS:
            raise FhirError(406, f"carebridge answers in JSON only, not '{wanted}'", code="not-supported")
        return  # _format overrides Accept (https://hl7.org/fhir/R4/http.html#mime-type)
    accept = request.headers.get("Accept", "")
    # A served type alone (what clients send) needs no parsing: parsing was a share of every FHIR read.
    if accept and accept not in _SERVED and request.accept_mimetypes.best_match(_SERVED) is None:
        raise FhirError(
            406, f"carebridge answers in application/fhir+json only, not '{accept[:100]}'", code="not-supported"
        )
