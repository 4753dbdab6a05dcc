import pytest

from service.domain.handoff_status import OPEN, TASK_STATUSES, TERMINAL, TRANSITIONS, can_transition, party_for
from service.domain.timing import avoidable_days, is_overdue

ALLOWED = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
REFUSED = [(a, b) for a in TASK_STATUSES for b in TASK_STATUSES if (a, b) not in ALLOWED]


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_transitions(current: str, target: str) -> None:
    assert can_transition(current, target)


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_refused_transitions(current: str, target: str) -> None:
    assert not can_transition(current, target)


def test_terminal_states_have_no_way_out() -> None:
    for status in TERMINAL:
        assert not any(can_transition(status, t) for t in TASK_STATUSES)
    assert not OPEN & TERMINAL and "draft" not in OPEN


def test_gravity_ownership() -> None:
    assert party_for("accepted") == "owner"
    assert party_for("rejected") == "owner"
    assert party_for("entered-in-error") == "requester"
    assert party_for("cancelled") == "either"


def test_overdue_only_when_open_and_past_due() -> None:
    from datetime import UTC, datetime, timedelta

    t = datetime(2026, 3, 10, 9, tzinfo=UTC)
    assert is_overdue("transport", "requested", t - timedelta(minutes=1), t)
    assert is_overdue("transport", "in-progress", t - timedelta(minutes=1), t)
    assert not is_overdue("transport", "requested", t + timedelta(minutes=1), t)
    assert not is_overdue("transport", "completed", t - timedelta(days=1), t)
    assert not is_overdue("transport", "requested", None, t)


def test_a_referral_decision_is_late_only_until_answered() -> None:
    from datetime import UTC, datetime, timedelta

    t = datetime(2026, 3, 10, 9, tzinfo=UTC)
    assert is_overdue("referral_decision", "received", t - timedelta(hours=1), t)
    assert not is_overdue("referral_decision", "accepted", t - timedelta(hours=1), t)


def test_avoidable_days_scenario_one() -> None:
    from datetime import date

    thursday, saturday = date(2026, 3, 12), date(2026, 3, 14)
    assert avoidable_days(thursday, saturday, saturday) == 1
    assert avoidable_days(thursday, None, date(2026, 3, 13)) == 0
    assert avoidable_days(None, saturday, saturday) == 0
