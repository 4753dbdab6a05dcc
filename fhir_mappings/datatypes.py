"""Reading and writing FHIR data types as JSON: primitives, references, identifiers, concepts.

Every `parse_*` takes whatever a partner put in the element and returns the domain value, or None
when the value is absent or cannot be held by the domain type (the partner's value then stays in
`source`, see `codec`). Every `render_*` is its inverse for values carebridge produced:
`parse_x(render_x(v)) == v`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .codes import CAREBRIDGE_IDENTIFIER
from .domain import AddressData, CodeableConceptData, Identifier

# https://hl7.org/fhir/R4/datatypes.html#date: a full date is YYYY-MM-DD; partial dates
# (YYYY, YYYY-MM) have no `datetime.date` equivalent and read as None.
_FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# A relative literal reference, optionally versioned (https://hl7.org/fhir/R4/references.html#literal).
# Absolute URLs, contained ("#x") and urn:uuid references name no carebridge record.
_RELATIVE_REFERENCE = re.compile(r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?")


def parse_str(raw: Any) -> str | None:
    return raw if isinstance(raw, str) else None


def identity(value: Any) -> Any:
    return value


def parse_date(raw: Any) -> dt.date | None:
    """A `date`, or the date part of a `dateTime` as the partner wrote it (their local date)."""
    if not isinstance(raw, str) or not _FULL_DATE.match(raw):
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        return None


def render_date(value: dt.date) -> str:
    return value.isoformat()


def parse_instant(raw: Any) -> dt.datetime | None:
    """A `dateTime`/`instant` with a time and a zone; date-only values read as None because the
    domain holds instants, and inventing a time or zone would misstate the partner's data."""
    if not isinstance(raw, str) or "T" not in raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def render_instant(value: dt.datetime) -> str:
    """ISO 8601 with seconds and offset, as https://hl7.org/fhir/R4/datatypes.html#dateTime requires."""
    return value.isoformat()


def render_reference(ref: str) -> dict[str, str]:
    return {"reference": ref}


def parse_reference(raw: Any) -> str | None:
    """Reference JSON -> "Type/id" when it is a relative literal reference (version dropped)."""
    target = raw.get("reference") if isinstance(raw, Mapping) else None
    match = _RELATIVE_REFERENCE.fullmatch(target) if isinstance(target, str) else None
    return f"{match[1]}/{match[2]}" if match else None


def parse_versioned_reference(raw: Any) -> str | None:
    """Reference JSON -> "Type/id" or "Type/id/_history/v" when it is a relative literal reference."""
    target = raw.get("reference") if isinstance(raw, Mapping) else None
    return target if isinstance(target, str) and _RELATIVE_REFERENCE.fullmatch(target) else None


def business_identifier(kind: str, value: str) -> Identifier:
    """carebridge's business identifier of a record, e.g. ("referral", id): what partners match on
    for conditional create (https://hl7.org/fhir/R4/http.html#ccreate)."""
    return Identifier(CAREBRIDGE_IDENTIFIER + kind, value)


def parse_identifier(raw: Any) -> Identifier | None:
    """Only identifiers with both system and value are modelled; others stay in `source`."""
    if not isinstance(raw, Mapping):
        return None
    system, value = raw.get("system"), raw.get("value")
    return Identifier(system, value) if isinstance(system, str) and isinstance(value, str) else None


def render_identifier(identifier: Identifier) -> dict[str, str]:
    return {"system": identifier.system, "value": identifier.value}


def parse_address(raw: Any) -> AddressData | None:
    """Address -> its first line, city, state and postal code; None when it has none of them."""
    if not isinstance(raw, Mapping):
        return None
    lines = raw.get("line")
    line = parse_str(lines[0]) if isinstance(lines, list) and lines else None
    parts = (parse_str(raw.get(key)) for key in ("city", "state", "postalCode"))
    address = AddressData(line, *parts)
    return None if address == AddressData() else address


def render_address(address: AddressData) -> dict[str, Any]:
    rendered: dict[str, Any] = {"line": [address.line]} if address.line else {}
    for key, value in (("city", address.city), ("state", address.state), ("postalCode", address.postal_code)):
        if value:
            rendered[key] = value
    return rendered


def parse_phone(raw: Any) -> str | None:
    """A ContactPoint that is a phone number -> the number (email and others stay in `source`)."""
    return parse_str(raw.get("value")) if isinstance(raw, Mapping) and raw.get("system") == "phone" else None


def render_phone(number: str) -> dict[str, str]:
    return {"system": "phone", "value": number, "use": "work"}


def parse_note(raw: Any) -> str | None:
    """Annotation -> its text (author and time are the partner's and stay in `source`)."""
    return parse_str(raw.get("text")) if isinstance(raw, Mapping) else None


def render_note(text: str) -> dict[str, str]:
    return {"text": text}


def render_concept(data: CodeableConceptData) -> dict[str, Any]:
    """CodeableConceptData -> CodeableConcept JSON with at most one coding."""
    concept: dict[str, Any] = {}
    coding = {k: v for k, v in (("system", data.system), ("code", data.code), ("display", data.display)) if v}
    if coding:
        concept["coding"] = [coding]
    if data.text is not None:
        concept["text"] = data.text
    return concept


def parse_concept(raw: Any) -> CodeableConceptData | None:
    """CodeableConcept JSON -> CodeableConceptData from its first coding and its text."""
    if not isinstance(raw, Mapping):
        return None
    codings: Iterable[Any] = raw.get("coding") or ()
    first = next(iter(codings), None)
    first = first if isinstance(first, Mapping) else {}
    data = CodeableConceptData(
        parse_str(first.get("system")),
        parse_str(first.get("code")),
        parse_str(first.get("display")),
        parse_str(raw.get("text")),
    )
    return None if data == CodeableConceptData() else data


def parse_concept_text(raw: Any) -> str | None:
    """CodeableConcept -> human text: its text, else the first coding's display."""
    data = parse_concept(raw)
    return None if data is None else data.text or data.display


def render_text_concept(text: str) -> dict[str, str]:
    return {"text": text}
