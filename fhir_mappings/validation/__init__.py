"""Validation fhir.resources does not do, returning OperationOutcome issues instead of raising.

`validate(resource, profile=None)` checks, for a resource or a Bundle and everything in it:
- bounds first (`bounds.check_json`: nesting depth, control characters in strings);
- structure, by fhir.resources R4B (unknown element, bad date, wrong type, missing element);
- required value-set bindings (`bindings.BINDINGS`), and codes claiming a code system carebridge
  holds in full (`codes.KNOWN_CODE_SYSTEMS`);
- reference targets: the base resource's, narrowed by the profiles that apply;
- the rules of the profiles that apply: those the resource claims in `meta.profile`, plus
  `profile` ("us-core", "carebridge" or a profile URL). A partner's plain R4 resource that claims
  nothing is checked against base R4 only.

Known limits: R4B models stand in for R4 (they accept the few elements R4B added); FHIRPath
invariants other than the ones written here are not evaluated; value sets that are not small
enumerations (MIME types, languages, SNOMED CT subsets) are not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_core.fhirabstractmodel import FHIRAbstractModel

from ..bounds import check_json
from ..codec import as_json
from .check import Checker
from .issues import Issue, has_errors, issue, to_operation_outcome, to_operation_outcome_json
from .schema import model_for
from .structure import empty_elements, structural_issues

__all__ = ["Issue", "has_errors", "to_operation_outcome", "to_operation_outcome_json", "validate"]


def validate(resource: Mapping[str, Any] | FHIRAbstractModel | str | bytes, profile: str | None = None) -> list[Issue]:
    """Every problem found in `resource` (JSON text, parsed JSON or a model); [] when valid.

    Raises ValueError only for an unknown `profile` name, a programming error.
    """
    checker = Checker(profile)
    try:
        body = as_json(resource)
    except ValueError as bad:  # orjson.JSONDecodeError is a ValueError
        return [issue("fatal", "structure", ("$",), f"not JSON: {bad}")]
    if not isinstance(body, Mapping):
        return [issue("fatal", "structure", ("$",), "not a JSON object")]
    refused = check_json(body)
    if refused is not None:
        # Checked before the models and the profile rules walk it, which recurse.
        severity, code = ("fatal", "structure") if refused.kind == "depth" else ("error", "value")
        where = (str(body.get("resourceType") or "$"), *refused.path)
        return [issue(severity, code, where, refused.message)]
    resource_type = body.get("resourceType")
    model = model_for(resource_type) if isinstance(resource_type, str) else None
    if model is None:
        return [issue("fatal", "structure", ("resourceType",), f"unknown resource type {resource_type!r}")]
    checker.resource(body, (model.__name__,))
    return _unique([*structural_issues(body, model), *empty_elements(body, model.__name__), *checker.issues])


def _unique(issues: list[Issue]) -> list[Issue]:
    """One issue per element and kind: a missing element is reported by fhir.resources and by
    the profile alike."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for found in issues:
        if (found.expression, found.code) not in seen:
            seen.add((found.expression, found.code))
            kept.append(found)
    return kept
