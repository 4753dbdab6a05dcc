"""Three-way merge of a resource carebridge and a partner both changed since they last agreed.

``base`` is the partner's resource as last confirmed (after a write or a pull), ``ours`` carebridge's
record rendered now and ``theirs`` the partner's current resource, all in the partner's terms.
Compared element by element at the top level: an element changed on one side only takes that
side's value; changed on both sides to different values it is a conflict a person resolves. So a
value carebridge never changed cannot conflict. ``id`` and ``meta`` belong to the server and
``text`` is derived from the data (https://hl7.org/fhir/R4/narrative.html); none is compared.

Lists merge item by item, by identity (`ITEM_IDENTITY`), so one side adding a note and the other
adding an activity or another note is no conflict:
- ``identifier``: system|value;
- ``note``: (time, author, text): an Annotation has no id, and an edited text is a new note;
- ``activity``: its reference (the target), else detail.code + detail.description;
- any other list (goal, careTeam, addresses, performer, ...): the whole item, so equal content is
  the same item.
An item added or removed on one side is added or removed; an item with one identity that both
sides changed differently makes the element a conflict. The merged list keeps the partner's order
and appends the items only carebridge added.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

SERVER_ELEMENTS = frozenset({"id", "meta", "text"})
_ABSENT: Any = object()
Json = dict[str, Any]


def _canonical(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _reference_key(ref: Any) -> Any:
    if not isinstance(ref, Mapping):
        return None
    if ref.get("reference"):
        return ("reference", ref["reference"])
    identifier = ref.get("identifier")
    if isinstance(identifier, Mapping):
        return ("identifier", identifier.get("system"), identifier.get("value"))
    return None


def _identifier(item: Any) -> Any:
    return ("identifier", item.get("system"), item.get("value")) if isinstance(item, Mapping) else None


def _note(item: Any) -> Any:
    if not isinstance(item, Mapping):
        return None
    author = item.get("authorString") or _reference_key(item.get("authorReference"))
    return ("note", item.get("time"), _canonical(author), item.get("text"))


def _activity(item: Any) -> Any:
    if not isinstance(item, Mapping):
        return None
    target = _reference_key(item.get("reference"))
    if target is not None:
        return target
    detail = item.get("detail")
    if not isinstance(detail, Mapping):
        return None
    return ("detail", _canonical(detail.get("code")), detail.get("description"))


# element name -> the identity of one of its items (None: fall back to the item's whole content).
ITEM_IDENTITY: Mapping[str, Callable[[Any], Any]] = {"identifier": _identifier, "note": _note, "activity": _activity}


@dataclass(frozen=True)
class MergeResult:
    merged: Json  # theirs with every element only carebridge changed; conflicting ones left as theirs
    conflicting: tuple[str, ...]  # the elements both sides changed differently

    @property
    def clean(self) -> bool:
        return not self.conflicting


def changed_elements(base: Mapping[str, Any], other: Mapping[str, Any]) -> set[str]:
    keys = (set(base) | set(other)) - SERVER_ELEMENTS
    return {key for key in keys if base.get(key, _ABSENT) != other.get(key, _ABSENT)}


def three_way(base: Mapping[str, Any], ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> MergeResult:
    """Merge ``ours`` into ``theirs`` (keeping their id and meta), and name the elements that conflict."""
    merged = dict(theirs)
    conflicting: list[str] = []
    for key in sorted(changed_elements(base, ours)):
        value = _merge_element(key, base.get(key, _ABSENT), ours.get(key, _ABSENT), theirs.get(key, _ABSENT))
        if value is _CONFLICT:
            conflicting.append(key)
        elif value is _ABSENT:
            merged.pop(key, None)
        else:
            merged[key] = value
    return MergeResult(merged, tuple(conflicting))


def with_choices(result: MergeResult, choices: Mapping[str, Any]) -> Json:
    """The merge with a person's value for each conflicting element (``None``: the element goes)."""
    missing = set(result.conflicting) - set(choices)
    if missing:
        raise ValueError(f"no value chosen for {', '.join(sorted(missing))}")
    merged = dict(result.merged)
    for key in result.conflicting:
        if choices[key] is None:
            merged.pop(key, None)
        else:
            merged[key] = choices[key]
    return merged


_CONFLICT: Any = object()


def _merge_element(key: str, base: Any, ours: Any, theirs: Any) -> Any:
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    if all(isinstance(v, list) or v is _ABSENT for v in (base, ours, theirs)):
        return _merge_list(ITEM_IDENTITY.get(key), *([] if v is _ABSENT else v for v in (base, ours, theirs)))
    return _CONFLICT


def _merge_list(
    identity: Callable[[Any], Any] | None, base: Sequence[Any], ours: Sequence[Any], theirs: Sequence[Any]
) -> Any:
    def keyed(items: Sequence[Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for item in items:
            key = identity(item) if identity is not None else None
            out.setdefault(key if key is not None else _canonical(item), item)
        return out

    b, o, t = keyed(base), keyed(ours), keyed(theirs)
    if len(b) != len(base) or len(o) != len(ours) or len(t) != len(theirs):
        return _CONFLICT  # two items with one identity: no safe pairing
    merged: list[Any] = []
    for key in [*t, *(k for k in o if k not in t)]:
        value = _merge_element("", b.get(key, _ABSENT), o.get(key, _ABSENT), t.get(key, _ABSENT))
        if value is _CONFLICT:
            return _CONFLICT
        if value is not _ABSENT:
            merged.append(value)
    return merged if merged else _ABSENT
