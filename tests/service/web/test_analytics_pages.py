"""The analytics page shows both acceptance rates with the counts behind them, and totals that add up."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from service import clock
from service.usecases import handoffs
from tests.factories import send_snf_referral
from tests.service.web.conftest import WebCase, sign_in


def test_both_rates_with_their_counts_and_reconciled_totals(
    client: Any, session: Session, web_case: WebCase, now: datetime
) -> None:
    case = web_case.case
    with clock.frozen_at(now - timedelta(hours=5)):
        referral = send_snf_referral(session, case)
    accepting = referral.handoffs[0]
    handoffs.transition_handoff(
        session, accepting.id, "accepted", actor="intake", acting_org_id=accepting.owner_org_id, reason="bed"
    )
    sign_in(client, web_case.planner.username)
    page = client.get("/app/analytics").text
    # One referral to three facilities: the page says so instead of leaving 1 next to 1 + 1 + 1.
    assert "3 requests to facilities" in page
    assert "3 requests from 1 referral)" in page
    assert "Accepted of sent" in page and "Accepted of answered" in page
    assert '100 % <span class="sub">(1 of 1 sent)</span>' in page
    assert '100 % <span class="sub">(1 of 1 answered)</span>' in page
    assert page.count('0 % <span class="sub">(0 of 1 sent)</span>') == 2
    assert page.count("no answers yet") >= 2
