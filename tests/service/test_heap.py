"""Long-running processes keep what they loaded at start out of the garbage collector (service/heap.py):
a Celery worker and each of its pool children, and each gunicorn worker of `carebridge serve`."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from celery.signals import worker_init, worker_process_init
from celery.utils.dispatch import Signal

from service import wsgi_server
from service.app import create_app
from service.config import Settings


@pytest.fixture
def loaded() -> Iterator[None]:
    """The app loaded, as a process has it at start, and nothing frozen yet."""
    gc.unfreeze()
    create_app(Settings.from_env(database_url="sqlite://", celery_eager=True))
    yield
    gc.unfreeze()  # the test run's heap goes back to the collector


@pytest.mark.parametrize("signal", [worker_init, worker_process_init], ids=["worker", "pool child"])
def test_a_worker_process_keeps_what_it_loaded_at_start_out_of_the_garbage_collector(
    signal: Signal, loaded: None
) -> None:
    assert gc.get_freeze_count() == 0
    signal.send(sender=None)
    assert gc.get_freeze_count() > 0


def test_each_web_server_process_keeps_what_it_loaded_out_of_the_garbage_collector(loaded: None) -> None:
    server = wsgi_server._Server(wsgi_server.options(host="127.0.0.1", port=0, workers=1, threads=1), lambda: None)
    assert gc.get_freeze_count() == 0
    server.cfg.post_worker_init(object())  # what gunicorn calls in a worker once it has loaded the app
    assert gc.get_freeze_count() > 0
