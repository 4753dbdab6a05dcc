"""Group commit of access events: requests that audit at the same time share one INSERT and one commit.

Every FHIR read writes an access event, and the event must be durable before the response leaves
(an audit trail that a crash can shorten is no audit trail). One commit per read made the audit
most of a read's cost: on PostgreSQL each commit waits for its WAL flush, on SQLite every reader
queues for the one write lock. So a request hands its events to the writer of its engine and waits:

- when no commit is in flight, the request commits what is waiting (its own events and those of
  any request that arrived meanwhile) in one transaction, then wakes the requests it wrote for;
- when one is in flight, the request waits; after that commit, one of the waiting requests writes
  everything that queued up during it. No thread of its own, nothing kept in memory past a commit.

`write` returns only once the transaction holding the events has committed, and raises when it
failed: the caller answers with an error rather than without an audit. A batch refused as a whole
(one request's event too long for its column) is retried one request at a time, so one bad event
fails only its own request.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from service.db import table_of
from service.models.audit_events import AccessEvent

_INSERT = insert(table_of(AccessEvent))


class _Ticket:
    """One request's events, and what became of them."""

    def __init__(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.rows = rows
        self.done = False
        self.error: BaseException | None = None


class GroupCommit:
    def __init__(self, engine: Engine) -> None:
        # A weak reference: the writer must not keep a disposed engine (and its pool) alive.
        self._engine = weakref.ref(engine)
        self._turn = threading.Condition()
        self._waiting: list[_Ticket] = []
        self._committing = False

    def write(self, rows: Sequence[Mapping[str, Any]], connection: Connection | None = None) -> None:
        """Insert `rows` into access_events; returns once they are committed, raises if they were not.
        `connection`: an idle one of the caller's, to write on if this request commits the batch."""
        ticket = _Ticket(rows)
        with self._turn:
            self._waiting.append(ticket)
            while self._committing and not ticket.done:
                self._turn.wait()
            if not ticket.done:  # no commit in flight: this request writes what waits, its own events among them
                batch, self._waiting, self._committing = self._waiting, [], True
        if not ticket.done:
            try:
                self._commit(batch, connection)
            except BaseException as interrupted:  # nothing may pass for committed when the commit never ran
                for written in batch:
                    written.error = written.error or interrupted
                raise
            finally:
                with self._turn:
                    for written in batch:
                        written.done = True
                    self._committing = False
                    self._turn.notify_all()
        if ticket.error is not None:
            raise ticket.error

    def _commit(self, batch: list[_Ticket], connection: Connection | None) -> None:
        if connection is not None:
            self._on(connection, batch)
            return
        engine = self._engine()
        if engine is None:
            raise RuntimeError("the database engine of the access audit was disposed")
        with engine.connect() as own:
            self._on(own, batch)

    def _on(self, connection: Connection, batch: list[_Ticket]) -> None:
        try:
            _insert(connection, [row for ticket in batch for row in ticket.rows])
        except Exception as failed:
            if len(batch) == 1:
                batch[0].error = failed
                return
            for ticket in batch:
                try:
                    _insert(connection, ticket.rows)
                except Exception as alone:
                    ticket.error = alone


def _insert(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        # A read's connection (service.app.reads_only): the events are one transaction, committed or not at all.
        connection.execution_options(isolation_level=connection.default_isolation_level)
    # The INSERT is the transaction's first statement: on SQLite it waits busy_timeout for the write
    # lock even though the transaction began deferred (service.db._sqlite_begin).
    with connection.begin():
        connection.execute(_INSERT, rows)


def commit_access_events(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write `rows` and commit them before returning; ends the caller's transaction, which is over by now
    (it only read, or its use case committed). On SQLite it must end first: a transaction that has read
    cannot be sure to become a writing one (service.db._sqlite_begin)."""
    bind = session.get_bind()
    session.commit()
    if isinstance(bind, Engine):  # a session of its own (a task, a command): the writer checks a connection out
        writer_for(bind).write(rows)
    elif bind.in_transaction():  # a session joined to its caller's transaction (the tests'): written in it
        session.execute(_INSERT, rows)
        session.commit()
    else:  # the request's connection (service.app.request_session), idle now
        writer_for(bind.engine).write(rows, bind)


_writers: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def writer_for(engine: Engine) -> GroupCommit:
    """The one writer of `engine` in this process (a gunicorn worker's threads share it)."""
    with _writers_lock:
        found = _writers.get(engine)
        if found is None:
            found = _writers[engine] = GroupCommit(engine)
        return found
