"""Patient matches to review: partner Patients held because they would not match on their own
(`service.sync.identity`), shown next to the patient they would have matched, to accept or reject.
Hospital staff review the Patients of their own organisation's partners."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from sqlalchemy import Connection, Engine
from werkzeug.wrappers import Response

import fhir_mappings as fm
from service.app import request_session
from service.models import Patient
from service.sync import matches
from service.web.blueprint import blueprint
from service.web.session import principal, requires


@blueprint.get("/matches")
@requires("Patient", "u")  # deciding which record a partner's patient is: hospital staff
def patient_matches() -> str:
    db = request_session()
    rows = matches.open_for_organization(db, str(principal().organization_id))
    theirs = {row.id: fm.from_fhir_patient(row.remote_json) for row, _ in rows}
    ours = {row.id: db.get(Patient, row.patient_id) if row.patient_id else None for row, _ in rows}
    return render_template("matches.html", rows=rows, theirs=theirs, ours=ours)


@blueprint.post("/matches/<int:match_id>")
@requires("Patient", "u")  # deciding which record a partner's patient is: hospital staff
def decide_match(match_id: int) -> Response:
    decision = request.form.get("decision")
    db = request_session()
    mine = {row.id for row, _ in matches.open_for_organization(db, str(principal().organization_id))}
    if decision not in ("accept", "reject") or match_id not in mine:
        abort(404)
    actor, bind = principal().actor, db.get_bind()
    assert isinstance(bind, Engine | Connection)
    # The decision runs in a transaction of its own (all of it or nothing); end this request's
    # first, so that on SQLite its write lock is free for it.
    db.commit()
    matches.decide(bind, match_id, decision, actor=actor)
    return redirect(url_for("web.patient_matches"))
