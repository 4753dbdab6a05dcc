"""The checks on top of fhir.resources: value-set bindings, codes of code systems held in full,
reference targets, and the rules of the profiles that apply to each resource met on the way
(the resource itself, its contained resources, a Bundle's entries)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..codes import KNOWN_CODE_SYSTEMS
from .bindings import BINDINGS, Binding
from .issues import Issue, Segments, fhirpath, issue
from .profiles import PROFILE_SETS, PROFILES, Profile
from .references import BadReference, target_type
from .schema import ElementInfo, Model, elements, model_for


def profiles_for(resource: Mapping[str, Any], requested: str | None) -> list[Profile]:
    """The profiles `resource` claims in meta.profile (versions ignored) plus the one `requested`
    (a profile URL, or a PROFILE_SETS name) names for its type."""
    resource_type = resource.get("resourceType")
    claimed = (resource.get("meta") or {}).get("profile") or ()
    urls = [url.split("|")[0] for url in claimed if isinstance(url, str)]
    if requested is not None:
        named = PROFILE_SETS.get(requested)
        urls += [p.url for p in named.values() if p.resource_type == resource_type] if named else [requested]
    found = {url: PROFILES[url] for url in urls if url in PROFILES}  # each once, in order
    return [p for p in found.values() if p.resource_type == resource_type]


class Checker:
    def __init__(self, requested_profile: str | None) -> None:
        if requested_profile is not None and requested_profile not in (*PROFILE_SETS, *PROFILES):
            raise ValueError(f"unknown profile {requested_profile!r}")
        self.requested = requested_profile
        self.issues: list[Issue] = []

    def resource(self, node: Mapping[str, Any], where: Segments, contained: Mapping[str, str] | None = None) -> None:
        """Check one resource. `contained` is the container's contained-id map for a contained
        resource, whose local references resolve in the container (https://hl7.org/fhir/R4/references.html#contained)."""
        resource_type = node.get("resourceType")
        model = model_for(resource_type) if isinstance(resource_type, str) else None
        if model is None:
            self.issues.append(
                issue("error", "structure", (*where, "resourceType"), f"unknown resource type {resource_type!r}")
            )
            return
        # The profile asked for applies to resources in their own right, not to contained parts.
        requested = self.requested if contained is None else None
        if contained is None:
            contained = {
                c["id"]: c.get("resourceType", "")
                for c in node.get("contained") or ()
                if isinstance(c, Mapping) and isinstance(c.get("id"), str)
            }
        targets: dict[str, tuple[str, ...]] = {}
        for profile in profiles_for(node, requested):
            for rule in profile.rules:
                self.issues.extend(rule.check(node, where))
            targets.update(profile.targets)
        self._elements(node, model, str(resource_type), where, contained, targets)

    def _elements(
        self,
        node: Mapping[str, Any],
        model: Model,
        defpath: str,
        where: Segments,
        contained: Mapping[str, str],
        targets: Mapping[str, tuple[str, ...]],
    ) -> None:
        known = elements(model, defpath)
        for key, value in node.items():
            info = known.get(key)
            if info is None:
                continue  # unknown elements are reported by fhir.resources
            located = (
                [((*where, key, i), item) for i, item in enumerate(value)]
                if isinstance(value, list)
                else [((*where, key), value)]
            )
            for at, item in located:
                self._element(info, item, at, contained, targets)

    def _element(
        self,
        info: ElementInfo,
        value: Any,
        at: Segments,
        contained: Mapping[str, str],
        targets: Mapping[str, tuple[str, ...]],
    ) -> None:
        binding = BINDINGS.get(info.defpath)
        if binding is not None:
            self._binding(binding, value, at)
        if not isinstance(value, Mapping):
            return
        if info.is_resource:
            self.resource(value, at, contained if at[-2] == "contained" else None)
            return
        if info.targets is not None:
            self._reference(value, targets.get(info.defpath, info.targets), contained, at)
        if info.child is not None:
            if info.child_defpath == "Coding":
                self._coding(value, at)
            self._elements(value, info.child, info.child_defpath, at, contained, targets)

    def _binding(self, binding: Binding, value: Any, at: Segments) -> None:
        value_set = binding.value_set
        if isinstance(value, str):  # a `code` element: the system is implied
            inside, shown = value in value_set, repr(value)
        elif isinstance(value, Mapping):  # a Coding
            inside = value.get("system") == value_set.system and value.get("code") in value_set
            shown = f"{value.get('system')}#{value.get('code')}"
        else:
            return
        if not inside:
            severity = "error" if binding.strength == "required" else "warning"
            self.issues.append(
                issue(severity, "code-invalid", at, f"{shown} is not in {value_set.url} ({binding.strength} binding)")
            )

    def _coding(self, coding: Mapping[str, Any], at: Segments) -> None:
        system = KNOWN_CODE_SYSTEMS.get(coding.get("system"))  # type: ignore[arg-type]
        if system is not None and coding.get("code") not in system.concepts:
            self.issues.append(
                issue("error", "code-invalid", (*at, "code"), f"{coding.get('code')!r} is not a code of {system.url}")
            )

    def _reference(
        self, reference: Mapping[str, Any], allowed: tuple[str, ...], contained: Mapping[str, str], at: Segments
    ) -> None:
        try:
            points_at = target_type(reference, contained)
        except BadReference as bad:
            self.issues.append(issue("error", "value", at, str(bad)))
            return
        if points_at is not None and "Resource" not in allowed and points_at not in allowed:
            self.issues.append(
                issue("error", "value", at, f"{fhirpath(at)} must reference {' | '.join(allowed)}, not {points_at}")
            )
