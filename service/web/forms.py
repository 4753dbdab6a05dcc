"""Reading submitted values: the checks every page needs, with the field named in the error."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flask import request

from service.limits import ascii_int
from service.usecases.errors import Invalid


def optional_date(values: Mapping[str, str], name: str) -> date | None:
    raw = values.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise Invalid("a date is not valid", fields={name: ["use YYYY-MM-DD"]}) from exc


def required_text(name: str, what: str) -> str:
    text = request.form.get(name, "").strip()
    if not text:
        raise Invalid(f"{what} needs text", fields={name: ["must not be blank"]})
    return text


def expected_version() -> int | None:
    """The record version the form was rendered from, for optimistic locking (None = not sent)."""
    return ascii_int(request.form.get("version"))
