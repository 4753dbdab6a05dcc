"""Follow-ups by disposition as configuration: the shipped file, an operator's file, a malformed one (#14)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from service.app import create_app
from service.config import Settings
from service.usecases import discharge, follow_ups
from tests.factories import Case


def _rules_in_words(rules: dict[str, tuple[follow_ups.FollowUp, ...]]) -> dict[str, list[tuple[str, timedelta, str]]]:
    return {d: [(s.kind, s.due_after, s.owner) for s in steps] for d, steps in rules.items()}


def test_the_shipped_file_holds_todays_follow_ups() -> None:
    call, pcp = (
        ("followup_call_48h", timedelta(hours=48), "hospital"),
        ("pcp_visit_7d", timedelta(days=7), "primary_care"),
    )
    admit = ("facility_admission", timedelta(hours=24), "placed")
    check = ("post_discharge_check", timedelta(hours=72), "hospital")
    assert _rules_in_words(follow_ups.read(follow_ups.SHIPPED)) == {
        "home": [call, pcp],
        "home_health": [call, pcp, ("home_health_start", timedelta(hours=48), "placed")],
        "snf": [admit, check],
        "inpatient_rehab": [admit, check],
        "hospice": [call],
        "other": [call, pcp],
        "expired": [],
    }


OPERATOR = {
    "steps": {"medication_reconciliation": {"due_after": "P3D", "owner": "primary_care", "description": "Med review"}},
    "dispositions": {d: [] for d in ("home_health", "snf", "inpatient_rehab", "hospice", "other", "expired")}
    | {"home": ["medication_reconciliation"]},
}


def test_an_operator_file_changes_what_a_discharge_creates(
    session: Session, case: Case, now: datetime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps(OPERATOR))
    monkeypatch.setenv("CAREBRIDGE_FOLLOW_UPS", str(mine))
    created = discharge.record_discharge(session, case.stay.id, discharged_at=now, disposition="home", actor="p")
    assert [(h.kind, h.due_at, h.owner_org_id, h.description) for h in created] == [
        ("medication_reconciliation", now + timedelta(days=3), case.pcp.id, "Med review")
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"steps": {"call": {"due_after": "P1D", "owner": "hospital", "description": "x"}}},
            "steps.call: unknown kind",
        ),
        (
            {"steps": {"transport": {"due_after": "P1D", "owner": "nurse", "description": "x"}}},
            "steps.transport: owner 'nurse' is not one of",
        ),
        (
            {"steps": {"transport": {"due_after": "48h", "owner": "hospital", "description": "x"}}},
            "steps.transport: due_after '48h' is not a duration",
        ),
        ({"dispositions": {**OPERATOR["dispositions"], "moon": []}}, "dispositions.moon: unknown disposition"),
        (
            {"dispositions": {**OPERATOR["dispositions"], "snf": ["transport"]}},
            "dispositions.snf: 'transport' is not defined",
        ),
        (
            {"dispositions": {"home": []}},
            "dispositions: home_health, snf, inpatient_rehab, hospice, other, expired not listed",
        ),
    ],
)
def test_a_malformed_file_is_refused_naming_the_entry(change: dict[str, object], message: str) -> None:
    with pytest.raises(follow_ups.FollowUpConfigError) as refused:
        follow_ups.parse({**OPERATOR, **change})
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)


def test_the_app_refuses_to_start_with_a_malformed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**OPERATOR, "dispositions": {"home": []}}))
    monkeypatch.setenv("CAREBRIDGE_FOLLOW_UPS", str(bad))
    with pytest.raises(follow_ups.FollowUpConfigError, match="^dispositions: home_health"):
        create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"))
