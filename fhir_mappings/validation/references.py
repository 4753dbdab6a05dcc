"""Which resource type a Reference points at, as far as the reference itself tells
(https://hl7.org/fhir/R4/references.html)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .schema import model_for

# [base/]Type/id[/_history/version]; the base is optional (relative references).
_RESTFUL = re.compile(
    r"(?P<base>[a-z][a-z0-9+.-]*://\S*?/)?(?P<type>[A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[A-Za-z0-9\-.]{1,64})?"
)


class BadReference(ValueError):
    """The reference is malformed or points at nothing."""


def target_type(reference: Mapping[str, Any], contained: Mapping[str, str]) -> str | None:
    """The referenced resource type, None when the reference does not say (identifier or display
    only, urn:uuid without `type`, a non-RESTful absolute URL).

    `contained` maps the ids of the enclosing resource's contained resources to their types.
    """
    literal = reference.get("reference")
    stated = reference.get("type") if isinstance(reference.get("type"), str) else None
    if not isinstance(literal, str):
        return stated
    if literal.startswith("#"):
        if literal == "#":  # the container itself
            return None
        if literal[1:] not in contained:
            raise BadReference(f"{literal!r} points at no contained resource")
        return contained[literal[1:]]
    if literal.startswith("urn:"):
        return stated
    match = _RESTFUL.fullmatch(literal)
    if match is None:
        if "://" in literal:  # an absolute URL need not be a RESTful FHIR one
            return stated
        raise BadReference(f"{literal!r} is not a [type]/[id] reference")
    found = match["type"]
    if model_for(found) is None:
        raise BadReference(f"{literal!r} names no FHIR resource type")
    if stated is not None and stated != found:
        raise BadReference(f"{literal!r} contradicts its type {stated!r}")
    return found
