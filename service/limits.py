"""Input bounds, each in one place: request body size, JSON Content-Type, nesting depth and
control characters, integers written in ASCII digits, paging offsets.

The REST API, the FHIR API and the web pages use these; the CLI's validators and the sync pull
use the JSON bounds through `fhir_mappings.bounds` (the same walk the request guard runs).

`install(app, settings)` puts the request guard in front of every REST (`/api/...`) and FHIR
(`/fhir/R4/...`) write, so handlers only ever see a JSON body of bounded size and depth without
control characters (file uploads aside: multipart, up to `max_document_bytes`, checked by their use case).
Refusals come in the API's own error shape: the REST error envelope, or an OperationOutcome under /fhir/R4.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from flask import Flask, abort, request

from fhir_mappings.bounds import check_json
from fhir_mappings.validation.issues import fhirpath
from service.api.errors import envelope
from service.config import Settings
from service.fhir_api.outcome import FhirError

# Deep enough for any list a person pages through; beyond it the database's integers overflow.
MAX_OFFSET = 1_000_000
# Versions, counts and day windows: nine digits always fit a 32-bit column.
_MAX_DIGITS = 9

FHIR_PREFIX = "/fhir/R4"
# https://hl7.org/fhir/R4/http.html#mime-type: application/fhir+json, and application/json is accepted.
_JSON_TYPES = {"rest": ("application/json",), "fhir": ("application/fhir+json", "application/json")}
_WRITES = ("POST", "PUT", "PATCH")
# Writes that take a file (multipart/form-data): a clinical document on a referral, by the REST API
# and by the planner's case page (attached to a referral, or sent with a new one). Their body may
# hold a whole document plus the form around it; every other write stays within max_body_bytes.
_UPLOADS = (
    re.compile(r"/api/documents"),
    re.compile(r"/app/referrals/[^/]+/documents"),
    re.compile(r"/app/stays/[^/]+/referrals"),
)
MULTIPART_ALLOWANCE = 64 * 1024


def ascii_int(text: str | None) -> int | None:
    """`text` as a non-negative integer if it is 1-9 ASCII digits, else None.

    `str.isdigit()` alone accepts "²" and other digits `int()` refuses or reads unexpectedly.
    """
    if text is None or not (0 < len(text) <= _MAX_DIGITS and text.isascii() and text.isdigit()):
        return None
    return int(text)


def etag_version(header: str) -> int | None:
    """The version an ETag names: `W/"3"`, `"3"` or `3` -> 3; anything else -> None."""
    return ascii_int(header.strip().removeprefix("W/").strip('"'))


def install(app: Flask, settings: Settings) -> None:
    # Werkzeug refuses a larger body with 413 as soon as a handler reads it.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.before_request(_guard_url)
    app.before_request(lambda: _allow_upload(settings))
    app.before_request(_guard_json_body)


def is_upload() -> bool:
    return request.method == "POST" and any(rule.fullmatch(request.path) for rule in _UPLOADS)


def _allow_upload(settings: Settings) -> None:
    if is_upload():
        request.max_content_length = settings.max_document_bytes + MULTIPART_ALLOWANCE


def _api() -> str | None:
    if request.path == FHIR_PREFIX or request.path.startswith(FHIR_PREFIX + "/"):
        return "fhir"
    if request.path.startswith("/api/"):
        return "rest"
    return None


def _guard_url() -> Any:
    """Control characters in the path or a query value name no record and match nothing; PostgreSQL
    refuses U+0000 in any string it is given, so they stop here, for the web pages too."""
    refused = check_json(request.path)
    location, name = "path", "path"
    if refused is None:
        refused = check_json(request.args.to_dict(flat=False))
        if refused is None:
            return None
        location, name = "query", str(refused.path[0])
    message = f"the {location} {refused.message}" if location == "path" else f"'{name}' {refused.message}"
    api = _api()
    if api == "fhir":
        raise FhirError(400, message, code="value")
    if api == "rest":
        return envelope(422, message, {location: {name: [refused.message]}})
    abort(400, message)


def _guard_json_body() -> Any:
    api = _api()
    if api is None or request.method not in _WRITES:
        return None
    if api == "rest" and is_upload() and request.mimetype == "multipart/form-data":
        return None  # a file and its form fields, checked by the use case (service.usecases.documents)
    if api == "fhir" and request.path.endswith("/_search"):
        return None  # a form body (https://hl7.org/fhir/R4/http.html#search), checked by the search handler
    data = request.get_data(cache=True)  # too large: 413, rendered by the API's own error handler
    if not data:
        if api == "rest" and request.method == "PATCH":
            return envelope(422, "send a JSON object with the fields to change")
        return None  # the handler says what it needed
    if request.mimetype not in _JSON_TYPES[api]:
        return _refuse(api, 415, f"send the body as {' or '.join(_JSON_TYPES[api])}, not '{request.mimetype}'")
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as bad:
        return _refuse(api, 400, f"the body is not JSON: {bad}", code="structure")
    refused = check_json(body)
    if refused is not None and refused.kind == "depth":
        return _refuse(api, 400, refused.message, refused.path, body, code="structure")
    if refused is not None:
        return _refuse(api, 400 if api == "fhir" else 422, refused.message, refused.path, body, code="value")
    if api == "rest" and request.method == "PATCH" and body == {}:
        return envelope(422, "send at least one field to change")
    return None


def _refuse(
    api: str,
    status: int,
    message: str,
    path: tuple[str | int, ...] | None = None,
    body: Any = None,
    *,
    code: str | None = None,
) -> Any:
    if api == "fhir":
        where = None
        if path is not None:
            root = body.get("resourceType") if isinstance(body, dict) else None
            where = [fhirpath((root if isinstance(root, str) else "$", *path))]
        raise FhirError(status, message, code=code, expression=where)
    if path is None:
        return envelope(status, message)
    name = fhirpath(path) or "$"
    return envelope(status, f"{name}: {message}", {"json": {name: [message]}})
