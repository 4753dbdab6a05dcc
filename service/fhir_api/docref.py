"""US Core Fetch DocumentReference, `GET|POST [base]/DocumentReference/$docref`
(https://hl7.org/fhir/us/core/STU6.1/OperationDefinition-docref.html).

carebridge keeps only the documents sent with referrals, none made on demand, so the operation is
the DocumentReference search underneath: `patient` (1..1 id) is `patient`, `start`/`end`
(dateTime) bound the document's `date`, `type` (Coding) is `type`. The same access policy and
audit apply (service.fhir_api.routes.searchset_response); another organisation's patient, like an
unknown one, gives an empty Bundle ("If there is no match, an empty Bundle is returned").
Parameters come from the query string (GET) or a Parameters resource (POST,
https://hl7.org/fhir/R4/operations.html#request).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, request
from werkzeug.datastructures import MultiDict

from fhir_mappings.profiles import US_CORE_DOCUMENTREFERENCE
from service.fhir_api import bp
from service.fhir_api.guard import authorize
from service.fhir_api.incoming import resource_body
from service.fhir_api.outcome import FhirError
from service.fhir_api.routes import searchset_response

# https://hl7.org/fhir/R4/datatypes.html#id and #dateTime (the regular expressions given there).
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_DATE_TIME = re.compile(
    r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])"
    r"(T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00)))?)?)?$"
)
_NAMES = ("patient", "start", "end", "type", "on-demand", "profile")


@bp.get("/DocumentReference/$docref")
@bp.post("/DocumentReference/$docref")
def docref() -> Response:
    ctx = authorize("DocumentReference", "s")
    given = _parameters() if request.method == "POST" else _query()
    return searchset_response(ctx, "DocumentReference", search_args(given), "operation", lenient=False)


def search_args(given: dict[str, str]) -> MultiDict[str, str]:
    """The DocumentReference search that answers the operation's parameters `given`, or FhirError 400."""
    patient = given.get("patient")
    if patient is None:
        raise FhirError(400, "$docref needs the 'patient' parameter (an id)", code="required")
    if not _ID.match(patient):
        raise FhirError(400, "'patient' must be a Patient id", code="value")
    args = MultiDict([("patient", patient)])
    # Care dates, inclusive at both ends: a start or end given as a day covers the whole day.
    for name, prefix in (("start", "ge"), ("end", "le")):
        if name in given:
            if not _DATE_TIME.match(given[name]):
                raise FhirError(400, f"'{name}' must be a FHIR dateTime", code="value")
            args.add("date", prefix + given[name])
    if "type" in given:
        args.add("type", given["type"])
    # Every document kept is stable (none is assembled on demand), so either value finds them all.
    if given.get("on-demand", "false") not in ("true", "false"):
        raise FhirError(400, "'on-demand' must be true or false", code="value")
    # Every DocumentReference carebridge serves claims the US Core profile (fhir_mappings.document).
    if given.get("profile", US_CORE_DOCUMENTREFERENCE) != US_CORE_DOCUMENTREFERENCE:
        raise FhirError(
            400, f"carebridge serves DocumentReferences of {US_CORE_DOCUMENTREFERENCE} only", code="not-supported"
        )
    return args


def _query() -> dict[str, str]:
    given: dict[str, str] = {}
    for name, value in request.args.items(multi=True):
        if name == "_format":
            continue  # checked for every request under /fhir/R4 (service.fhir_api.formats)
        _put(given, name, value)
    return given


def _parameters() -> dict[str, str]:
    body = resource_body("Parameters")
    given: dict[str, str] = {}
    for parameter in body.get("parameter", []):
        name = parameter.get("name", "")
        _put(given, name, _text(name, parameter))
    return given


def _text(name: str, parameter: dict[str, Any]) -> str:
    """A Parameters entry's value as the query string would carry it (a Coding as system|code)."""
    values = [key for key in parameter if key.startswith("value")]
    if len(values) != 1:
        raise FhirError(400, f"parameter '{name}' needs one value[x]", code="structure")
    value = parameter[values[0]]
    if values[0] == "valueCoding":
        system, code = value.get("system"), value.get("code")
        if not code:
            raise FhirError(400, f"parameter '{name}' needs a code", code="required")
        return f"{system}|{code}" if system else code
    if values[0] == "valueBoolean":
        return "true" if value else "false"
    if not isinstance(value, str):
        raise FhirError(400, f"parameter '{name}' has a value of the wrong type", code="value")
    return value


def _put(given: dict[str, str], name: str, value: str) -> None:
    if name not in _NAMES:
        raise FhirError(400, f"'{name}' is not a $docref parameter (use {', '.join(_NAMES)})", code="not-supported")
    if name in given:
        # Every $docref input is 0..1 or 1..1.
        raise FhirError(400, f"'{name}' is given more than once", code="value")
    given[name] = value
