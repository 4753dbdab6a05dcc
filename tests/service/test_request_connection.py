"""A request's session holds one connection for the whole request (service.app.request_session); what
runs its own transaction on that connection once the request's is over commits it (a patient match
decided in the web app: service.sync.matches.decide)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from service.app import create_app, request_session
from service.config import Settings
from service.db import make_engine
from service.models import Organization
from service.sync.pull import page_transaction


def test_a_page_transaction_on_a_requests_idle_connection_is_committed(committed_url: str) -> None:
    app = create_app(Settings(database_url=committed_url, celery_eager=True))
    with app.test_request_context("/app/matches/1", method="POST"):
        session = request_session()
        session.commit()
        bind = session.get_bind()
        assert isinstance(bind, Connection) and not bind.in_transaction()
        with page_transaction(bind) as page:
            page.add(Organization(id="org-page-transaction", name="Bayside SNF", kind="snf"))
            page.commit()
    observer = make_engine(committed_url)
    with observer.connect() as conn:
        names = list(conn.scalars(select(Organization.name).where(Organization.id == "org-page-transaction")))
    observer.dispose()
    assert names == ["Bayside SNF"]
