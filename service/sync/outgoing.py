"""carebridge records as the FHIR JSON one partner receives.

The record is rendered by `service.fhir_bridge.render`, the one renderer the FHIR API and the bulk
export use too (a record imported from a partner starts from its `source`, so nothing the partner
sent is lost). Besides ``id`` and ``meta.versionId``/``meta.lastUpdated`` (the partner's server
sets them), two things are partner-specific:
- every resource carries carebridge's business identifier, which makes a create conditional
  (If-None-Exist) and lets a pulled resource find its record again;
- references to carebridge records the partner knows under its own id are rewritten to that id;
  any other reference becomes a logical reference by carebridge's identifier
  (https://hl7.org/fhir/R4/references.html#logical), never a literal reference the partner cannot resolve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from fhir_mappings.codec import copy_json
from service.auth.context import AccessContext
from service.auth.scopes import parse_scopes
from service.fhir_bridge import render
from service.models import CasePlan, Goal, Handoff, Partner, PartnerLink, Referral
from service.sync.resource_types import ENTITY_TYPE, RESOURCE_TYPE, identifier_system

Json = dict[str, Any]


# carebridge model -> its ORM class, for the types carebridge pushes.
MODELS: Mapping[str, type[Any]] = {"Handoff": Handoff, "Referral": Referral, "CasePlan": CasePlan, "Goal": Goal}
PUSHABLE = frozenset(RESOURCE_TYPE[entity] for entity in MODELS)


def load(session: Session, entity_type: str, entity_id: str) -> Any | None:
    return session.get(MODELS[entity_type], entity_id)


def load_all(session: Session, entity_type: str, entity_ids: Sequence[str]) -> list[Any]:
    """The records of one type with these ids that exist (in no particular order)."""
    model = MODELS[entity_type]
    return list(session.scalars(select(model).where(model.id.in_(entity_ids))))


def resource_for_partner(session: Session, partner: Partner, entity_type: str, record: Any) -> Json:
    """The record as this partner receives it: exactly what carebridge's FHIR API reads
    (`fhir_bridge.render`, the one renderer) except that ``id`` and ``meta.versionId`` /
    ``meta.lastUpdated`` are the partner's to set, carebridge's business identifier is added and
    references are rewritten into the partner's terms (see the module docstring)."""
    return resources_for_partner(session, partner, entity_type, [record])[0]


def partner_reader(partner: Partner) -> AccessContext:
    """The partner as a reader of carebridge's records: its organisation's tenancy decides what is
    pushed to it (`outbox`) and how a record reads to it (`render`), as for its FHIR API clients."""
    name = f"partner:{partner.name}"
    return AccessContext(name, name, partner.organization_id, _READS, patient_id=None)


_READS = parse_scopes("system/*.r")


def resources_for_partner(session: Session, partner: Partner, entity_type: str, records: Sequence[Any]) -> list[Json]:
    """`resource_for_partner` for many records of one type, with a query or two for all of them
    (a push batch), not a few per record."""
    resources = render(session, RESOURCE_TYPE[entity_type], records, partner_reader(partner))
    for resource, record in zip(resources, records, strict=True):
        resource.pop("id", None)
        _drop_server_meta(resource)
        with_identifier(resource, record.id)
    partner_base = partner.fhir_base.rstrip("/") + "/"
    # One walk of each resource finds the references to rewrite; the rewrite visits only those.
    nodes = [node for resource in resources for node in _rewritten_references(resource, partner_base)]
    refs = {tuple(ref.split("/")) for node in nodes if not (ref := node["reference"]).startswith(partner_base)}
    known = _partner_ids(session, partner.id, refs)  # type: ignore[arg-type]
    for node in nodes:
        _rewrite_reference(node, known, partner_base)
    return resources


def in_carebridge_terms(session: Session, partner: Partner, resource: Mapping[str, Any]) -> Json:
    """The partner's resource as a record's ``source``: the inverse of `resource_for_partner`.

    Without the partner's id, version and carebridge's own identifier; a reference to a record
    the partner has under its own id points at carebridge's record again, a logical reference by
    carebridge's identifier becomes literal again, and a reference to a resource only the partner
    has becomes an absolute URL on the partner's server (sent back relative), so carebridge's FHIR
    API never serves a relative reference it cannot resolve.
    """
    out = copy_json(resource)
    out.pop("id", None)
    _drop_server_meta(out)
    own = identifier_system(str(out["resourceType"]))
    identifiers = [i for i in out.get("identifier") or () if not (isinstance(i, dict) and i.get("system") == own)]
    if identifiers:
        out["identifier"] = identifiers
    else:
        out.pop("identifier", None)
    refs = {ref for ref in _referenced(out) if ref[0] in ENTITY_TYPE}
    links = session.scalars(
        select(PartnerLink).where(
            PartnerLink.partner_id == partner.id, PartnerLink.remote_id.in_([remote for _, remote in refs])
        )
    ) if refs else ()  # fmt: skip
    ours = {(link.resource_type, link.remote_id): link.entity_id for link in links}
    _carebridge_references(out, ours, partner.fhir_base.rstrip("/") + "/")
    return out


