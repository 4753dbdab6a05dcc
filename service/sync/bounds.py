"""Bounds a pulled resource keeps before anything of it reaches the database.

Two checks, both raising `Refused` with a PHI-free message (where and how big, never the value):
- `check_resource`: the partner's JSON as a whole: a FHIR id
  (https://hl7.org/fhir/R4/datatypes.html#id), then `fhir_mappings.bounds.check_json` (nesting
  depth and control characters, as the APIs check request bodies, plus string and list sizes, since
  no body-size limit stands in front of a pull). The JSON is stored on the link as it came, so it
  must fit a JSON column (orjson refuses more than 255 levels; PostgreSQL refuses U+0000 in jsonb).
- `check_columns`: the values carebridge keeps against the columns they go to, which are the
  limits the REST API's schemas enforce (e.g. family name 100, ward 40, businessStatus 120).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.fhir_client import FHIR_ID
from fhir_mappings.bounds import check_json
from fhir_mappings.validation.issues import fhirpath
from service.db import Base, text_lengths
from service.sync.errors import Refused

# A Patient has a handful of identifiers, names and addresses; a list this long is not a person's.
MAX_ITEMS = 1000
# Narrative and attachments aside, FHIR strings are short; 1 MiB bounds what a row may carry.
MAX_STRING = 1 << 20


def check_resource(resource: Mapping[str, Any]) -> None:
    resource_type = str(resource.get("resourceType"))
    remote_id = resource.get("id")
    if not isinstance(remote_id, str) or not FHIR_ID.fullmatch(remote_id):
        size = len(remote_id) if isinstance(remote_id, str) else 0
        raise Refused(f"{resource_type}.id is not a FHIR id (1-64 letters, digits, '-' or '.'; got {size} characters)")
    refused = check_json(resource, max_string=MAX_STRING, max_items=MAX_ITEMS)
    if refused is not None:
        raise Refused(f"{fhirpath((resource_type, *refused.path))}: {refused.message}")


def check_columns(model: type[Base], values: Mapping[str, Any], resource_type: str) -> None:
    """Refuse a value longer than the column (and the API) allows, naming the field and the limit."""
    lengths = text_lengths(model)
    for key, value in values.items():
        length = lengths.get(key)
        if length is not None and isinstance(value, str) and len(value) > length:
            raise Refused(f"{resource_type}: {key} is longer than {length} characters ({len(value)})")
