"""How an unexpected failure is logged: what failed and where, never the values that made it fail.

Exception messages carry data: PostgreSQL's "DETAIL: Key (mrn)=(...) already exists", a parser's
"invalid value '...'", SQLAlchemy's parameter list. So the log names the request (method and path,
which holds the record id, never the query string), the exception types along the chain, a
database error's primary message and statement (with placeholders, no values), and the stack
frames. DESIGN.md "Logs"; issue #11.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import traceback

from celery.exceptions import Retry
from flask import has_request_context, request
from sqlalchemy.exc import DBAPIError, StatementError


def log_unexpected(log: logging.Logger, exc: BaseException) -> None:
    where = f"{request.method} {request.path}" if has_request_context() else "outside a request"
    log.error("unhandled error in %s: %s\n%s", where, describe(exc), _frames(exc))


class TaskFailures(logging.Filter):
    """Celery's lines about a task that failed or will be retried, on its `celery.app.trace` logger, the same
    way: "Task x[id] raised unexpected: <exception>", "raised expected", "retry: Retry in 2s: <exception>",
    "rejected". The task name and id stay (task arguments are record ids); the exception's message and values
    go, its types stay (Celery's own text is `str()` or `repr()` of the exception)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict) and "exc" in record.args:
            # Celery logs these in the `except` clause that caught the exception, when it gives no exc_info.
            failed = record.exc_info[1] if record.exc_info and record.exc_info[1] else sys.exc_info()[1]
            record.args = {**record.args, "exc": _task_exception(failed, with_frames=bool(record.exc_info))}
            record.exc_info, record.exc_text = None, None
            record.data = {}  # Celery's copy of the same context, for structured handlers
        return True


def _task_exception(failed: BaseException | None, *, with_frames: bool) -> str:
    if failed is None:
        return "(exception not logged: it may carry data)"
    if isinstance(failed, Retry):
        cause = f": {describe(failed.exc)}" if failed.exc is not None else ""
        return f"Retry {failed.humanize()}{cause}"
    return f"{describe(failed)}\n{_frames(failed)}" if with_frames else describe(failed)


def log_task_failures_without_values() -> None:
    trace = logging.getLogger("celery.app.trace")
    if not any(isinstance(installed, TaskFailures) for installed in trace.filters):
        trace.addFilter(TaskFailures())


def describe(exc: BaseException) -> str:
    """The exception types along the chain, outermost first, with what is safe to say of each."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(parts) < 10:
        parts.append(_one(current))
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return " <- ".join(parts)


def _one(exc: BaseException) -> str:
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    if isinstance(exc, DBAPIError):
        return f"{name}: {_database_says(exc.orig)} [SQL: {' '.join(str(exc.statement).split())}]"
    if isinstance(exc, StatementError):
        return f"{name} [SQL: {' '.join(str(exc.statement).split())}]"
    return name


def _database_says(error: BaseException | None) -> str:
    # SQLite's messages name tables and columns only ("UNIQUE constraint failed: patients.mrn").
    if isinstance(error, sqlite3.Error):
        return str(error)
    # PostgreSQL's messages may quote a value ('invalid input syntax for type date: "..."'), and their
    # DETAIL does ("Key (mrn)=(...)"): keep the SQLSTATE and the names of what was involved.
    diag = getattr(error, "diag", None)
    names = ("sqlstate", "table_name", "column_name", "constraint_name")
    return " ".join(f"{n}={getattr(diag, n)}" for n in names if getattr(diag, n, None))


def _frames(exc: BaseException) -> str:
    return "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__))).rstrip()
