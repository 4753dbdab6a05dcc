"""Where a referral's loop stands, from its status and its recipients' Tasks (hand-written cases)."""

from datetime import UTC, datetime, timedelta

from service.domain.referral_loop import Loop, Recipient, referral_loop

NOW = datetime(2026, 3, 10, 9, tzinfo=UTC)
LATE, LATER = NOW - timedelta(hours=1), NOW + timedelta(hours=1)


def _asked(name: str, status: str = "requested", due: datetime | None = LATE, **kw: object) -> Recipient:
    return Recipient(name=name, kind="referral_decision", status=status, due_at=due, **kw)  # type: ignore[arg-type]


def test_completed_is_closed_with_the_recipients_outcome_or_the_confirmed_placement() -> None:
    done = _asked("Food Bank", "completed", outcome="Enrolled")
    assert referral_loop("completed", [_asked("Pantry", "cancelled"), done], NOW) == Loop(
        "closed", "Enrolled (Food Bank)"
    )
    placed = _asked("Oak SNF", "accepted", placed=True)
    assert referral_loop("completed", [placed], NOW) == Loop("closed", "Placed with Oak SNF")
    assert referral_loop("completed", [], NOW) == Loop("closed", None)  # closed by hand


def test_revoked_and_entered_in_error_are_unmet() -> None:
    assert referral_loop("revoked", [_asked("Rides", "rejected")], NOW) == Loop("unmet")
    assert referral_loop("entered-in-error", [], NOW) == Loop("unmet")


def test_no_response_only_when_every_awaited_answer_is_late_and_nobody_took_it_up() -> None:
    assert referral_loop("active", [_asked("A"), _asked("B", "received")], NOW) == Loop("no response")
    assert referral_loop("active", [_asked("A"), _asked("B", "rejected")], NOW) == Loop("no response")
    assert referral_loop("active", [_asked("A"), _asked("B", due=LATER)], NOW) == Loop("open")
    assert referral_loop("active", [_asked("A"), _asked("B", "accepted")], NOW) == Loop("open")
    assert referral_loop("active", [_asked("A", due=None)], NOW) == Loop("open")  # no due time: never late
    assert referral_loop("active", [], NOW) == Loop("open")
