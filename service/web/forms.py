"""Reading submitted values: the checks every page needs, with the field named in the error."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from flask import g, make_response, request
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from service.limits import ascii_int
from service.usecases.errors import Invalid
from service.web.blueprint import blueprint


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


@dataclass(frozen=True)
class Refusal:
    """A form the use case refused: which one, and the message for each of its fields."""

    form: str
    fields: dict[str, list[str]]


def refused_in_place(form: str, exc: Invalid, page: Callable[[], str]) -> Response:
    """Show the same page again (422) with the refusal next to the fields and what was typed kept,
    instead of an error page that loses the input."""
    fields = exc.details.get("fields")
    g.refusal = Refusal(form, fields if isinstance(fields, dict) and fields else {"": [exc.message]})
    return make_response(page(), 422)


def _refusal(form: str) -> Refusal | None:
    refusal: Refusal | None = g.get("refusal")
    return refusal if refusal is not None and refusal.form == form else None


@blueprint.app_template_global()
def kept(form: str, name: str, default: object = "") -> object:
    """What the user typed into a refused form; otherwise the record's value."""
    return request.form.get(name, "") if _refusal(form) else default


@blueprint.app_template_global()
def field_error(form: str, name: str) -> Markup:
    """The message next to a refused field (also the form's own message when no field is named)."""
    refusal = _refusal(form)
    messages = refusal.fields.get(name) if refusal else None
    if not messages:
        return Markup("")
    return Markup('<span class="field-error" id="{}" role="alert">{}</span>').format(
        _error_id(form, name), " ".join(messages)
    )


@blueprint.app_template_global()
def invalid(form: str, name: str) -> Markup:
    """Attributes marking a refused field for assistive technology, focused so the page opens there."""
    refusal = _refusal(form)
    if not refusal or name not in refusal.fields:
        return Markup("")
    return Markup(' aria-invalid="true" aria-describedby="{}" autofocus').format(escape(_error_id(form, name)))


def _error_id(form: str, name: str) -> str:
    return f"err-{form}-{name or 'form'}"
