"""The real app on a free loopback port, over a committed demo database (not the rollback session).

Import the ``live_app`` fixture into a test module or conftest: ``from tests.browser.live_server import live_app``.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from service.app import create_app, runtime
from service.config import Settings
from service.demo import load_demo
from service.models import HealthConcern, Referral, Stay


@dataclass(frozen=True)
class LiveApp:
    url: str
    settings: Settings
    session_factory: sessionmaker[Any]

    def session(self) -> Session:
        return self.session_factory()

    def fresh_stay(self, *, unscreened: bool = False) -> Stay:
        """An active demo stay nobody has referred yet (each test that refers takes another one);
        `unscreened`: of a patient with no health concern yet either. Ids are random, so which demo
        stay comes first differs from run to run: one whose patient the demo data had screened made
        the screening test read that patient's earlier concerns."""
        with self.session() as db:
            referred = select(Referral.stay_id).where(Referral.stay_id.is_not(None))
            untouched = [Stay.status == "in-progress", Stay.id.not_in(referred)]
            if unscreened:
                untouched.append(Stay.patient_id.not_in(select(HealthConcern.patient_id)))
            stay = db.scalars(select(Stay).where(*untouched).order_by(Stay.id)).first()
            assert stay is not None, "the demo data has no unreferred active stay left"
            stay.patient  # noqa: B018  (loaded before the session closes)
            return stay


@pytest.fixture(scope="module")
def live_app() -> Iterator[LiveApp]:
    with tempfile.TemporaryDirectory() as tmp:
        # Eager Celery: the outbox relay runs inline after each commit, no broker needed.
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'demo.db'}", secret_key=secrets.token_hex(16), celery_eager=True
        )
        load_demo(settings)
        app = create_app(settings)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="carebridge-live", daemon=True)
        thread.start()
        try:
            yield LiveApp(f"http://127.0.0.1:{server.server_port}", settings, runtime(app).session_factory)
        finally:
            server.shutdown()
            thread.join(timeout=10)
