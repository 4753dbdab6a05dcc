"""Partner FHIR searches at 10,000 and 100,000 Tasks on PostgreSQL, end to end through the API.

Each request goes through everything a partner's does: bearer token verification, scope check,
tenancy filter, the search with its total, rendering with fhir_mappings, and the access audit.
Data: per patient one stay, one case plan, one SNF-placement referral sent to 3 of 20 SNFs
(3 Tasks with focus = the referral) and 2 more handoffs (transport, follow-up call) = 5 Tasks.

Printed: p50/p95 per search at both sizes and the p95 ratio 100k / 10k. Searches page by keyset,
so the ratio should stay near 1 (cost in proportion to the page, not to the data); aim <= 2.

    .venv/bin/python bench/fhir_search.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--runs 100]
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from support import DEFAULT_PG, add_organizations, bulk_load, p50_p95, print_growth, scratch_database

from service.app import create_app
from service.auth import registry
from service.auth.scopes import parse_scopes
from service.auth.tokens import issue_access_token
from service.config import Settings
from service.db import make_session_factory
from service.models.clients import PartnerClient

NOW = datetime.now(UTC)
SNFS = 20
TASKS_PER_PATIENT = 5
UNITS = ("4 West", "5 East", "ICU", "Cardiac step-down", "Ortho")  # the hospital's wards, BEDS beds each
BEDS = 30
STATUSES = ("requested", "received", "accepted", "rejected", "cancelled")
PUBLIC_JWKS = {
    "keys": [
        {
            "kty": "EC",
            "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
            "kid": "bench",
        }
    ]
}


def _orgs(engine: Engine) -> dict[str, Any]:
    hospital, payer, *snfs = add_organizations(engine, ["hospital", "payer"] + ["snf"] * SNFS)
    return {"hospital": hospital, "payer": payer, "snfs": snfs}


def load(engine: Engine, patients: int, orgs: dict[str, Any], rng: random.Random) -> list[str]:
    """COPY `patients` patients with their stay, plan, referral and 5 Tasks; returns patient ids."""
    hospital, payer, snfs = orgs["hospital"], orgs["payer"], orgs["snfs"]
    ids = [[str(uuid.uuid4()) for _ in range(4)] for _ in range(patients)]  # patient, stay, plan, referral
    with bulk_load(engine) as cur:
        with cur.copy("COPY patients (id, family_name, given_name, payer_id, created_at, updated_at) FROM STDIN") as cp:
            for n, (pid, _, _, _) in enumerate(ids):
                cp.write_row((pid, f"Family{n}", "Given", payer, NOW, NOW))
        with cur.copy(
            "COPY stays (id, patient_id, hospital_id, status, admitted_at, unit, bed, created_at, updated_at) "
            "FROM STDIN"
        ) as cp:
            for pid, sid, _, _ in ids:
                unit, bed = rng.choice(UNITS), str(rng.randrange(1, BEDS + 1))
                cp.write_row((sid, pid, hospital, "in-progress", NOW - timedelta(days=2), unit, bed, NOW, NOW))
        with cur.copy(
            "COPY case_plans (id, patient_id, stay_id, status, intent, categories, title, addresses, notes, version, "
            "created_at, updated_at) FROM STDIN"
        ) as cp:
            for pid, sid, plan, _ in ids:
                cp.write_row(
                    (plan, pid, sid, "active", "plan", '["assess-plan"]', "Discharge plan", "[]", "[]", 1, NOW, NOW)
                )
        with cur.copy(
            "COPY referrals (id, patient_id, stay_id, case_plan_id, service, priority, status, intent, requester_ref, "
            "authored_on, notes, version, updated_at) FROM STDIN"
        ) as cp:
            for pid, sid, plan, ref in ids:
                cp.write_row(
                    (
                        ref,
                        pid,
                        sid,
                        plan,
                        "snf_placement",
                        "routine",
                        "active",
                        "order",
                        f"Organization/{hospital}",
                        NOW,
                        "[]",
                        1,
                        NOW,
                    )
                )
        with cur.copy(
            "COPY handoffs (id, patient_id, stay_id, referral_id, kind, owner_org_id, requester_org_id, status, "
            "due_at, authored_on, status_changed_at, notes, version, updated_at) FROM STDIN"
        ) as cp:
            for pid, sid, _, ref in ids:
                for k, snf in enumerate(rng.sample(snfs, 3)):
                    cp.write_row(
                        (
                            str(uuid.uuid4()),
                            pid,
                            sid,
                            ref,
                            "referral_decision",
                            snf,
                            hospital,
                            STATUSES[rng.randrange(5)],
                            NOW + timedelta(hours=k),
                            NOW,
                            NOW,
                            "[]",
                            1,
                            NOW,
                        )
                    )
                for kind in ("transport", "followup_call_48h"):
                    cp.write_row(
                        (
                            str(uuid.uuid4()),
                            pid,
                            sid,
                            None,
                            kind,
                            hospital,
                            hospital,
                            "requested",
                            NOW + timedelta(days=1),
                            NOW,
                            NOW,
                            "[]",
                            1,
                            NOW,
                        )
                    )
    return [p[0] for p in ids]


def token(session: Session, settings: Settings, org: str, scope: str) -> str:
    client = registry.register_client(session, name="bench", scopes=scope, organization_id=org, jwks=PUBLIC_JWKS)
    row = session.get(PartnerClient, client.client_id)
    assert row is not None
    issued, _ = issue_access_token(session, settings, row, parse_scopes(scope))
    return issued


def searches(
    client: Any, tokens: dict[str, str], orgs: dict[str, Any], patients: list[str]
) -> dict[str, Callable[[], Any]]:
    rng = random.Random(7)

    def get(who: str, path: str, params: Callable[[], dict[str, str]]) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(path, query_string=params(), headers={"Authorization": f"Bearer {tokens[who]}"})
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
            return response

        return call

    snf = orgs["snfs"][0]
    return {
        "Task?owner=..&status=..": get(
            "snf", "/fhir/R4/Task", lambda: {"owner": f"Organization/{snf}", "status": "requested"}
        ),
        "Task?patient=..": get("hospital", "/fhir/R4/Task", lambda: {"patient": rng.choice(patients)}),
        "CarePlan?patient=..": get("hospital", "/fhir/R4/CarePlan", lambda: {"patient": rng.choice(patients)}),
        "ServiceRequest?_revinclude=Task:focus": get(
            "snf", "/fhir/R4/ServiceRequest", lambda: {"_revinclude": "Task:focus", "_count": "20"}
        ),
        # US Core 6.1 server searches (https://hl7.org/fhir/us/core/STU6.1/CapabilityStatement-us-core-server.html).
        "Patient?name=..": get(
            "hospital", "/fhir/R4/Patient", lambda: {"name": f"family{rng.randrange(len(patients))}"}
        ),
        "Patient?identifier=..": get("hospital", "/fhir/R4/Patient", lambda: {"identifier": f"urn:x|{rng.random()}"}),
        "Encounter?patient=..&date=ge..": get(
            "hospital", "/fhir/R4/Encounter", lambda: {"patient": rng.choice(patients), "date": "ge2020-01-01"}
        ),
        "ServiceRequest?patient=..&code=..": get(
            "hospital", "/fhir/R4/ServiceRequest", lambda: {"patient": rng.choice(patients), "code": "snf_placement"}
        ),
        "Task?patient=..&_summary=count": get(
            "hospital", "/fhir/R4/Task", lambda: {"patient": rng.choice(patients), "_summary": "count"}
        ),
        "Location?name=..": get("hospital", "/fhir/R4/Location", lambda: {"name": rng.choice(UNITS)}),
        "Organization?name=..": get("hospital", "/fhir/R4/Organization", lambda: {"name": "Bench"}),
        "Task?status=..&_sort=-_lastUpdated": get(
            "hospital", "/fhir/R4/Task", lambda: {"status": "requested", "_sort": "-_lastUpdated"}
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    with scratch_database(args.pg) as (url, engine):
        settings = Settings(database_url=url, celery_eager=True)
        factory = make_session_factory(engine)
        app = create_app(settings, session_factory=factory)
        orgs = _orgs(engine)
        with factory() as session:
            tokens = {
                "snf": token(session, settings, orgs["snfs"][0], "system/Task.rs system/ServiceRequest.rs"),
                "hospital": token(session, settings, orgs["hospital"], "system/*.rs"),
            }
        rng = random.Random(42)
        patients: list[str] = []
        results: dict[int, dict[str, tuple[float, float]]] = {}
        for size in (10_000, 100_000):
            t0 = time.perf_counter()
            patients += load(engine, (size - len(patients) * TASKS_PER_PATIENT) // TASKS_PER_PATIENT, orgs, rng)
            print(f"loaded {size:,} Tasks ({len(patients):,} patients) in {time.perf_counter() - t0:.1f}s")
            # Tokens live 300 s; a fresh pair per size keeps the run independent of load time.
            with factory() as session:
                tokens["snf"] = token(session, settings, orgs["snfs"][0], "system/Task.rs system/ServiceRequest.rs")
                tokens["hospital"] = token(session, settings, orgs["hospital"], "system/*.rs")
            calls = searches(app.test_client(), tokens, orgs, patients)
            results[size] = {label: p50_p95(call, args.runs) for label, call in calls.items()}
        print_growth("search", results[10_000], results[100_000])


if __name__ == "__main__":
    main()
