"""Placement analytics page for a hospital: response times, acceptance, avoidable days, overdue work."""

from __future__ import annotations

from flask import render_template, request

from service import clock
from service.app import request_session
from service.limits import ascii_int
from service.usecases.analytics import placement_analytics
from service.web.blueprint import blueprint
from service.web.charts import bar_chart
from service.web.session import current_user, requires

WINDOWS = (7, 30, 90)


@blueprint.get("/analytics")
@requires("Encounter", "u")
def analytics() -> str:
    days = ascii_int(request.args.get("days"))
    window = days if days in WINDOWS else 30
    report = placement_analytics(request_session(), current_user().organization_id, now=clock.now(), days=window)
    charts = {
        # Of referrals sent, not of those answered: a facility that answers 4 of 14 must not show 100 %.
        "acceptance": bar_chart(
            "Accepted of referrals sent, per facility",
            [(f"{f.name} ({f.accepted} of {f.sent})", 100 * f.accepted / f.sent) for f in report.facilities if f.sent],
            unit=" %",
        ),
        "avoidable": bar_chart("Avoidable days per unit", [(u, float(n)) for u, n in report.avoidable_days_by_unit]),
        "overdue": bar_chart("Overdue handoffs by owner", [(o, float(n)) for o, n in report.overdue_by_owner]),
    }
    return render_template("analytics.html", report=report, charts=charts, window=window, windows=WINDOWS)
