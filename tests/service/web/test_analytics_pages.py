"""The analytics page shows both acceptance rates with the counts behind them, and totals that add up."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from service import clock
from service.usecases import handoffs
from tests.factories import send_snf_referral
from tests.service.web.conftest import WebCase, csrf_of, sign_in


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


def test_each_charts_figures_download_as_csv_for_those_who_may_see_the_page(
    client: Any, session: Session, web_case: WebCase, now: datetime
) -> None:
    send_snf_referral(session, web_case.case)
    sign_in(client, web_case.planner.username)
    assert "Week by week" in client.get("/app/analytics").text
    acceptance = client.get("/app/analytics/acceptance.csv?days=7")
    assert acceptance.status_code == 200 and acceptance.mimetype == "text/csv"
    assert 'filename="carebridge-acceptance-7d.csv"' in acceptance.headers["Content-Disposition"]
    lines = acceptance.text.splitlines()
    assert lines[0] == "facility,sent,answered,accepted,declined"
    assert sorted(lines[1:]) == sorted(f"{snf.name},1,0,0,0" for snf in web_case.case.snfs)
    weeks = client.get("/app/analytics/weeks.csv").text.splitlines()
    assert weeks[0].startswith("week_start,referrals,median_hours_to_first_answer")
    assert weeks[-1] == "2026-03-09,1,,,0,0"
    assert client.get("/app/analytics/nothing.csv").status_code == 404
    client.post("/app/signout", data={"csrf_token": csrf_of(client.get("/app/analytics").text)})
    sign_in(client, web_case.intakes[0].username)
    assert client.get("/app/analytics/acceptance.csv").status_code == 403  # a facility has no hospital analytics
