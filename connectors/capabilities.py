"""What a partner's CapabilityStatement says it accepts, so carebridge pushes only that.

Real EHRs differ (DESIGN.md "What real partners can do"): Epic takes no Task create, Oracle Health
has no Task at all. Whatever a partner cannot accept, it reads from carebridge's own FHIR API.
https://hl7.org/fhir/R4/capabilitystatement-definitions.html#CapabilityStatement.rest.resource.interaction
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Capabilities:
    fhir_version: str | None
    interactions: Mapping[str, frozenset[str]]  # resource type -> read, vread, update, create, search-type, ...
    system_interactions: frozenset[str]  # transaction, batch, search-system, history-system

    def supports(self, resource_type: str, interaction: str) -> bool:
        return interaction in self.interactions.get(resource_type, frozenset())


def parse_capability_statement(statement: Mapping[str, Any]) -> Capabilities:
    """Read the ``rest`` entries of mode ``server``; a type listed in several is the union of them."""
    interactions: dict[str, set[str]] = {}
    system: set[str] = set()
    for rest in statement.get("rest", ()):
        if rest.get("mode") != "server":
            continue
        system.update(_codes(rest))
        for resource in rest.get("resource", ()):
            interactions.setdefault(resource.get("type", ""), set()).update(_codes(resource))
    return Capabilities(
        fhir_version=statement.get("fhirVersion"),
        interactions={rtype: frozenset(codes) for rtype, codes in interactions.items()},
        system_interactions=frozenset(system),
    )


def _codes(element: Mapping[str, Any]) -> set[str]:
    return {i["code"] for i in element.get("interaction", ()) if isinstance(i.get("code"), str)}
