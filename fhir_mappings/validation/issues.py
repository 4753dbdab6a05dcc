"""Validation findings as FHIR OperationOutcome issues (https://hl7.org/fhir/R4/operationoutcome.html)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome

Segments = tuple[str | int, ...]


def fhirpath(segments: Sequence[str | int]) -> str:
    """("Task", "note", 0, "text") -> "Task.note[0].text"."""
    parts: list[str] = []
    for segment in segments:
        parts.append(f"[{segment}]" if isinstance(segment, int) else f".{segment}" if parts else segment)
    return "".join(parts)


@dataclass(frozen=True)
class Issue:
    severity: str  # https://hl7.org/fhir/R4/valueset-issue-severity.html: fatal | error | warning | information
    code: str  # https://hl7.org/fhir/R4/valueset-issue-type.html: structure, required, value, code-invalid...
    expression: str  # FHIRPath of the element, e.g. "Task.status"
    diagnostics: str

    @property
    def is_error(self) -> bool:
        return self.severity in ("fatal", "error")

    def __str__(self) -> str:
        return f"{self.severity} {self.expression}: {self.diagnostics}"


def issue(severity: str, code: str, where: Sequence[str | int], diagnostics: str) -> Issue:
    return Issue(severity, code, fhirpath(where), diagnostics)


def has_errors(issues: Iterable[Issue]) -> bool:
    return any(found.is_error for found in issues)


def to_operation_outcome_json(issues: Iterable[Issue]) -> dict[str, Any]:
    """OperationOutcome JSON; with no issues, the single "informational" issue that R4 requires
    (OperationOutcome.issue is 1..*)."""
    entries = [
        {"severity": i.severity, "code": i.code, "diagnostics": i.diagnostics, "expression": [i.expression]}
        for i in issues
    ]
    return {
        "resourceType": "OperationOutcome",
        "issue": entries or [{"severity": "information", "code": "informational", "diagnostics": "No issues found"}],
    }


def to_operation_outcome(issues: Iterable[Issue]) -> OperationOutcome:
    return OperationOutcome.model_validate(to_operation_outcome_json(issues))
