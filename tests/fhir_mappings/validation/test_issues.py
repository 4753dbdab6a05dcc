"""Issues and the OperationOutcome that carries them."""

from __future__ import annotations

from fhir_mappings import to_operation_outcome, to_operation_outcome_json, validate
from fhir_mappings.validation.issues import fhirpath


def test_fhirpath() -> None:
    assert fhirpath(("Bundle", "entry", 2, "resource", "note", 0, "text")) == "Bundle.entry[2].resource.note[0].text"


def test_operation_outcome_carries_each_issue() -> None:
    issues = validate({"resourceType": "Task", "status": "bogus", "intent": "order"})

    outcome = to_operation_outcome(issues)

    assert [(i.severity, i.code, i.expression) for i in outcome.issue] == [("error", "code-invalid", ["Task.status"])]


def test_operation_outcome_without_issues_says_so() -> None:
    assert to_operation_outcome_json([])["issue"] == [
        {"severity": "information", "code": "informational", "diagnostics": "No issues found"}
    ]
