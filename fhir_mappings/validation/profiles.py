"""The mandatory elements and reference targets of the profiles carebridge checks.

US Core 6.1.0 (https://hl7.org/fhir/us/core/STU6.1/) "Mandatory" elements are errors when missing;
"Must Support" elements that carebridge relies on are warnings. carebridge's handoff Task profile
holds what every handoff carebridge sends has (see `fhir_mappings.handoff`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import profiles as urls
from ..codes import CONDITION_CATEGORY, HANDOFF_KIND, US_CORE_CAREPLAN_CATEGORY
from .issues import Issue, Segments, issue
from .references import BadReference, target_type


def _nodes(node: Any, path: Sequence[str], where: Segments) -> Iterator[tuple[Any, Segments]]:
    """Every value at `path` below `node`, with its location, looking through repeating elements."""
    if not path:
        yield node, where
        return
    value = node.get(path[0]) if isinstance(node, Mapping) else None
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nodes(item, path[1:], (*where, path[0], i))
    elif value is not None:
        yield from _nodes(value, path[1:], (*where, path[0]))


def _present(node: Any, path: Sequence[str]) -> bool:
    return next(_nodes(node, path, ()), None) is not None


class Rule(Protocol):
    def check(self, resource: Mapping[str, Any], where: Segments) -> Iterator[Issue]: ...


@dataclass(frozen=True)
class Required:
    """Each value at `parent` (the resource itself when empty) has `element`."""

    element: str
    parent: tuple[str, ...] = ()
    severity: str = "error"

    def check(self, resource: Mapping[str, Any], where: Segments) -> Iterator[Issue]:
        for node, at in _nodes(resource, self.parent, where):
            if not _present(node, (self.element,)):
                kind = "required" if self.severity == "error" else "incomplete"
                yield issue(self.severity, kind, (*at, self.element), f"{self.element} is required by the profile")


@dataclass(frozen=True)
class AnyOf:
    """Each value at `parent` has at least one of `elements` (paths below it)."""

    elements: tuple[tuple[str, ...], ...]
    parent: tuple[str, ...] = ()
    severity: str = "error"

    def check(self, resource: Mapping[str, Any], where: Segments) -> Iterator[Issue]:
        names = " or ".join(".".join(path) for path in self.elements)
        for node, at in _nodes(resource, self.parent, where):
            if not any(_present(node, path) for path in self.elements):
                yield issue(self.severity, "required", at, f"needs {names}")


@dataclass(frozen=True)
class HasCoding:
    """Some CodeableConcept at `element` has a coding from `system` (with `code`, when given)."""

    element: str
    system: str
    code: str | None = None

    def check(self, resource: Mapping[str, Any], where: Segments) -> Iterator[Issue]:
        codings = [c for c, _ in _nodes(resource, (self.element, "coding"), where) if isinstance(c, Mapping)]
        if not any(c.get("system") == self.system and self.code in (None, c.get("code")) for c in codings):
            wanted = f"{self.system}#{self.code}" if self.code else f"a code from {self.system}"
            yield issue("error", "required", (*where, self.element), f"needs {wanted}")


@dataclass(frozen=True)
class RequiredWhenReferencing:
    """US Core provenance-1: `element` is required where `reference` points at one of `types`."""

    element: str
    reference: str
    types: frozenset[str]
    parent: tuple[str, ...]

    def check(self, resource: Mapping[str, Any], where: Segments) -> Iterator[Issue]:
        for node, at in _nodes(resource, self.parent, where):
            reference = node.get(self.reference) if isinstance(node, Mapping) else None
            try:
                points_at = target_type(reference, {}) if isinstance(reference, Mapping) else None
            except BadReference:
                continue  # reported by the reference check
            if points_at in self.types and not _present(node, (self.element,)):
                yield issue(
                    "error",
                    "required",
                    (*at, self.element),
                    f"{self.element} is required when {self.reference} is a {points_at}",
                )


@dataclass(frozen=True)
class Profile:
    url: str
    resource_type: str
    rules: tuple[Rule, ...]
    # Element definition path -> allowed reference targets, narrowing the base resource's.
    targets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _subject_is_patient(resource_type: str) -> dict[str, tuple[str, ...]]:
    return {f"{resource_type}.subject": ("Patient",)}


PERSON_OR_ORG = ("Organization", "Practitioner", "PractitionerRole")

PROFILES: Mapping[str, Profile] = {
    p.url: p
    for p in (
        Profile(
            urls.US_CORE_CAREPLAN,
            "CarePlan",
            (
                Required("status"),
                Required("intent"),
                HasCoding("category", US_CORE_CAREPLAN_CATEGORY.url, "assess-plan"),
                Required("subject"),
                Required("text", severity="warning"),
            ),
            _subject_is_patient("CarePlan"),
        ),
        Profile(
            urls.US_CORE_GOAL,
            "Goal",
            (
                Required("lifecycleStatus"),
                Required("description"),
                Required("subject"),
                # "SHALL support at least one of" them (https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-goal.html)
                AnyOf((("startDate",), ("target", "dueDate")), severity="warning"),
            ),
            _subject_is_patient("Goal"),
        ),
        Profile(
            urls.US_CORE_SERVICEREQUEST,
            "ServiceRequest",
            (Required("status"), Required("intent"), Required("code"), Required("subject")),
            _subject_is_patient("ServiceRequest"),
        ),
        Profile(
            urls.US_CORE_CARETEAM,
            "CareTeam",
            (
                Required("subject"),
                Required("participant"),
                Required("role", ("participant",)),
                Required("member", ("participant",)),
            ),
            _subject_is_patient("CareTeam"),
        ),
        Profile(
            urls.US_CORE_ENCOUNTER,
            "Encounter",
            (Required("status"), Required("class"), Required("type"), Required("subject")),
            _subject_is_patient("Encounter"),
        ),
        Profile(
            urls.US_CORE_PATIENT,
            "Patient",
            (
                Required("identifier"),
                Required("system", ("identifier",)),
                Required("value", ("identifier",)),
                Required("name"),
                # us-core-6: a name has a family or given part, or says why not (data-absent-reason)
                AnyOf((("family",), ("given",), ("extension",)), ("name",)),
                Required("gender"),
            ),
        ),
        Profile(urls.US_CORE_ORGANIZATION, "Organization", (Required("name"),)),
        Profile(
            urls.US_CORE_PRACTITIONER,
            "Practitioner",
            (
                Required("identifier"),
                Required("system", ("identifier",)),
                Required("value", ("identifier",)),
                Required("name"),
                Required("family", ("name",)),
            ),
        ),
        Profile(
            urls.US_CORE_PROVENANCE,
            "Provenance",
            (
                Required("target"),
                Required("recorded"),
                Required("agent"),
                Required("who", ("agent",)),
                RequiredWhenReferencing("onBehalfOf", "who", frozenset({"Practitioner", "Device"}), ("agent",)),
            ),
        ),
        Profile(
            urls.US_CORE_OBSERVATION_SCREENING,
            "Observation",
            (Required("status"), Required("category"), Required("code"), Required("subject")),
            _subject_is_patient("Observation"),
        ),
        Profile(
            urls.US_CORE_CONDITION_HEALTH_CONCERN,
            "Condition",
            # category is one of problem-list-item | health-concern
            # (https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-condition-problems-health-concerns.html)
            (HasCoding("category", CONDITION_CATEGORY), Required("code"), Required("subject")),
            _subject_is_patient("Condition"),
        ),
        Profile(
            urls.HANDOFF_TASK,
            "Task",
            (
                Required("status"),
                Required("intent"),
                HasCoding("code", HANDOFF_KIND.url),
                Required("for"),
                Required("owner"),
                Required("requester"),
            ),
            {
                "Task.focus": ("ServiceRequest",),
                "Task.for": ("Patient",),
                "Task.owner": PERSON_OR_ORG,
                "Task.requester": PERSON_OR_ORG,
            },
        ),
    )
}

# What `validate(..., profile=name)` checks each resource type against.
PROFILE_SETS: Mapping[str, Mapping[str, Profile]] = {
    "us-core": {p.resource_type: p for p in PROFILES.values() if p.url.startswith(urls.US_CORE)},
    "carebridge": {p.resource_type: p for p in PROFILES.values()},
}
