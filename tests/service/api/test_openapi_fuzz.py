"""schemathesis against the REST API's own OpenAPI document (issue #11): generated requests, valid
and invalid, seeded and bounded, must never meet a server error, and every answer must match the
document (status, media type, headers, body schema)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from service.app import create_app
from service.config import Settings
from tests.factories import Case
from tests.service.fhir_api.support import populate

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Per operation: valid requests on real records and on generated ids, invalid ones on real records.
EXAMPLES_PER_OPERATION = 50

# The document does not depend on the database: read it once, at collection, to name the tests.
_DOCUMENT = create_app(Settings(database_url="sqlite://")).test_client().get("/openapi.json").get_json()
SCHEMA = schemathesis.openapi.from_dict(_DOCUMENT)
OPERATIONS = {operation.label: operation for operation in (r.ok() for r in SCHEMA.get_all_operations())}


def real_ids(session: Session, case: Case) -> dict[str, str]:
    """Path parameters naming records that exist, so generated requests reach the handlers' logic."""
    ids = populate(session, case)
    return {
        "patient_id": case.patient.id,
        "stay_id": case.stay.id,
        "org_id": case.snfs[0].id,
        "plan_id": ids["CarePlan"],
        "goal_id": ids["Goal"],
        "referral_id": ids["ServiceRequest"],
        "handoff_id": ids["Task"],
        "document_id": ids["DocumentReference"],
    }


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_rest_api_matches_its_document(app: Any, session: Session, case: Case, label: str, as_org: Any) -> None:
    operation = OPERATIONS[label]
    # A carebridge-operated client (every scope, no tenant): the requests reach the handlers' logic.
    auth = as_org(None)
    names = {p.name for p in operation.path_parameters}
    known = {name: value for name, value in real_ids(session, case).items() if name in names}
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known),
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=known),
    )

    @given(generated=strategy)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,  # the same examples on every run: a failure here is reproducible
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def exchange(generated: Any) -> None:
        generated.call_and_validate(app=app, checks=CHECKS, headers=auth)

    exchange()


def test_every_operation_has_a_summary_and_a_description() -> None:
    missing = [label for label, operation in OPERATIONS.items() if not operation.definition.raw.get("summary")]
    missing += [label for label, operation in OPERATIONS.items() if not operation.definition.raw.get("description")]
    assert missing == []


def test_handoff_status_lists_every_task_status_it_can_return() -> None:
    # https://hl7.org/fhir/R4/valueset-task-status.html
    statuses = _DOCUMENT["components"]["schemas"]["Handoff"]["properties"]["status"]["enum"]
    assert sorted(statuses) == sorted([
        "draft", "requested", "received", "accepted", "rejected", "ready", "cancelled", "in-progress",
        "on-hold", "failed", "completed", "entered-in-error",
    ])  # fmt: skip
    created = _DOCUMENT["components"]["schemas"]["NewHandoff"]["properties"]["status"]["enum"]
    assert sorted(created) == ["draft", "ready", "requested"]
