"""SMART on FHIR scopes, v1 (`.read`/`.write`/`.*`) and v2 (`.cruds`), parsed into interactions.

Grammar: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-fhir-resources
v1 names map onto v2 letters as the spec's "SMART 1.0 to 2.0 scope mapping" table says:
`read` = `rs`, `write` = `cud`, `*` = `cruds`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Interaction = Literal["c", "r", "u", "d", "s"]
ScopeContext = Literal["patient", "user", "system"]

_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|c?r?u?d?s?)$")


@dataclass(frozen=True)
class ResourceScope:
    context: ScopeContext
    resource_type: str  # a FHIR type or "*"
    interactions: frozenset[str]

    def grants(self, resource_type: str, interaction: str) -> bool:
        return self.resource_type in ("*", resource_type) and interaction in self.interactions


@dataclass(frozen=True)
class ScopeSet:
    """The scopes of one token. `raw` keeps every scope string (openid, launch/patient...)."""

    raw: tuple[str, ...]
    resource_scopes: tuple[ResourceScope, ...]

    def allows(self, resource_type: str, interaction: str, *, context: ScopeContext | None = None) -> bool:
        return any(
            s.grants(resource_type, interaction) and (context is None or s.context == context)
            for s in self.resource_scopes
        )

    def contexts_granting(self, resource_type: str, interaction: str) -> frozenset[ScopeContext]:
        return frozenset(s.context for s in self.resource_scopes if s.grants(resource_type, interaction))

    def __str__(self) -> str:
        return " ".join(self.raw)


def parse_resource_scope(text: str) -> ResourceScope | None:
    """One scope string, or None when it is not a resource scope carebridge can enforce.

    v2 scopes with a query (`patient/Observation.rs?category=...`) return None: carebridge does
    not enforce those constraints, so it grants nothing for them rather than more than asked.
    """
    match = _SCOPE.match(text)
    if match is None or match.group(3) == "":
        return None
    context, resource_type, permissions = match.groups()
    letters = _V1.get(permissions, permissions)
    return ResourceScope(context, resource_type, frozenset(letters))  # type: ignore[arg-type]


def parse_scopes(text: str | None) -> ScopeSet:
    raw = tuple(dict.fromkeys((text or "").split()))
    parsed = (parse_resource_scope(s) for s in raw)
    return ScopeSet(raw, tuple(s for s in parsed if s is not None))


def is_within(requested: ResourceScope, allowed: ScopeSet) -> bool:
    """True when every interaction `requested` asks for is granted by `allowed` in the same context."""
    return all(
        any(
            a.context == requested.context
            and a.resource_type in ("*", requested.resource_type)
            and letter in a.interactions
            for a in allowed.resource_scopes
        )
        for letter in requested.interactions
    )


def intersect(first: ScopeSet, second: ScopeSet) -> ScopeSet:
    """The resource scopes granted by both sets, narrowed interaction by interaction: `user/*.rs`
    and `user/Task.rus` give `user/Task.rs`. The server may grant less than an app asked for
    (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-fhir-resources)."""
    found: dict[tuple[str, str], set[str]] = {}
    for a in first.resource_scopes:
        for b in second.resource_scopes:
            same_type = a.resource_type == b.resource_type or "*" in (a.resource_type, b.resource_type)
            if a.context != b.context or not same_type:
                continue
            letters = a.interactions & b.interactions
            if letters:
                resource_type = b.resource_type if a.resource_type == "*" else a.resource_type
                found.setdefault((a.context, resource_type), set()).update(letters)
    texts = (f"{ctx}/{rtype}.{''.join(c for c in 'cruds' if c in letters)}" for (ctx, rtype), letters in found.items())
    return parse_scopes(" ".join(texts))
