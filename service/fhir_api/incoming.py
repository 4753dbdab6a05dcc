"""The body of a FHIR write, checked before anything is stored.

`resource_body("Subscription")` returns the request's resource as parsed JSON, or raises FhirError
400 with an OperationOutcome naming each invalid path: the body must be JSON (size, depth,
characters and media type are already bounded by `service.limits`), of the expected resource type,
and valid R4 (`fhir_mappings.validate`: structure, data types and required bindings such as
`Task.status`). https://hl7.org/fhir/R4/http.html#update: "400 Bad Request - resource could not
be parsed or failed basic FHIR validation rules".
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import request

from fhir_mappings import validate
from service.fhir_api.outcome import FhirError

# A few issues say enough; a hostile body could otherwise fill the answer with thousands.
_SHOWN = 5


def resource_body(resource_type: str) -> dict[str, Any]:
    try:
        body = orjson.loads(request.get_data(cache=True))
    except orjson.JSONDecodeError as bad:
        raise FhirError(400, f"the body is not JSON: {bad}", code="structure") from None
    if not isinstance(body, dict) or body.get("resourceType") != resource_type:
        raise FhirError(400, f"the body must be a {resource_type} resource in JSON", code="structure")
    errors = [found for found in validate(body) if found.is_error][:_SHOWN]
    if errors:
        raise FhirError(
            400,
            f"the {resource_type} is not valid FHIR R4: " + "; ".join(str(found) for found in errors),
            code=errors[0].code,
            expression=list(dict.fromkeys(found.expression for found in errors)),
        )
    return body
