"""Provenance for every resource carebridge writes to a partner, US Core Provenance profile
(https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-provenance.html).

One agent of type "author": the person who made the change, on behalf of their organisation
(US Core provenance-1 requires `onBehalfOf` when the author is a Practitioner or Device).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.provenance import Provenance
from fhir_core.fhirabstractmodel import FHIRAbstractModel

from . import fields as f
from .codec import Items, ResourceMap, as_json
from .codes import DATA_OPERATION, PROVENANCE_PARTICIPANT_TYPE, CodeMap
from .datatypes import parse_versioned_reference, render_reference
from .domain import ProvenanceData
from .profiles import US_CORE_PROVENANCE, meta_claiming

PROVENANCE: ResourceMap[ProvenanceData, Provenance] = ResourceMap(
    Provenance,
    ProvenanceData,
    (
        f.resource_id(),
        Items("target_refs", ("target",), parse_versioned_reference, render_reference),
        f.instant("recorded", ("recorded",)),
        f.coded("activity", ("activity",), CodeMap(DATA_OPERATION), required=True),
        f.any_reference("author_ref", ("agent", 0, "who")),
        f.any_reference("on_behalf_of_ref", ("agent", 0, "onBehalfOf")),
    ),
    {
        "resourceType": "Provenance",
        "meta": meta_claiming(US_CORE_PROVENANCE),
        "agent": [{"type": {"coding": [PROVENANCE_PARTICIPANT_TYPE.coding("author")]}}],
    },
)

to_fhir_provenance_json = PROVENANCE.to_json
to_fhir_provenance = PROVENANCE.to_model
from_fhir_provenance = PROVENANCE.from_fhir


def provenance_for(
    resource: Mapping[str, Any] | FHIRAbstractModel,
    *,
    recorded: dt.datetime,
    author_ref: str,
    on_behalf_of_ref: str | None = None,
    activity: str = "UPDATE",
    provenance_id: str | None = None,
) -> ProvenanceData:
    """Provenance of one written resource, targeting the version written when it is known
    (https://hl7.org/fhir/R4/provenance.html#6.3.4.1: target "SHOULD be version specific")."""
    written = as_json(resource)
    target = f"{written['resourceType']}/{written['id']}"
    version = (written.get("meta") or {}).get("versionId")
    return ProvenanceData(
        id=provenance_id,
        target_refs=(f"{target}/_history/{version}" if version else target,),
        recorded=recorded,
        author_ref=author_ref,
        on_behalf_of_ref=on_behalf_of_ref,
        activity=activity,
    )
