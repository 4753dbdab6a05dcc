"""Small pieces every REST view uses: paging arguments, the ETag version (who acts: service.api.auth)."""

from __future__ import annotations

from flask import request
from marshmallow import Schema, fields, validate

from service.db import IdType
from service.limits import MAX_OFFSET, etag_version


def expected_version() -> int | None:
    """Optimistic concurrency: ``If-Match: "3"`` (or ``W/"3"``) must name the current version."""
    header = request.headers.get("If-Match")
    if not header:
        return None
    version = etag_version(header)
    return -1 if version is None else version


def record_id(**options: object) -> fields.Str:
    """A record id in a body: at most as long as the id columns, so it can name a record or be refused."""
    return fields.Str(validate=validate.Length(min=1, max=IdType.length), **options)  # type: ignore[arg-type]


class PageArgs(Schema):
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Int(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


class Coding(Schema):
    system = fields.Str(load_default=None)
    code = fields.Str(required=True)
    display = fields.Str(load_default=None)
