"""One renderer: what carebridge pushes to a partner is what its own FHIR API serves for the record.

For every pushed type (CarePlan, Goal, ServiceRequest, Task) the partner's stored copy, read back
from the peer, equals carebridge's FHIR API read apart from what the push must change for the
partner: ``id`` and ``meta`` (the partner's server sets them), carebridge's business identifier
(added so a create is conditional), and references to carebridge records (the partner's own id when
it has the record, else a logical reference by carebridge's identifier).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fhir_mappings.codes import CAREBRIDGE_IDENTIFIER
from service.models import Partner, PartnerLink
from service.sync import engine
from service.sync.connection import Connections
from service.usecases import plans, referrals
from tests.factories import Case
from tests.peers import PeerSite
from tests.service.fhir_api.fixtures import make_partner, mint, rsa_key, settings  # noqa: F401
from tests.service.fhir_api.support import bearer

pytestmark = pytest.mark.integration


def _in_carebridge_terms(node: Any, carebridge_ids: dict[tuple[str, str], str]) -> Any:
    """Undo the push's reference rewriting, written out independently of the code under test."""
    if isinstance(node, list):
        return [_in_carebridge_terms(item, carebridge_ids) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _in_carebridge_terms(value, carebridge_ids) for key, value in node.items()}
    ref = out.get("reference")
    if isinstance(ref, str) and ref.count("/") == 1:
        rtype, remote_id = ref.split("/")
        out["reference"] = f"{rtype}/{carebridge_ids.get((rtype, remote_id), remote_id)}"
    logical = out.get("identifier")
    if "type" in out and isinstance(logical, dict) and str(logical.get("system", "")).startswith(CAREBRIDGE_IDENTIFIER):
        out = {"reference": f"{out['type']}/{logical['value']}"}
    return out


def test_pushed_body_equals_the_fhir_api_read_for_every_pushed_type(
    session: Session,
    case: Case,
    client: Any,
    mint: Callable[..., str],  # noqa: F811
    ehr_site: PeerSite,
    register_partner: Callable[..., Partner],
    connections: Connections,
) -> None:
    partner = register_partner(ehr_site, "ehr-one-renderer", case.hospital.id)
    plan = plans.create_case_plan(
        session, patient_id=case.patient.id, title="Safe discharge", actor="planner", stay_id=case.stay.id
    )
    plans.add_goal(session, plan.id, description="Walk 50 ft", actor="planner")
    referrals.send_referral(
        session,
        patient_id=case.patient.id,
        service="snf_placement",
        recipient_org_ids=[case.snfs[0].id],
        requester_org_id=case.hospital.id,
        case_plan_id=plan.id,
        stay_id=case.stay.id,
        actor="planner",
    )
    assert engine.push(session, partner, connections)["done:created"] == 4

    links = session.scalars(select(PartnerLink).where(PartnerLink.partner_id == partner.id)).all()
    assert sorted(link.resource_type for link in links) == ["CarePlan", "Goal", "ServiceRequest", "Task"]
    carebridge_ids = {(link.resource_type, link.remote_id): link.entity_id for link in links}
    token = mint(case.hospital.id, "system/*.rs")
    with connections.client(partner) as fhir:
        for link in links:
            read = client.get(f"/fhir/R4/{link.resource_type}/{link.entity_id}", headers=bearer(token))
            assert read.status_code == 200
            ours = {k: v for k, v in read.get_json().items() if k not in ("id", "meta")}

            theirs = fhir.read(link.resource_type, link.remote_id)
            pushed = {k: v for k, v in theirs.items() if k not in ("id", "meta")}
            own = f"{CAREBRIDGE_IDENTIFIER}{link.resource_type.lower()}"
            assert {"system": own, "value": link.entity_id} in pushed["identifier"]
            identifiers = [i for i in pushed.pop("identifier") if i.get("system") != own]
            if identifiers:
                pushed["identifier"] = identifiers

            assert _in_carebridge_terms(pushed, carebridge_ids) == ours, link.resource_type


def test_a_facility_partner_receives_a_referral_naming_only_itself_as_its_api_reads_it(
    session: Session, case: Case, client: Any, mint: Callable[..., str], ehr_site: PeerSite,  # noqa: F811
    register_partner: Callable[..., Partner], connections: Connections,
) -> None:  # fmt: skip
    snf, other = case.snfs[:2]
    partner = register_partner(ehr_site, "snf-intake-system", snf.id, push_types=["ServiceRequest"])
    referral = referrals.send_referral(
        session, patient_id=case.patient.id, service="snf_placement", recipient_org_ids=[snf.id, other.id],
        requester_org_id=case.hospital.id, stay_id=case.stay.id, actor="planner",
    )  # fmt: skip
    assert engine.push(session, partner, connections)["done:created"] == 1

    [link] = session.scalars(select(PartnerLink).where(PartnerLink.partner_id == partner.id)).all()
    with connections.client(partner) as fhir:
        pushed = fhir.read("ServiceRequest", link.remote_id)
    read = client.get(f"/fhir/R4/ServiceRequest/{referral.id}", headers=bearer(mint(snf.id, "system/*.rs")))
    # Not the other facility the patient was sent to, by push as by read (the push names the
    # organisation by carebridge's identifier: the partner has no record of it).
    ours = [{"reference": f"Organization/{snf.id}"}]
    assert _in_carebridge_terms(pushed["performer"], {}) == read.get_json()["performer"] == ours
