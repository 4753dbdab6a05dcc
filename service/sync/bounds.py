"""Bounds a pulled resource keeps before anything of it reaches the database.

Two checks, both raising `Refused` with a PHI-free message (where and how big, never the value):
- `check_resource`: the partner's JSON as a whole, walked without recursion: a FHIR id
  (https://hl7.org/fhir/R4/datatypes.html#id), nesting depth, list sizes, string sizes and
  control characters. The JSON is stored on the link as it came, so it must fit a JSON column
  (orjson refuses more than 255 levels; PostgreSQL refuses U+0000 in jsonb).
- `check_columns`: the values carebridge keeps against the columns they go to, which are the
  limits the REST API's schemas enforce (e.g. family name 100, ward 40, businessStatus 120).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import String

from connectors.fhir_client import FHIR_ID
from service.db import Base
from service.sync.errors import Refused

# Real resources nest a few dozen levels (an extension on a backbone element of a contained resource).
MAX_DEPTH = 64
# A Patient has a handful of identifiers, names and addresses; a list this long is not a person's.
MAX_ITEMS = 1000
# Narrative and attachments aside, FHIR strings are short; 1 MiB bounds what a row may carry.
MAX_STRING = 1 << 20
# https://hl7.org/fhir/R4/datatypes.html#string: no characters below U+0020 other than tab, CR, LF.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_resource(resource: Mapping[str, Any]) -> None:
    resource_type = str(resource.get("resourceType"))
    remote_id = resource.get("id")
    if not isinstance(remote_id, str) or not FHIR_ID.fullmatch(remote_id):
        size = len(remote_id) if isinstance(remote_id, str) else 0
        raise Refused(f"{resource_type}.id is not a FHIR id (1-64 letters, digits, '-' or '.'; got {size} characters)")
    if not _within(resource):
        _refuse(resource, resource_type)


def _within(resource: Mapping[str, Any]) -> bool:
    """The fast walk every pulled resource takes: no paths, nothing allocated but the stack."""
    stack: list[tuple[Any, int]] = [(resource, 0)]
    pop, push, control = stack.pop, stack.append, _CONTROL.search
    while stack:
        node, depth = pop()
        kind = type(node)
        if kind is str:
            if len(node) > MAX_STRING or control(node):
                return False
        elif kind is dict:
            if depth >= MAX_DEPTH or len(node) > MAX_ITEMS:
                return False
            for key, item in node.items():
                if len(key) > 64 or control(key):
                    return False
                push((item, depth + 1))
        elif kind is list:
            if depth >= MAX_DEPTH or len(node) > MAX_ITEMS:
                return False
            for item in node:
                push((item, depth + 1))
    return True


def _refuse(resource: Mapping[str, Any], resource_type: str) -> None:
    """Walk again, with paths, to say where the bound `_within` found broken is."""
    stack: list[tuple[Any, str, int]] = [(resource, resource_type, 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, str):
            if len(node) > MAX_STRING:
                raise Refused(f"{path} is longer than {MAX_STRING} characters ({len(node)})")
            if _CONTROL.search(node):
                raise Refused(f"{path} contains a control character")
        elif isinstance(node, dict | list):
            if depth >= MAX_DEPTH:
                raise Refused(f"{resource_type} is nested deeper than {MAX_DEPTH} levels")
            if len(node) > MAX_ITEMS:
                raise Refused(f"{path} has more than {MAX_ITEMS} items ({len(node)})")
            if isinstance(node, dict):
                for key, item in node.items():
                    if len(key) > 64 or _CONTROL.search(key):
                        raise Refused(f"{path} has an element name that is not FHIR")
                    stack.append((item, f"{path}.{key}", depth + 1))
            else:
                stack.extend((item, path, depth + 1) for item in node)
    raise Refused(f"{resource_type} breaks a bound")  # unreachable: `_within` and this walk agree


def check_columns(model: type[Base], values: Mapping[str, Any], resource_type: str) -> None:
    """Refuse a value longer than the column (and the API) allows, naming the field and the limit."""
    columns = model.__table__.columns
    for key, value in values.items():
        column = columns.get(key)
        length = column.type.length if column is not None and isinstance(column.type, String) else None
        if length is not None and isinstance(value, str) and len(value) > length:
            raise Refused(f"{resource_type}: {key} is longer than {length} characters ({len(value)})")
