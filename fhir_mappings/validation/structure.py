"""Structural problems fhir.resources finds (unknown element, bad date, wrong type, missing
required element), as issues instead of exceptions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .issues import Issue, issue
from .schema import Model

# pydantic error type -> OperationOutcome issue type
_ISSUE_TYPES = {"missing": "required", "extra_forbidden": "structure"}


def _element_name(segment: str | int) -> str | int:
    """fhir.resources reports a few elements by their Python names: resource_type, for_fhir..."""
    if not isinstance(segment, str):
        return segment
    if segment == "resource_type":
        return "resourceType"
    if segment.endswith("__ext"):
        return "_" + segment[: -len("__ext")]
    return segment.removesuffix("_fhir")


def _issue(error: Mapping[str, Any], resource_type: str) -> Issue:
    kind = str(error["type"]).rsplit(".", 1)[-1]
    code = _ISSUE_TYPES.get(kind, "structure" if kind.endswith("_type") else "value")
    # pydantic names the value of a root model "root"; FHIR R4 has no element of that name.
    where = (resource_type, *(_element_name(s) for s in error["loc"] if s != "root"))
    message = "unknown element" if kind == "extra_forbidden" else str(error["msg"])
    return issue("error", code, where, message)


def structural_issues(resource: Mapping[str, Any], model: Model) -> list[Issue]:
    try:
        model.model_validate(resource)
    except ValidationError as invalid:
        return [_issue(error, model.__name__) for error in invalid.errors()]
    except (ValueError, TypeError) as invalid:  # raised outside pydantic's error collection
        return [issue("error", "structure", (model.__name__,), str(invalid))]
    return []
