"""Field constructors for the shapes that recur across resources, so each resource module is a
table of one line per domain field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .codec import Element, FirstItem, Items, Path
from .codes import CodeMap
from .datatypes import (
    identity,
    parse_concept,
    parse_date,
    parse_identifier,
    parse_instant,
    parse_note,
    parse_reference,
    parse_str,
    render_concept,
    render_date,
    render_identifier,
    render_instant,
    render_note,
    render_reference,
)


def resource_id() -> Element:
    return Element("id", ("id",), parse_str, identity)


def identifiers() -> Items:
    return Items("identifiers", ("identifier",), parse_identifier, render_identifier)


def notes() -> Items:
    return Items("notes", ("note",), parse_note, render_note)


def code(name: str, path: Path, *, default: str | None = None) -> Element:
    """A mandatory `code` (status, intent...): a resource without it cannot be mapped."""
    return Element(name, path, parse_str, identity, default=default, required=True)


def text(name: str, path: Path) -> Element:
    return Element(name, path, parse_str, identity)


def first_name() -> tuple[Element, Items]:
    """`family` and `given` of the resource's first HumanName (Patient, Practitioner)."""
    return text("family", ("name", 0, "family")), Items("given", ("name", 0, "given"), parse_str, identity)


def date(name: str, path: Path, *, other_choices: tuple[str, ...] = ()) -> Element:
    return Element(name, path, parse_date, render_date, other_choices=other_choices)


def instant(name: str, path: Path) -> Element:
    return Element(name, path, parse_instant, render_instant)


def concept(name: str, path: Path) -> Element:
    return Element(name, path, parse_concept, render_concept)


def coded(name: str, path: Path, codes: CodeMap, *, fallback: str | None = None, required: bool = False) -> Element:
    """A CodeableConcept holding a carebridge code. A concept carebridge has no code for reads as
    `fallback` (the partner's concept stays in `source`); a `required` field reads as `fallback`
    when the element is absent too."""

    def parse(raw: Any) -> str | None:
        found = codes.code_of(raw) if isinstance(raw, Mapping) else None
        return found if found is not None else fallback

    return Element(name, path, parse, codes.concept, default=fallback if required else None, required=required)


def any_reference(name: str, path: Path) -> Element:
    """A reference held as "Type/id" (the target type varies)."""
    return Element(name, path, parse_reference, render_reference)


def any_references(name: str, path: Path) -> Items:
    return Items(name, path, parse_reference, render_reference)


def _typed(resource_type: str) -> tuple[Callable[[Any], str | None], Callable[[str], dict[str, str]]]:
    """(parse, render) between a reference to a `resource_type` and the target's bare id."""
    prefix = resource_type + "/"

    def parse(raw: Any) -> str | None:
        ref = parse_reference(raw)
        return ref[len(prefix) :] if ref is not None and ref.startswith(prefix) else None

    def render(target_id: str) -> dict[str, str]:
        return render_reference(prefix + target_id)

    return parse, render


def reference_to(name: str, path: Path, resource_type: str) -> Element:
    """A reference to a `resource_type` held as its bare id."""
    return Element(name, path, *_typed(resource_type))


def references_to(name: str, path: Path, resource_type: str) -> Items:
    return Items(name, path, *_typed(resource_type))


def extension_reference_to(name: str, url: str, resource_type: str) -> FirstItem:
    """A reference to a `resource_type`, held as its bare id, in the resource's extension `url`;
    the resource's other extensions keep their place."""
    parse_target, render_target = _typed(resource_type)

    def parse(item: Any) -> str | None:
        is_ours = isinstance(item, Mapping) and item.get("url") == url
        return parse_target(item.get("valueReference")) if is_ours else None

    def render(target_id: str) -> dict[str, Any]:
        return {"url": url, "valueReference": render_target(target_id)}

    return FirstItem(name, ("extension",), parse, render)
