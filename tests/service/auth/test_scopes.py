"""SMART scopes v1 and v2: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html"""

from __future__ import annotations

import pytest

from service.auth import policy
from service.auth.context import AccessContext
from service.auth.scopes import is_within, parse_resource_scope, parse_scopes


@pytest.mark.parametrize(
    ("scope", "granted", "refused"),
    [
        ("system/Task.read", "rs", "cud"),
        ("system/Task.write", "cud", "rs"),
        ("system/Task.*", "cruds", ""),
        ("system/Task.rs", "rs", "cud"),
        ("system/Task.u", "u", "crds"),
        ("system/*.cruds", "cruds", ""),
    ],
)
def test_v1_and_v2_interactions(scope: str, granted: str, refused: str) -> None:
    scopes = parse_scopes(scope)
    assert all(scopes.allows("Task", letter) for letter in granted)
    assert not any(scopes.allows("Task", letter) for letter in refused)


@pytest.mark.parametrize(
    "text",
    ["system/Task.sr", "system/Task.", "system/task.rs", "launch/patient", "openid", "system/Task.rs?status=ready"],
)
def test_unenforceable_or_malformed_scopes_grant_nothing(text: str) -> None:
    assert parse_resource_scope(text) is None
    assert not parse_scopes(text).allows("Task", "r")


def test_wildcard_and_type_do_not_leak_to_other_types() -> None:
    scopes = parse_scopes("system/CarePlan.rs openid")
    assert scopes.allows("CarePlan", "r") and not scopes.allows("Task", "r")
    assert scopes.raw == ("system/CarePlan.rs", "openid")


def test_patient_scopes_need_a_patient_in_context() -> None:
    scopes = parse_scopes("patient/Task.rs")
    without = AccessContext("c", "c", None, scopes, None)
    with_patient = AccessContext("c", "c", None, scopes, "p1")
    assert not policy.allows(without, "Task", "r")
    assert policy.allows(with_patient, "Task", "r") and policy.confined_to_patient(with_patient)


def test_is_within_checks_every_letter_in_the_same_context() -> None:
    allowed = parse_scopes("system/Task.rus system/*.rs")
    assert is_within(parse_resource_scope("system/Task.u"), allowed)  # type: ignore[arg-type]
    assert is_within(parse_resource_scope("system/Goal.read"), allowed)  # type: ignore[arg-type]
    assert not is_within(parse_resource_scope("system/Task.cruds"), allowed)  # type: ignore[arg-type]
    assert not is_within(parse_resource_scope("user/Task.rs"), allowed)  # type: ignore[arg-type]
