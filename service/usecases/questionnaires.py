"""Screening instruments (FHIR Questionnaire): load one (validated), find one by its canonical.

The instruments carebridge ships (`fhir_mappings.screening.INSTRUMENTS`) are loaded by
`carebridge db upgrade` and `carebridge demo`; an operator loads more with
`carebridge questionnaires load FILE`. Loading a Questionnaire again with the same url and
version replaces it (a corrected text), never makes a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fhir_mappings.screening import INSTRUMENTS, instrument
from fhir_mappings.validation import validate
from service.db import new_id
from service.models import Questionnaire
from service.usecases.errors import Invalid
from service.usecases.unit_of_work import get_or_404, unit_of_work

# Questionnaire.status is a required binding (https://hl7.org/fhir/R4/valueset-publication-status.html),
# which the R4 models do not check.
STATUSES = ("draft", "active", "retired", "unknown")


def refuse_invalid(resource: Mapping[str, Any], resource_type: str) -> None:
    """422 naming each path at fault unless `resource` is a valid FHIR R4 `resource_type`."""
    if resource.get("resourceType") != resource_type:
        raise Invalid(f"not a {resource_type}", fields={"resourceType": [f"must be {resource_type}"]})
    errors: dict[str, list[str]] = {}
    for issue in validate(resource):
        if issue.is_error:
            errors.setdefault(issue.expression, []).append(issue.diagnostics)
    if errors:
        raise Invalid(f"the {resource_type} is not valid FHIR R4", fields=errors)


def load_questionnaire(session: Session, resource: Mapping[str, Any]) -> Questionnaire:
    """Store a Questionnaire (422 naming each problem when it is not a valid one with a url)."""
    refuse_invalid(resource, "Questionnaire")
    if resource.get("status") not in STATUSES:
        raise Invalid("unknown Questionnaire status", fields={"status": [f"must be one of {', '.join(STATUSES)}"]})
    url, version = resource.get("url"), resource.get("version") or ""
    if not isinstance(url, str) or not url:
        raise Invalid("a screening instrument needs a canonical url", fields={"url": ["is required"]})
    with unit_of_work(session):
        row = session.scalar(select(Questionnaire).where(Questionnaire.url == url, Questionnaire.version == version))
        if row is None:
            # The instrument keeps its own id unless another instrument has it already.
            wanted = resource.get("id")
            taken = not isinstance(wanted, str) or session.get(Questionnaire, wanted) is not None
            row = Questionnaire(id=new_id() if taken else wanted, url=url)
            session.add(row)
        row.version = version
        row.name, row.title = resource.get("name"), resource.get("title")
        row.status = str(resource.get("status"))
        row.resource = {**resource, "id": row.id}
    return row


def load_shipped(session: Session) -> list[Questionnaire]:
    """The instruments carebridge ships, loaded (again: loading is idempotent)."""
    return [load_questionnaire(session, instrument(name)) for name in INSTRUMENTS]


def by_canonical(session: Session, canonical: str) -> Questionnaire | None:
    """The instrument a QuestionnaireResponse names: `url` or `url|version`
    (https://hl7.org/fhir/R4/references.html#canonical); the newest loaded version for a bare url."""
    url, _, version = canonical.partition("|")
    query = select(Questionnaire).where(Questionnaire.url == url)
    if version:
        query = query.where(Questionnaire.version == version)
    return session.scalars(query.order_by(Questionnaire.updated_at.desc())).first()


def read(session: Session, ident: str) -> Questionnaire:
    """An instrument by id (instruments are not patient data: every reader of them sees all)."""
    return get_or_404(session, Questionnaire, ident)


def search(
    session: Session, *, url: str | None = None, name: str | None = None, status: str | None = None
) -> list[Questionnaire]:
    """The loaded instruments, by canonical url, computable name and status (each exact), ordered by url."""
    query = select(Questionnaire)
    for column, value in ((Questionnaire.url, url), (Questionnaire.name, name), (Questionnaire.status, status)):
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query.order_by(Questionnaire.url, Questionnaire.version)))
