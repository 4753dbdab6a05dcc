"""Sending a task after a commit: the write is saved, so a broker that cannot be reached is logged, not raised.

Every such task has a beat entry that finds its work in the database (the outbox, due notifications,
waiting exports), so nothing that runs after a commit turns a saved write into an error response and
the work is still done (issue #11).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

log = logging.getLogger(__name__)


def send_after_commit(task: Task, *args: Any) -> bool:  # type: ignore[type-arg]
    """`task.delay(*args)`; False (and a warning naming the task) when the broker refused it."""
    try:
        task.delay(*args)
    except Exception as unsent:  # noqa: BLE001 - any broker failure: beat picks the work up from the database
        log.warning("could not send %s (%s); beat will pick it up", task.name, type(unsent).__name__)
        return False
    return True
