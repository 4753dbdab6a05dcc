"""Reading submitted values: the checks every page needs, with the field named in the error."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import g, make_response, request
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from service.limits import ascii_int
from service.usecases.errors import ConflictError, IllegalTransition, Invalid, UseCaseError, VersionMismatch
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


def refused_in_place(form: str, exc: UseCaseError, page: Callable[[], str]) -> Response:
    """Show the same page again (422, 409) with the refusal next to the fields and what was typed
    kept, instead of an error page that loses the input."""
    fields = exc.details.get("fields") if isinstance(exc, Invalid) else None
    g.refusal = Refusal(form, fields if isinstance(fields, dict) and fields else {"": [said_plainly(exc)]})
    return make_response(page(), exc.status)


def said_plainly(exc: UseCaseError) -> str:
    """A refusal as the person at the page can act on it, without record ids or status codes."""
    if isinstance(exc, VersionMismatch):
        return "Someone else changed this while you were on the page. It now shows their change: make yours again."
    if isinstance(exc, IllegalTransition):
        return "This was already answered or closed meanwhile; the page now shows where it stands."
    return exc.message


View = Callable[..., Any]


def refused_on(form: str | Callable[..., str], page: Callable[..., str]) -> Callable[[View], View]:
    """A form's view whose refusals (Invalid 422, Conflict 409) are shown on ``page`` next to the
    form ``form`` (a key formatted with the URL's arguments, or a function of them), keeping the input."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(**kwargs: str) -> Any:
            try:
                return view(**kwargs)
            except (Invalid, ConflictError) as exc:
                key = form(**kwargs) if callable(form) else form.format(**kwargs)
                return refused_in_place(key, exc, lambda: page(**kwargs))

        return wrapper

    return decorate


@blueprint.app_template_global()
def saved_note(form: str, text: str = "Saved.", *, any_starting: bool = False) -> Markup:
    """The in-place confirmation beside the form a change was just saved from (``?saved=<form>``);
    ``any_starting``: from any form whose key starts with ``form`` (one that the change took away)."""
    saved = request.args.get("saved", "")
    if g.get("refusal") is not None or not (saved.startswith(form) if any_starting else saved == form):
        return Markup("")
    return Markup('<span class="saved-note" role="status"><span aria-hidden="true">✓</span> {}</span>').format(text)


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


@blueprint.app_template_global()
def stray_refusal(prefix: str, shown: list[str]) -> Markup:
    """The refusal of a form starting with ``prefix`` that the page no longer shows (a move somebody
    else's change took away meanwhile), shown where that form was."""
    refusal: Refusal | None = g.get("refusal")
    if refusal is None or not refusal.form.startswith(prefix) or refusal.form in shown:
        return Markup("")
    messages = [message for messages in refusal.fields.values() for message in messages]
    return Markup('<span class="field-error" id="{}" role="alert">{}</span>').format(
        _error_id(refusal.form, ""), " ".join(messages)
    )


def _error_id(form: str, name: str) -> str:
    return f"err-{form}-{name or 'form'}"
