"""Configuration from environment variables, with defaults that run on a bare machine.

Embedded default: an SQLite file under ``instance/`` and an SQLite-backed Celery broker (kombu's
``sqla+sqlite://`` transport). Scale: point ``DATABASE_URL`` at PostgreSQL
(``postgresql+psycopg://...``) and ``CELERY_BROKER_URL`` at Redis; the code is the same.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# The default SECRET_KEY: fine on a developer's machine, never on a reachable server.
DEV_SECRET_KEY = "dev-only-change-me"


def _instance_dir() -> Path:
    """Where the embedded SQLite files, the export files and beat's schedule live: CAREBRIDGE_INSTANCE, else
    ``instance/`` in the source checkout carebridge runs from, else the user's data folder. Never the current
    directory: a command run from elsewhere would create a second, empty database there."""
    configured = os.environ.get("CAREBRIDGE_INSTANCE")
    if configured:
        return Path(configured).expanduser().resolve()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout / "instance"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "carebridge"


INSTANCE_DIR = _instance_dir()


def _sqlite_url(name: str) -> str:
    # Kombu's SQLite transport and Celery's result store open the file but do not create its folder.
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{INSTANCE_DIR / name}"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: _sqlite_url("carebridge.db"))
    celery_broker_url: str = field(default_factory=lambda: "sqla+" + _sqlite_url("celery-broker.db"))
    celery_result_backend: str = field(default_factory=lambda: "db+" + _sqlite_url("celery-results.db"))
    # Run Celery tasks inline (tests, one-process demos) instead of sending them to a broker.
    celery_eager: bool = False
    secret_key: str = DEV_SECRET_KEY
    # Public base URL partners use to reach carebridge (FHIR base = <public_url>/fhir/R4).
    public_url: str = "http://127.0.0.1:5000"
    worklist_page_size: int = 25
    # How often Celery beat pulls from and pushes to every partner (seconds).
    sync_pull_seconds: float = 300.0
    sync_push_seconds: float = 30.0
    # How long a partner's CapabilityStatement is trusted before a push reads it again (seconds);
    # a 405 or 404 on a type makes it stale at once.
    sync_capabilities_seconds: float = 3600.0
    # Non-global networks Subscription endpoints may reach ("" refuses them all, "1" allows any,
    # or "127.0.0.0/8,10.20.0.0/16"): see service.usecases.outbound_endpoints.
    subscription_allow_private: str = ""
    # A push worker's hold on the rows it sends, renewed by heartbeat while it sends (seconds): a
    # crashed worker's rows go to another worker within about this long.
    sync_lease_seconds: float = 30.0
    # Batch requests a push has in flight at once per partner (each on its own DB session).
    sync_push_parallel: int = 4
    # Rows per batch Bundle a push sends (a partner slow to answer large batches wants fewer).
    sync_push_batch: int = 50
    # Largest request body the REST and FHIR APIs read (bytes); larger ones answer 413.
    max_body_bytes: int = 1_048_576
    # Largest clinical document a referral takes (bytes); a larger upload answers 413.
    max_document_bytes: int = 4 * 1_048_576

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {}
        mapping: dict[str, tuple[str, type[str] | type[float] | type[int]]] = {
            "database_url": ("DATABASE_URL", str),
            "celery_broker_url": ("CELERY_BROKER_URL", str),
            "celery_result_backend": ("CELERY_RESULT_BACKEND", str),
            "secret_key": ("SECRET_KEY", str),
            "public_url": ("CAREBRIDGE_PUBLIC_URL", str),
            "sync_pull_seconds": ("CAREBRIDGE_SYNC_PULL_SECONDS", float),
            "sync_push_seconds": ("CAREBRIDGE_SYNC_PUSH_SECONDS", float),
            "sync_capabilities_seconds": ("CAREBRIDGE_SYNC_CAPABILITIES_SECONDS", float),
            "subscription_allow_private": ("CAREBRIDGE_SUBSCRIPTION_ALLOW_PRIVATE", str),
            "sync_lease_seconds": ("CAREBRIDGE_SYNC_LEASE_SECONDS", float),
            "sync_push_parallel": ("CAREBRIDGE_SYNC_PUSH_PARALLEL", int),
            "sync_push_batch": ("CAREBRIDGE_SYNC_PUSH_BATCH", int),
            "max_body_bytes": ("CAREBRIDGE_MAX_BODY_BYTES", int),
            "max_document_bytes": ("CAREBRIDGE_MAX_DOCUMENT_BYTES", int),
        }
        for attr, (var, convert) in mapping.items():
            if env.get(var):
                values[attr] = convert(env[var])
        if env.get("CELERY_TASK_ALWAYS_EAGER", "").lower() in {"1", "true", "yes"}:
            values["celery_eager"] = True
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
