"""gunicorn run in-process, so ``carebridge serve`` needs nothing but the package."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from service.config import Settings
from service.heap import settle_heap

# Method, path without the query string, status, size, time: a query string may carry an MRN or a name
# (Patient?identifier=...), and so may the Referer, so neither is logged (issue #11, no PHI in logs).
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any], load: Callable[[], Any]) -> None:
        self.options = options
        self._load = load
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._load()


def _create_app() -> Any:
    from service.app import create_app

    return create_app()


def sizing(settings: Settings) -> tuple[int, int]:
    """(workers, threads) for `carebridge serve` on this database, unless given on the command line."""
    if settings.is_sqlite:
        # SQLite has one writer at a time and every FHIR read writes its access event: more processes add
        # no write capacity, only more connections waiting on busy_timeout. Threads of one process share
        # its pool; in WAL mode their reads run side by side (service.db).
        return 1, 8
    return 2, 4


def options(*, host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        # gthread workers: a thread waits on the database or a slow client without holding a process.
        "threads": threads,
        # Ctrl-C (or a deploy's stop) ends the server within seconds: a gthread worker that has not exited
        # after 3 s is stopped by the master, instead of after gunicorn's default 30 s (issue #14).
        "graceful_timeout": 3,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "post_worker_init": _settled,
    }


def _settled(_worker: Any) -> None:
    """Each worker process, once it has loaded the app (gunicorn calls it with the worker)."""
    settle_heap()


def run(*, host: str, port: int, workers: int, threads: int, load: Callable[[], Any] = _create_app) -> None:
    _Server(options(host=host, port=port, workers=workers, threads=threads), load).run()
