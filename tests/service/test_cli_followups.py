"""`carebridge followups show/check` (issue #14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main


def test_show_tells_the_rules_in_force_in_words() -> None:
    shown = CliRunner().invoke(main, ["followups", "show"])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    snf = lines.index("Skilled nursing facility:")
    assert lines[snf + 1 : snf + 3] == [
        "  - Admit the patient and confirm arrival within 24 hours: owned by the placed facility or agency,"
        " due 24 hours after discharge",
        "  - Case manager checks in with the facility within 72 hours: owned by the hospital,"
        " due 3 days after discharge",
    ]
    assert lines[lines.index("Expired:") + 1] == "  (no follow-up)"


def test_show_follows_the_operator_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = tmp_path / "mine.json"
    everyone = ["home", "home_health", "snf", "inpatient_rehab", "hospice", "other", "expired"]
    mine.write_text(
        json.dumps(
            {
                "steps": {"transport": {"due_after": "PT4H", "owner": "hospital", "description": "Ride home booked"}},
                "dispositions": {d: ["transport"] if d == "home" else [] for d in everyone},
            }
        )
    )
    monkeypatch.setenv("CAREBRIDGE_FOLLOW_UPS", str(mine))
    lines = CliRunner().invoke(main, ["followups", "show"]).output.splitlines()
    assert lines[:3] == [
        f"from {mine}",
        "Home:",
        "  - Ride home booked: owned by the hospital, due 4 hours after discharge",
    ]


def test_check_accepts_the_shipped_file_and_refuses_a_bad_one(tmp_path: Path) -> None:
    shipped = Path(__file__).parents[2] / "service" / "usecases" / "follow_ups.json"
    good = CliRunner().invoke(main, ["followups", "check", str(shipped)])
    assert good.exit_code == 0 and "valid (12 steps over 7 dispositions)" in good.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"steps": {"transport": {"due_after": "soon"}}, "dispositions": {}}))
    refused = CliRunner().invoke(main, ["followups", "check", str(bad)])
    assert refused.exit_code == 1
    assert refused.output.strip() == "Error: steps.transport: owner None is not one of hospital, primary_care, placed"
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert "cannot be read as JSON" in CliRunner().invoke(main, ["followups", "check", str(broken)]).output
