"""`carebridge partners` and `carebridge sync` on their own SQLite database (the CLI commits)."""

from __future__ import annotations

import os
from datetime import date

from click.testing import CliRunner
from sqlalchemy import select

from service import clock
from service.cli import main
from service.db import make_engine, make_session_factory
from service.models import CasePlan, Delivery, PartnerLink, Patient, PatientMatch
from service.sync import errors
from service.usecases import patients, plans
from service.usecases.partners import get_partner


def test_partners_add_list_show_and_sync_status(cli_db: str) -> None:
    runner = CliRunner()
    add = [
        "partners", "add", "general-ehr", "--kind", "ehr", "--organization", cli_db,
        "--fhir-base", "http://127.0.0.1:8081/fhir/R4", "--client-id", "carebridge", "--key-kid", "k1",
        "--scopes", "system/*.cruds", "--pull", "Patient,Encounter,Task",
    ]  # fmt: skip
    assert runner.invoke(main, add).exit_code == 0

    duplicate = runner.invoke(main, add)
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    listed = runner.invoke(main, ["partners", "list"])
    assert "general-ehr\tehr\thttp://127.0.0.1:8081/fhir/R4" in listed.output
    shown = runner.invoke(main, ["partners", "show", "general-ehr"])
    assert "Encounter" in shown.output and "push: unknown" in shown.output  # capabilities not read yet
    status = runner.invoke(main, ["sync", "status"])
    assert status.exit_code == 0 and "general-ehr (ehr" in status.output
    assert "0 deliveries queued again" in runner.invoke(main, ["sync", "retry-dead"]).output