def _drop_server_meta(resource: Json) -> None:
    meta = {k: v for k, v in (resource.get("meta") or {}).items() if k not in ("versionId", "lastUpdated")}
    if meta:
        resource["meta"] = meta
    else:
        resource.pop("meta", None)


def _carebridge_references(node: Any, ours: Mapping[tuple[str, str], str], partner_base: str) -> None:
    if isinstance(node, list):
        for item in node:
            _carebridge_references(item, ours, partner_base)
        return
    if not isinstance(node, dict):
        return
    ref, logical, rtype = node.get("reference"), node.get("identifier"), node.get("type")
    if isinstance(ref, str) and ref.count("/") == 1:
        kind, remote_id = ref.split("/")
        node["reference"] = f"{kind}/{ours[kind, remote_id]}" if (kind, remote_id) in ours else partner_base + ref
        return
    if (
        ref is None
        and isinstance(rtype, str)
        and isinstance(logical, dict)
        and logical.get("system") == identifier_system(rtype)
        and logical.get("value")
    ):
        del node["identifier"], node["type"]
        node["reference"] = f"{rtype}/{logical['value']}"
        return
    for value in node.values():
        _carebridge_references(value, ours, partner_base)


def with_identifier(resource: Json, entity_id: str) -> None:
    system = identifier_system(resource["resourceType"])
    identifiers = [i for i in resource.get("identifier", []) if i.get("system") != system]
    resource["identifier"] = [*identifiers, {"system": system, "value": entity_id}]


def _referenced(node: Any) -> set[tuple[str, str]]:
    """Every literal ``Type/id`` reference in the resource whose type carebridge syncs."""
    found: set[tuple[str, str]] = set()
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str) and ref.count("/") == 1:
            found.add(tuple(ref.split("/")))  # type: ignore[arg-type]
        for value in node.values():
            found |= _referenced(value)
    elif isinstance(node, list):
        for item in node:
            found |= _referenced(item)
    return found


def _partner_ids(session: Session, partner_id: str, refs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    keys = [(ENTITY_TYPE[rtype], entity_id) for rtype, entity_id in refs if rtype in ENTITY_TYPE]
    if not keys:
        return {}
    # By type and id, so `uq_partner_links_entity` finds each one, rather than walking all the
    # partner's links; and three columns, not the links: a link also holds the partner's whole
    # resource (a Patient's with every name and identifier), which rewriting a reference never needs.
    links = session.execute(
        select(PartnerLink.resource_type, PartnerLink.entity_id, PartnerLink.remote_id).where(
            PartnerLink.partner_id == partner_id, tuple_(PartnerLink.entity_type, PartnerLink.entity_id).in_(keys)
        )
    )
    return {(resource_type, entity_id): remote_id for resource_type, entity_id, remote_id in links}


def _rewritten_references(resource: Json, partner_base: str) -> list[Json]:
    """The References of ``resource`` that go out rewritten: those to the partner's own resources
    (absolute on its server) and relative ``Type/id`` ones; nothing inside such a Reference is
    visited. Iterative: a resource is walked once per push, and a walk costs per element."""
    found: list[Json] = []
    stack: list[Any] = [resource]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("reference")
            if isinstance(ref, str) and (ref.startswith(partner_base) or ref.count("/") == 1):
                found.append(node)
            else:
                stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _rewrite_reference(node: Json, known: Mapping[tuple[str, str], str], partner_base: str) -> None:
    """One Reference in the partner's terms (see the module docstring)."""
    ref: str = node["reference"]
    if ref.startswith(partner_base):  # the partner's own resource
        node["reference"] = ref[len(partner_base) :]
        return
    rtype, entity_id = ref.split("/")
    if (rtype, entity_id) in known:
        node["reference"] = f"{rtype}/{known[rtype, entity_id]}"
    elif isinstance(node.get("identifier"), dict):  # a logical reference the partner sent stays its own
        del node["reference"]
    else:
        del node["reference"]
        node["identifier"] = {"system": identifier_system(rtype), "value": entity_id}
        node.setdefault("type", rtype)
