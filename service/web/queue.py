"""A receiving organisation's queue: referrals and other handoffs addressed to it, to accept or decline."""

from __future__ import annotations

from flask import render_template, request, url_for

from service import clock
from service.app import request_session
from service.domain.referral_loop import PLACEMENT_CONFIRMED
from service.usecases import access, documents
from service.usecases.queue_view import load_queue
from service.web.blueprint import blueprint
from service.web.handoff_actions import BUSINESS_STATUSES, actions_for, may_ask_for_information
from service.web.session import principal, requires


@blueprint.get("/queue")
@requires("Task", "s")
def queue() -> str:
    ctx = principal()
    org_id = str(ctx.organization_id)
    include_closed = request.args.get("closed") == "1"
    view = load_queue(request_session(), org_id, ctx=ctx, include_closed=include_closed)
    access.listed(ctx, "Task", [h.patient_id for h in view.handoffs])
    return render_template(
        "queue.html",
        view=view,
        items=view.handoffs,
        patients=view.patients,
        referrals=view.referrals,
        stays=view.stays,
        documents=documents.of_referrals(request_session(), ctx, sorted(view.referrals)),
        document_types=documents.document_types(),
        placement_confirmed=PLACEMENT_CONFIRMED,
        include_closed=include_closed,
        # where actions return to (also when this page is shown again for a refused action)
        back=url_for("web.queue", closed=1) if include_closed else url_for("web.queue"),
        actions_for=lambda handoff: actions_for(handoff, org_id),
        may_ask=lambda handoff: may_ask_for_information(handoff, org_id),
        business_statuses=BUSINESS_STATUSES,
        now=clock.now(),
    )
