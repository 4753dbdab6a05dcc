"""A receiving organisation's queue: referrals and other handoffs addressed to it, to accept or decline."""

from __future__ import annotations

from flask import render_template, request, url_for
from sqlalchemy import select

from service import clock
from service.app import request_session
from service.models import Patient, Referral, Stay
from service.usecases import access
from service.usecases.handoffs import owner_queue
from service.usecases.referrals import PLACEMENT_CONFIRMED
from service.web.blueprint import blueprint
from service.web.handoff_actions import BUSINESS_STATUSES, actions_for
from service.web.session import principal, requires


@blueprint.get("/queue")
@requires("Task", "s")
def queue() -> str:
    db, ctx = request_session(), principal()
    org_id = str(ctx.organization_id)
    include_closed = request.args.get("closed") == "1"
    items = owner_queue(db, org_id, include_closed=include_closed, ctx=ctx)
    access.listed(ctx, "Task", [h.patient_id for h in items])
    patients = {p.id: p for p in db.scalars(select(Patient).where(Patient.id.in_({h.patient_id for h in items})))}
    referral_ids = {h.referral_id for h in items if h.referral_id}
    referral_by_id = {r.id: r for r in db.scalars(select(Referral).where(Referral.id.in_(referral_ids)))}
    stay_ids = {h.stay_id for h in items if h.stay_id}
    stays = {s.id: s for s in db.scalars(select(Stay).where(Stay.id.in_(stay_ids)))}
    return render_template(
        "queue.html",
        items=items,
        patients=patients,
        referrals=referral_by_id,
        stays=stays,
        placement_confirmed=PLACEMENT_CONFIRMED,
        include_closed=include_closed,
        # where actions return to (also when this page is shown again for a refused action)
        back=url_for("web.queue", closed=1) if include_closed else url_for("web.queue"),
        actions_for=lambda handoff: actions_for(handoff, org_id),
        business_statuses=BUSINESS_STATUSES,
        now=clock.now(),
    )
