"""Bundles: collecting resources for export, and reading the resources out of one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir_core.fhirabstractmodel import FHIRAbstractModel

from .codec import Json, as_json


def bundle_collection_json(
    resources: Iterable[Mapping[str, Any] | FHIRAbstractModel], base_url: str | None = None
) -> Json:
    """A `collection` Bundle of `resources`. With the server's `base_url`, each entry gets the
    absolute `fullUrl` that https://hl7.org/fhir/R4/bundle.html#bundle-unique asks for."""
    entries = []
    for resource in resources:
        body = as_json(resource)
        entry: Json = {"resource": body}
        if base_url is not None and "id" in body:
            entry["fullUrl"] = f"{base_url.rstrip('/')}/{body['resourceType']}/{body['id']}"
        entries.append(entry)
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def bundle_collection(
    resources: Iterable[Mapping[str, Any] | FHIRAbstractModel], base_url: str | None = None
) -> Bundle:
    return Bundle.model_validate(bundle_collection_json(resources, base_url))


def resources_in(resource: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The entries' resources of a Bundle, or the resource itself."""
    if resource.get("resourceType") != "Bundle":
        yield resource
        return
    for entry in resource.get("entry") or ():
        if isinstance(entry, Mapping) and isinstance(entry.get("resource"), Mapping):
            yield entry["resource"]
