"""Pure pieces of the pages: time-zone formatting, SVG charts, which handoff moves are offered."""

from __future__ import annotations

from datetime import UTC, date, datetime

from service.models import Handoff
from service.web.charts import bar_chart
from service.web.formatting import day, local_input, parse_local, user_zone, when
from service.web.handoff_actions import actions_for

NY = user_zone("America/New_York")


def test_times_are_shown_in_the_users_zone_with_the_zone_named() -> None:
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
