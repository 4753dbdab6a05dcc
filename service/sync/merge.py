"""Three-way merge of a resource both carebridge and a partner changed since they last agreed.

Compared element by element at the top level of the resource: an element changed on one side
only takes that side's value; an element changed on both sides to different values is a
conflict a person resolves. ``id`` and ``meta`` belong to the server and ``text`` is derived from
the data (https://hl7.org/fhir/R4/narrative.html), so none of them is compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SERVER_ELEMENTS = frozenset({"id", "meta", "text"})
_ABSENT = object()


@dataclass(frozen=True)
class MergeResult:
    merged: dict[str, Any] | None  # None when there is a conflict
    conflicting: tuple[str, ...]  # the elements both sides changed differently


def changed_elements(base: Mapping[str, Any], other: Mapping[str, Any]) -> set[str]:
    keys = (set(base) | set(other)) - SERVER_ELEMENTS
    return {key for key in keys if base.get(key, _ABSENT) != other.get(key, _ABSENT)}


def three_way(base: Mapping[str, Any], ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> MergeResult:
    """Merge ``ours`` into ``theirs`` (keeping their id and meta), or say which elements conflict."""
    mine = changed_elements(base, ours)
    their_changes = changed_elements(base, theirs)
    conflicting = sorted(k for k in mine & their_changes if ours.get(k, _ABSENT) != theirs.get(k, _ABSENT))
    if conflicting:
        return MergeResult(None, tuple(conflicting))
    merged = dict(theirs)
    for key in mine:
        if key in ours:
            merged[key] = ours[key]
        else:
            merged.pop(key, None)
    return MergeResult(merged, ())