def test_unknown_types_are_refused_with_the_choices(cli_db: str) -> None:
    result = CliRunner().invoke(
        main,
        ["partners", "add", "x", "--kind", "payer", "--organization", cli_db, "--fhir-base", "http://127.0.0.1:1/fhir",
         "--client-id", "c", "--key-kid", "k", "--scopes", "s", "--push", "Encounter"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "push_types" in result.output and "ServiceRequest" in result.output


def _add(runner: CliRunner, org_id: str, name: str = "general-ehr") -> None:
    add = [
        "partners", "add", name, "--kind", "ehr", "--organization", org_id,
        "--fhir-base", "http://127.0.0.1:8081/fhir/R4", "--client-id", "carebridge", "--key-kid", "k1",
        "--scopes", "system/*.rs", "--pull", "Patient", "--trusted-identifier-system", "urn:example:mrn",
    ]  # fmt: skip
    assert runner.invoke(main, add).exit_code == 0


def test_partners_update_and_remove(cli_db: str) -> None:
    runner = CliRunner()
    _add(runner, cli_db)

    updated = runner.invoke(
        main, ["partners", "update", "general-ehr", "--scopes", "system/*.cruds", "--trusted-identifier-system",
               "urn:oid:1.2.3", "--trusted-identifier-system", "urn:example:mrn"],
    )  # fmt: skip
    assert updated.exit_code == 0, updated.output
    shown = runner.invoke(main, ["partners", "show", "general-ehr"]).output
    assert "system/*.cruds" in shown and "urn:oid:1.2.3, urn:example:mrn" in shown
    assert "last pull: never" in shown and "pull errors: 0 resources not applied" in shown
    refused = runner.invoke(main, ["partners", "update", "general-ehr", "--trusted-identifier-system", "mrn"])
    assert refused.exit_code == 1 and "not an absolute URI: mrn" in refused.output

    engine = make_engine(os.environ["DATABASE_URL"])
    with make_session_factory(engine)() as session:
        partner = get_partner(session, "general-ehr")
        session.add(Delivery(partner_id=partner.id, entity_type="CasePlan", entity_id="p1", resource_type="CarePlan",
                             state="pending", due_at=clock.now(), created_at=clock.now(), updated_at=clock.now()))
        session.commit()  # fmt: skip
    engine.dispose()
    kept = runner.invoke(main, ["partners", "remove", "general-ehr"])
    assert kept.exit_code == 1 and "still has queued deliveries (1 pending)" in kept.output
    removed = runner.invoke(main, ["partners", "remove", "general-ehr", "--drop-queued"])
    assert removed.exit_code == 0 and "dropped queued deliveries: 1 pending" in removed.output
    assert "general-ehr" not in runner.invoke(main, ["partners", "list"]).output


def test_sync_errors_and_patient_matches(cli_db: str) -> None:
    runner = CliRunner()
    _add(runner, cli_db)
    engine = make_engine(os.environ["DATABASE_URL"])
    with make_session_factory(engine)() as session:
        partner = get_partner(session, "general-ehr")
        errors.record(session, partner.id, "Patient", "p9", "Patient: family_name is longer than 100 characters (150)")
        errors.record(session, partner.id, "Patient", "p9", "Patient: family_name is longer than 100 characters (150)")
        known = patients.register_patient(
            session, family_name="Anders", given_name="Agnes", actor="test",
            identifiers=[{"kind": "mrn", "system": "urn:example:mrn", "value": "MRN-1"}],
        )  # fmt: skip
        resource = {"resourceType": "Patient", "id": "p7", "name": [{"family": "Intruder", "given": ["Ivo"]}],
                    "identifier": [{"system": "urn:example:mrn", "value": "MRN-1"}]}  # fmt: skip
        for remote_id in ("p7", "p8"):
            session.add(PatientMatch(
                partner_id=partner.id, remote_id=remote_id, remote_json={**resource, "id": remote_id},
                patient_id=known.id, reason="family name and given name differ", state="open", created_at=clock.now(),
            ))  # fmt: skip
        session.commit()
    listed = runner.invoke(main, ["sync", "errors", "--partner", "general-ehr"]).output
    assert "Patient/p9" in listed and "2x" in listed and "longer than 100 characters" in listed
    assert "1 sync errors cleared" in runner.invoke(main, ["sync", "errors", "--clear"]).output
    assert "no sync errors" in runner.invoke(main, ["sync", "errors"]).output

    queue = runner.invoke(main, ["sync", "matches", "list"]).output
    assert "general-ehr Patient/p7" in queue and "family name and given name differ" in queue
    first, second = (line.split("\t")[0].lstrip("#") for line in queue.splitlines())
    assert "rejected" in runner.invoke(main, ["sync", "matches", "reject", first]).output
    assert "accepted" in runner.invoke(main, ["sync", "matches", "accept", second]).output
    with make_session_factory(engine)() as session:
        links = {link.remote_id: link.entity_id for link in session.scalars(select(PartnerLink))}
        assert links["p8"] == known.id and links["p7"] != known.id
        assert session.get_one(Patient, known.id).family_name == "Intruder"  # accepted: the partner's name
        stranger = session.get_one(Patient, links["p7"])
        assert stranger.family_name == "Intruder" and stranger.identifiers[0].value != "MRN-1"
    engine.dispose()
    assert "no patient matches to review" in runner.invoke(main, ["sync", "matches", "list"]).output


def test_sync_conflict_shows_base_ours_theirs_and_resolve_settles_element_by_element(cli_db: str) -> None:
    runner = CliRunner()
    _add(runner, cli_db)
    engine = make_engine(os.environ["DATABASE_URL"])
    with make_session_factory(engine)() as session:
        partner = get_partner(session, "general-ehr")
        patient = patients.register_patient(session, family_name="Anders", given_name="Agnes", actor="test")
        plan = plans.create_case_plan(session, patient_id=patient.id, title="Home", actor="test")
        base = {"resourceType": "CarePlan", "id": "r1", "status": "active", "intent": "plan",
                "title": "Home", "description": "Discharge home"}  # fmt: skip
        theirs = {**base, "meta": {"versionId": "3"}, "title": "EHR title", "description": "EHR text",
                  "note": [{"text": "EHR note"}]}  # fmt: skip
        ours = {**base, "title": "cb title", "description": "cb text", "period": {"end": "2026-05-01"}}
        session.add(PartnerLink(partner_id=partner.id, entity_type="CasePlan", entity_id=plan.id,
                                resource_type="CarePlan", remote_id="r1", remote_version="1", remote_json=base,
                                updated_at=clock.now()))  # fmt: skip
        row = Delivery(
            partner_id=partner.id, entity_type="CasePlan", entity_id=plan.id, resource_type="CarePlan",
            state="conflict", error="both sides changed description, title", base=base, ours=ours, theirs=theirs,
            due_at=clock.now(), created_at=clock.now(), updated_at=clock.now(),
        )  # fmt: skip
        session.add(row)
        session.commit()
        row_id, plan_id = row.id, plan.id

    shown = runner.invoke(main, ["sync", "conflict", str(row_id)]).output
    assert "=== description\n--- base: \"Discharge home\"\n--- ours (carebridge): \"cb text\"\n" in shown
    assert '=== title\n--- base: "Home"\n--- ours (carebridge): "cb title"\n--- theirs (partner): "EHR title"' in shown
    assert runner.invoke(main, ["sync", "resolve", str(row_id)]).exit_code == 2  # neither --take nor --value
    bad = runner.invoke(main, ["sync", "resolve", str(row_id), "--element", "period", "--take", "ours"])
    assert bad.exit_code == 1 and "period is not in conflict" in bad.output

    one = runner.invoke(main, ["sync", "resolve", str(row_id), "--element", "title", "--value", '"Agreed title"'])
    assert one.output.strip() == f"delivery #{row_id} is conflict"
    assert "=== title (resolved)" in runner.invoke(main, ["sync", "conflict", str(row_id)]).output
    rest = runner.invoke(main, ["sync", "resolve", str(row_id), "--take", "theirs"])
    assert rest.output.strip() == f"delivery #{row_id} is pending"

    with make_session_factory(engine)() as session:
        settled = session.get_one(CasePlan, plan_id)
        assert (settled.title, settled.description, settled.notes) == ("Agreed title", "EHR text", ["EHR note"])
        assert settled.period_end == date(2026, 5, 1)  # carebridge's own other change stays
        link = session.scalars(select(PartnerLink).where(PartnerLink.entity_id == plan_id)).one()
        assert link.remote_version == "3"  # the next push goes over the partner's version
    engine.dispose()
