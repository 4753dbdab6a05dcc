"""What a long-running carebridge process does with what it loaded at start."""

from __future__ import annotations

import gc
from typing import Any


def settle_heap(**_signal: Any) -> None:
    """Keep what a process has loaded at start (modules, models, mappers, the app: some 200,000
    objects) out of the cyclic garbage collector's walks: each full collection visited them all,
    0.13-0.4 s of CPU, in every other push round of 500 changes in a worker, and as often as a web
    server's requests allocate enough. What the process makes later is collected as before
    (https://docs.python.org/3/library/gc.html#gc.freeze). A Celery signal handler, and through
    `service.wsgi_server` gunicorn's `post_worker_init` hook."""
    gc.collect()
    gc.freeze()
