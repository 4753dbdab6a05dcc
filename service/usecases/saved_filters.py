"""A person's saved worklist filters: name a set of filters, get it back in one click, drop it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models.web import SavedFilter
from service.usecases.errors import Invalid, NotFound

# What a worklist query may hold (service.web.worklist.parse_query); anything else is dropped.
KEYS = ("unit", "planner", "from", "to", "overdue", "sort", "dir")
MAX_NAME = 80
MAX_PER_USER = 20


def list_for(session: Session, user_id: str) -> list[SavedFilter]:
    return list(session.scalars(select(SavedFilter).where(SavedFilter.user_id == user_id).order_by(SavedFilter.name)))


def save(session: Session, user_id: str, *, name: str, query: str) -> SavedFilter:
    """Save (or replace, by name) the filters of `query`, a worklist query string."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise Invalid("the filter needs a name", fields={"name": [f"give it a name of 1 to {MAX_NAME} characters"]})
    kept = urlencode([(k, v) for k, v in parse_qsl(query) if k in KEYS and v][: len(KEYS)])
    if len(kept) > 500:
        raise Invalid("these filters are too long to save", fields={"query": ["use fewer or shorter filters"]})
    existing = {f.name: f for f in list_for(session, user_id)}
    saved = existing.get(name)
    if saved is None:
        if len(existing) >= MAX_PER_USER:
            raise Invalid("too many saved filters", fields={"name": [f"delete one first (at most {MAX_PER_USER})"]})
        saved = SavedFilter(user_id=user_id, name=name, query=kept)
        session.add(saved)
    else:
        saved.query = kept
    session.commit()
    return saved


def delete(session: Session, user_id: str, filter_id: str) -> None:
    saved = session.get(SavedFilter, filter_id)
    if saved is None or saved.user_id != user_id:  # someone else's is as good as absent
        raise NotFound("saved filter", filter_id)
    session.delete(saved)
    session.commit()
