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


def empty_elements(resource: Mapping[str, Any], resource_type: str) -> list[Issue]:
    """Elements present without a value or children: `{}`, `[]` or `null` anywhere (invariant
    ele-1, https://hl7.org/fhir/R4/element.html#invs; https://hl7.org/fhir/R4/json.html: "empty
    objects, arrays and strings are not allowed"). fhir.resources lets them pass."""
    found: list[Issue] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, (key,)) for key, value in resource.items()]
    while stack:
        node, path = stack.pop()
        if node is None or node == [] or node == {}:  # "" is fhir.resources' own finding
            found.append(issue("error", "invariant", (resource_type, *path), "an element needs a value or children"))
        elif isinstance(node, dict):
            stack += [(value, (*path, key)) for key, value in node.items()]
        elif isinstance(node, list):
            # null holds a place in a list of primitives whose extensions sit in the `_name` list
            # (https://hl7.org/fhir/R4/json.html#primitive).
            stack += [(value, (*path, index)) for index, value in enumerate(node) if value is not None]
    return sorted(found, key=lambda found_issue: found_issue.expression)
