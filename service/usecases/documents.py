"""Clinical documents sent with a referral: attached by the hospital that runs the case, read by
that hospital and the referral's recipients (service.auth.policy, DocumentReference).

What is stored is checked by its content, not only by the type the browser or client declares
(OWASP File Upload Cheat Sheet: "validate the file type, don't trust the Content-Type header"):
a PDF starts with the `%PDF-` header (ISO 32000-1, 7.5.2), plain text is UTF-8 without control
characters other than tab, CR, LF and form feed. Anything else is refused (415), as is a file
that claims one of these types and is not (422) or is larger than the configured limit (413).
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fhir_mappings.codes import DOCUMENT_TYPE
from service import clock
from service.auth import policy
from service.auth.context import AccessContext
from service.models import Referral
from service.models.documents import CONTENT_TYPES, Document, DocumentContent
from service.usecases import access
from service.usecases.changes import apply_changes, create
from service.usecases.errors import ConflictError, Invalid, NotFound, TooLarge, UnsupportedType
from service.usecases.unit_of_work import get_or_404, unit_of_work

PDF, TEXT = CONTENT_TYPES
# Declared types that say nothing about the content: the content decides.
_UNDECLARED = {"", "application/octet-stream", "binary/octet-stream"}
_TEXT_CONTROLS_ALLOWED = {"\t", "\n", "\r", "\f"}
MAX_TITLE = 200
# A referral that was withdrawn or entered in error takes no more documents.
_CLOSED = ("revoked", "entered-in-error")


def document_types() -> dict[str, str]:
    """The document types a planner chooses from: LOINC code -> display."""
    return dict(DOCUMENT_TYPE.concepts)


def content_type_of(data: bytes, declared: str | None) -> str:
    """The content type of `data`, checked against the declared one (415 or 422 when refused)."""
    declared = (declared or "").split(";")[0].strip().lower()
    if declared not in (*CONTENT_TYPES, *_UNDECLARED):
        raise UnsupportedType(
            "attach a PDF or a plain-text file", details={"fields": {"file": [f"'{declared}' is not a PDF or text"]}}
        )
    if not data:
        raise Invalid("the file is empty", fields={"file": ["choose a file that has content"]})
    if data.startswith(b"%PDF-"):
        if declared == TEXT:
            raise Invalid("the file is a PDF, not text", fields={"file": ["this file is a PDF; it was sent as text"]})
        return PDF
    if declared == PDF:
        raise Invalid("the file is not a PDF", fields={"file": ["this file does not start like a PDF (%PDF-)"]})
    problem = _text_problem(data)
    if problem is None:
        return TEXT
    if declared == TEXT:
        raise Invalid("the file is not plain text", fields={"file": [problem]})
    raise UnsupportedType("attach a PDF or a plain-text file", details={"fields": {"file": [problem]}})


def _text_problem(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "this file is neither a PDF nor UTF-8 text"
    if any(unicodedata.category(ch) == "Cc" and ch not in _TEXT_CONTROLS_ALLOWED for ch in text):
        return "this text file holds control characters"
    return None


@dataclass(frozen=True)
class NewDocument:
    """A file to attach, as it came: its bytes, the type it was declared as, its name, the
    document type (LOINC) and title the person chose."""

    type_code: str
    data: bytes
    declared_type: str | None
    title: str | None = None
    filename: str | None = None


def attach(session: Session, ctx: AccessContext, referral_id: str, new: NewDocument, *, max_bytes: int) -> Document:
    """Attach a document to a referral, for a principal whose hospital runs the case."""
    referral: Referral = access.writable(session, ctx, "ServiceRequest", referral_id)
    access.require(ctx, "DocumentReference", "c")
    author_org_id = ctx.organization_id or referral.requester_ref.removeprefix("Organization/")
    return add_document(session, referral_id, new, max_bytes=max_bytes, actor=ctx.actor, author_org_id=author_org_id)


def add_document(
    session: Session, referral_id: str, new: NewDocument, *, max_bytes: int, actor: str, author_org_id: str
) -> Document:
    """Store a checked document with the referral's new version, in one transaction (its
    `supportingInfo` changed, so readers and subscribers see it)."""
    errors: dict[str, list[str]] = {}
    type_code, data = new.type_code, new.data
    if type_code not in DOCUMENT_TYPE.concepts:
        errors["type"] = ["choose one of the document types offered"]
    name = " ".join((new.title or "").split()) or _title_from(new.filename) or DOCUMENT_TYPE.concepts.get(type_code, "")
    if len(name) > MAX_TITLE or any(unicodedata.category(ch) == "Cc" for ch in name):
        errors["title"] = [f"give a title of at most {MAX_TITLE} characters, without control characters"]
    if errors:
        raise Invalid("the document cannot be attached", fields=errors)
    if len(data) > max_bytes:
        raise TooLarge(
            f"the file is larger than {max_bytes // 1024} KiB",
            details={"fields": {"file": [f"files of at most {max_bytes // 1024} KiB are taken"]}},
        )
    content_type = content_type_of(data, new.declared_type)
    with unit_of_work(session):
        referral = get_or_404(session, Referral, referral_id)
        if referral.status in _CLOSED:
            raise ConflictError(f"the referral is {referral.status}; it takes no more documents")
        document = create(
            session,
            Document(
                patient_id=referral.patient_id,
                referral_id=referral.id,
                stay_id=referral.stay_id,
                type_code=type_code,
                status="current",
                title=name,
                content_type=content_type,
                size=len(data),
                sha1=base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode(),
                author=actor,
                author_org_id=author_org_id,
            ),
            actor=actor,
        )
        session.add(DocumentContent(document_id=document.id, data=data))
        apply_changes(session, referral, {"updated_at": clock.now()}, actor=actor, action="attach_document")
        return document


def _title_from(filename: str | None) -> str:
    stem = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return " ".join(stem.split())[:MAX_TITLE]


def of_referral(session: Session, ctx: AccessContext, referral_id: str) -> list[Document]:
    """The documents of a referral the principal may read (404 for a referral it may not see)."""
    access.readable(session, ctx, "ServiceRequest", referral_id)
    access.require(ctx, "DocumentReference", "s")
    rows = list(
        session.scalars(
            select(Document)
            .where(Document.referral_id == referral_id, policy.visible_rows(ctx, "DocumentReference"))
            .order_by(Document.created_at, Document.id)
        )
    )
    access.listed(ctx, "DocumentReference", [row.patient_id for row in rows])
    return rows


def of_referrals(session: Session, ctx: AccessContext, referral_ids: list[str]) -> dict[str, list[Document]]:
    """The documents of several referrals the principal may read, by referral (one query; the
    web pages list them on every card)."""
    if not referral_ids or not policy.allows(ctx, "DocumentReference", "s"):
        return {}
    rows = session.scalars(
        select(Document)
        .where(Document.referral_id.in_(referral_ids), policy.visible_rows(ctx, "DocumentReference"))
        .order_by(Document.created_at, Document.id)
    )
    out: dict[str, list[Document]] = {}
    for row in rows:
        out.setdefault(row.referral_id, []).append(row)
    if out:
        access.listed(ctx, "DocumentReference", [d.patient_id for docs in out.values() for d in docs])
    return out


def readable(session: Session, ctx: AccessContext, document_id: str) -> Document:
    """A document's metadata, when the principal may read it (404 otherwise, audited)."""
    document: Document = access.readable(session, ctx, "DocumentReference", document_id)
    return document


def content(session: Session, ctx: AccessContext, document_id: str) -> tuple[Document, bytes]:
    """A document and its bytes, when the principal may read it."""
    document = readable(session, ctx, document_id)
    return document, content_bytes(session, document)


def content_bytes(session: Session, document: Document) -> bytes:
    stored = session.get(DocumentContent, document.id)
    if stored is None:  # the row and its content are written in one transaction
        raise NotFound("Document", document.id)
    return stored.data
