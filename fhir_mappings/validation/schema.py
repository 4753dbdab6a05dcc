"""What fhir.resources knows about each element: its type, whether it repeats, which resource
types a Reference may point at. Read once per model class from the pydantic field metadata."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel

Model = type[FHIRAbstractModel]


@dataclass(frozen=True)
class ElementInfo:
    # The element's path in its definition, where bindings and reference targets are keyed:
    # "Task.status", "CarePlan.activity.detail.kind", or "Identifier.use" inside a data type.
    defpath: str
    child: Model | None  # the model of a complex element; None for primitives and resources
    child_defpath: str  # defpath prefix of the child's own elements
    is_resource: bool  # contained, Bundle.entry.resource: the type comes from resourceType
    targets: tuple[str, ...] | None  # allowed Reference targets ("Resource" = any)


@cache
def model_for(resource_type: str) -> Model | None:
    try:
        return get_fhir_model_class(resource_type)
    except (ValueError, KeyError, AttributeError):
        return None


def _klass(annotation: Any) -> Model | None:
    """The fhir.resources model inside Optional[List[abc.XType]]-style annotations."""
    if hasattr(annotation, "get_model_klass"):
        return typing.cast(Model, annotation.get_model_klass())
    for argument in typing.get_args(annotation):
        found = _klass(argument)
        if found is not None:
            return found
    return None


def _is_type_root(model: Model) -> bool:
    """Data types and resources start a definition path of their own; backbone elements
    (TaskRestriction, CarePlanActivityDetail) live in their parent's module under a longer name."""
    return model.__name__.lower() == model.__module__.rsplit(".", 1)[-1]


@cache
def elements(model: Model, defpath: str) -> Mapping[str, ElementInfo]:
    """JSON key -> ElementInfo for the elements of `model` found at definition path `defpath`."""
    found: dict[str, ElementInfo] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key in ("resourceType", "fhir_comments"):
            continue
        klass = _klass(field.annotation)
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        targets = extra.get("enum_reference_types")
        is_resource = klass is not None and klass.__name__ == "Resource"
        child = None if klass is None or is_resource else klass
        child_defpath = "" if child is None else child.__name__ if _is_type_root(child) else f"{defpath}.{key}"
        found[key] = ElementInfo(
            f"{defpath}.{key}",
            child,
            child_defpath,
            is_resource,
            tuple(typing.cast(list[str], targets)) if targets else None,
        )
    return found
