"""What carebridge does with each resource type for one partner, from its CapabilityStatement.

Real EHRs often allow only read and search on CarePlan, Goal and ServiceRequest, and some have no
Task (DESIGN.md "What real partners can do"). For such a type carebridge does not fail: the
partner reads it from carebridge's own FHIR API instead ("partner reads from carebridge").
https://hl7.org/fhir/R4/capabilitystatement-definitions.html#CapabilityStatement.rest.resource.interaction
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, Literal

from connectors.capabilities import Capabilities
from connectors.errors import ConnectorError, NotSupported

PARTNER_READS: Final = "partner reads from carebridge"
SYSTEM = "*"  # key of the system-level interactions (batch, transaction) in Partner.capabilities
PushMode = Literal["push", "create-only", "update-only", "partner reads from carebridge", "unknown"]


def stored(capabilities: Capabilities) -> dict[str, list[str]]:
    """The JSON kept on Partner.capabilities."""
    stored_ = {rtype: sorted(codes) for rtype, codes in capabilities.interactions.items() if rtype}
    stored_[SYSTEM] = sorted(capabilities.system_interactions)
    return stored_


def push_mode(capabilities: Mapping[str, Sequence[str]] | None, resource_type: str) -> PushMode:
    """How carebridge can send a record of this type: create and update, only one of them, or not at all."""
    if capabilities is None:
        return "unknown"
    codes = set(capabilities.get(resource_type, ()))
    can_create, can_update = "create" in codes, "update" in codes
    if can_create and can_update:
        return "push"
    if can_create:
        return "create-only"
    if can_update:
        return "update-only"
    return PARTNER_READS


def accepts_write(capabilities: Mapping[str, Sequence[str]] | None, resource_type: str, *, create: bool) -> bool:
    """Whether to attempt the write at all; unknown capabilities are tried (the answer will tell)."""
    mode = push_mode(capabilities, resource_type)
    if mode in ("push", "unknown"):
        return True
    return mode == ("create-only" if create else "update-only")


def supports_batch(capabilities: Mapping[str, Sequence[str]] | None) -> bool:
    return capabilities is not None and "batch" in capabilities.get(SYSTEM, ())


def refused_type(error: ConnectorError | None) -> bool:
    """A 405 or a 404 on a type: the partner no longer offers what its cached CapabilityStatement
    said, so the statement is read again before the next batch."""
    return isinstance(error, NotSupported) or (error is not None and error.status == 404)
