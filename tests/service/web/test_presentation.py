"""Pure pieces of the pages: time-zone formatting, SVG charts, which handoff moves are offered."""

from __future__ import annotations

from datetime import UTC, date, datetime

from service import clock
from service.models import Handoff
from service.web.charts import bar_chart
from service.web.formatting import day, humanize, local_input, parse_local, user_zone, when
from service.web.handoff_actions import actions_for

NY = user_zone("America/New_York")


def test_times_are_shown_in_the_users_zone_with_the_zone_named(now: datetime) -> None:
    moment = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    assert when(moment, NY) == '<time datetime="2026-03-10T09:00:00+00:00">Tue 10 Mar 05:00 EDT</time>'
    assert when(datetime(2026, 1, 10, 9, 0, tzinfo=UTC), NY).endswith("04:00 EST</time>")
    assert local_input(moment, NY) == "2026-03-10T05:00"
    assert parse_local("2026-03-10T05:00", NY) == moment
    assert user_zone("Not/AZone").key == "UTC"
    assert day(date(1944, 2, 1), with_year=True) == '<time datetime="1944-02-01">01 Feb 1944</time>'


def test_charts_are_svg_with_a_title_and_every_value_written_out() -> None:
    svg = str(bar_chart("Avoidable days per unit", [("4 West", 3.0), ("5 <East>", 0.0)]))
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert "<title id=" in svg and "Avoidable days per unit" in svg
    assert ">3</text>" in svg and ">0</text>" in svg
    assert "5 &lt;East&gt;" in svg  # labels are escaped
    assert "no data yet" in str(bar_chart("Empty", []))


def test_each_side_is_offered_only_its_own_moves() -> None:
    handoff = Handoff(status="requested", owner_org_id="snf", requester_org_id="hospital")
    assert [a.target for a in actions_for(handoff, "snf")] == ["received", "accepted", "rejected", "cancelled"]
    assert [a.target for a in actions_for(handoff, "hospital")] == ["cancelled"]
    assert actions_for(handoff, "elsewhere") == []
    closed = Handoff(status="completed", owner_org_id="snf", requester_org_id="hospital")
    assert actions_for(closed, "snf") == []
    declining = next(a for a in actions_for(handoff, "snf") if a.target == "rejected")
    assert declining.needs_reason and declining.label == "Decline"



def test_a_facility_deciding_on_a_referral_is_offered_intake_words() -> None:
    deciding = Handoff(kind="referral_decision", status="requested", owner_org_id="snf", requester_org_id="hospital")
    offered = actions_for(deciding, "snf")
    assert [(a.label, a.business_status) for a in offered] == [
        ("Accept — bed offered", "bed offered"),
        ("Decline", None),
    ]
    assert [a.label for a in actions_for(deciding, "hospital")] == ["Withdraw the referral"]
    accepted = Handoff(kind="referral_decision", status="accepted", owner_org_id="snf", requester_org_id="hospital")
    # Start, hold, complete and fail are not the facility's to say: the patient's arrival completes it.
    assert [(a.label, a.needs_reason) for a in actions_for(accepted, "snf")] == [("Withdraw the bed offer", True)]


def test_an_organisations_own_work_is_taken_on_not_accepted_or_declined() -> None:
    own = Handoff(kind="transport", status="requested", owner_org_id="hospital", requester_org_id="hospital")
    assert [(a.target, a.label) for a in actions_for(own, "hospital")] == [
        ("accepted", "Take it on"),
        ("cancelled", "Cancel"),
    ]


def test_codes_are_shown_in_words() -> None:
    assert humanize("snf_placement") == "Skilled nursing facility placement"
    assert humanize("pcp_visit_7d") == "Primary care visit within 7 days"
    assert humanize("transport", "readiness") == "Transport arranged"
    assert humanize("post_acute_bed", "barrier") == "Post-acute bed"
    assert humanize("intake_coordinator", "role") == "Intake coordinator"
    assert humanize("home_health", "disposition") == "Home with home health services"
    assert humanize("something_new") == "Something new"  # unknown codes still readable
    assert humanize(None) == ""


def test_dates_carry_the_year_when_it_is_not_this_one() -> None:
    with clock.frozen_at(datetime(2026, 12, 5, 21, 0, tzinfo=UTC)):
        assert day(date(2026, 12, 7)) == '<time datetime="2026-12-07">Mon 07 Dec</time>'
        assert day(date(2027, 6, 1)) == '<time datetime="2027-06-01">Tue 01 Jun 2027</time>'
        assert "Tue 01 Jun 2027 08:00 EDT" in when(datetime(2027, 6, 1, 12, 0, tzinfo=UTC), NY)
        assert "Sat 05 Dec 16:00 EST" in when(datetime(2026, 12, 5, 21, 0, tzinfo=UTC), NY)
