"""Placement analytics page for a hospital: response times, acceptance, avoidable days, overdue work,
weekly trends; each chart's figures downloadable as CSV (same access as the page)."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, render_template, request

from service import clock
from service.app import request_session
from service.limits import ascii_int
from service.usecases.analytics import Placement, placement_analytics
from service.web.blueprint import blueprint
from service.web.charts import bar_chart
from service.web.session import current_user, requires

WINDOWS = (7, 30, 90)


def _report() -> tuple[Placement, int]:
    days = ascii_int(request.args.get("days"))
    window = days if days in WINDOWS else 30
    return placement_analytics(request_session(), current_user().organization_id, now=clock.now(), days=window), window


def _hours(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def chart_rows(report: Placement, chart: str) -> list[list[object]] | None:
    """A chart's figures as CSV rows, header first (None: no such chart)."""
    if chart == "acceptance":
        header: list[object] = ["facility", "sent", "answered", "accepted", "declined"]
        return [header, *([f.name, f.sent, f.answered, f.accepted, f.declined] for f in report.facilities)]
    if chart == "avoidable":
        return [["unit", "avoidable_days"], *([u, n] for u, n in report.avoidable_days_by_unit)]
    if chart == "overdue":
        return [["owner", "overdue_handoffs"], *([o, n] for o, n in report.overdue_by_owner)]
    if chart == "weeks":
        columns: list[object] = ["week_start", "referrals", "median_hours_to_first_answer",
                                 "median_hours_to_acceptance", "discharges", "avoidable_days"]
        return [columns] + [
            [w.week_start.isoformat(), w.referrals, _hours(w.hours_to_first_answer), _hours(w.hours_to_acceptance),
             w.discharges, w.avoidable_days]
            for w in report.weeks
        ]
    return None


@blueprint.get("/analytics")
@requires("Encounter", "u")
def analytics() -> str:
    report, window = _report()
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


@blueprint.get("/analytics/<chart>.csv")
@requires("Encounter", "u")
def analytics_csv(chart: str) -> Response:
    report, window = _report()
    rows = chart_rows(report, chart)
    if rows is None:
        abort(404)
    out = io.StringIO()
    csv.writer(out).writerows([[_cell(value) for value in row] for row in rows])
    disposition = f'attachment; filename="carebridge-{chart}-{window}d.csv"'
    return Response(out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": disposition})


def _cell(value: object) -> object:
    """A name a spreadsheet would run as a formula is kept as text (OWASP "CSV injection")."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value
