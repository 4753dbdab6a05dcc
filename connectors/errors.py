"""Typed failures of partner I/O, so callers choose retry, dead-letter or re-read without parsing HTTP.

    ConnectorError
    ├── TemporaryError   try again later: network failure, 408, 429, 500, 502, 503, 504 (``retry_after``)
    ├── PermanentError   do not repeat the same request; dead-letter it with ``outcome``
    │   ├── NotSupported 405/501: the partner does not accept this interaction at all
    │   └── Malformed    a 2xx answer whose body is not the JSON it must be (not UTF-8, not JSON, a bad Bundle)
    ├── Conflict         409/412: the partner's version moved on; re-read, then decide
    └── AuthFailed       token request refused, or 401 even after one re-authentication

Every error carries the HTTP ``status`` (None when no response came back) and the partner's
OperationOutcome as a dict (``outcome``, None when the body was not one). Messages never contain
resource bodies: they name the method, the URL path and the OperationOutcome issue codes only.
"""

from collections.abc import Mapping
from typing import Any

# Retry only what is temporary (DESIGN.md "Data that must never be lost"; RFC 9110 §15.5.9, §15.6):
# 408 and 429 say "not now", 500/502/503/504 are server or gateway trouble that usually passes.
TEMPORARY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Many servers answer a stale If-Match with 409 instead of 412 (https://hl7.org/fhir/R4/http.html#concurrency).
CONFLICT_STATUSES = frozenset({409, 412})
# 405 = interaction not allowed on this type, 501 = not implemented by the server (RFC 9110 §15.5.6, §15.6.2).
NOT_SUPPORTED_STATUSES = frozenset({405, 501})


class ConnectorError(Exception):
    """Base of every failure talking to a partner."""

    def __init__(self, message: str, *, status: int | None = None, outcome: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.outcome = outcome


class TemporaryError(ConnectorError):
    """The request may succeed later; ``retry_after`` is the partner's hint in seconds, if it gave one."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        outcome: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
        timed_out: bool = False,
    ):
        super().__init__(message, status=status, outcome=outcome)
        self.retry_after = retry_after
        # The partner took longer than the read timeout: it may still be working on the request.
        self.timed_out = timed_out


class PermanentError(ConnectorError):
    """Repeating the same request cannot succeed; keep ``outcome`` for the dead-letter record."""


class NotSupported(PermanentError):
    """The partner refuses this interaction for this type (e.g. Task create on a read-only EHR)."""


class Malformed(PermanentError):
    """The partner answered 2xx with a body carebridge cannot read; the message says where, not what."""


class Conflict(ConnectorError):
    """The version condition failed (409 or 412): re-read the partner's resource before trying again."""


class AuthFailed(ConnectorError):
    """Authentication failed; ``oauth_error`` is the token endpoint's ``error`` code when there was one."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        outcome: Mapping[str, Any] | None = None,
        oauth_error: str | None = None,
    ):
        super().__init__(message, status=status, outcome=outcome)
        self.oauth_error = oauth_error


def error_for_status(
    status: int,
    where: str,
    *,
    outcome: Mapping[str, Any] | None = None,
    retry_after: float | None = None,
) -> ConnectorError:
    """The typed error for a non-2xx answer to ``where`` (e.g. "PUT /fhir/R4/Task/1"); the caller raises it.

    The message adds the OperationOutcome issue codes, never issue texts: those may quote patient data.
    """
    codes = ",".join(str(issue.get("code")) for issue in (outcome or {}).get("issue", ()))
    message = f"{where} -> {status}" + (f" [{codes}]" if codes else "")
    if status in TEMPORARY_STATUSES:
        return TemporaryError(message, status=status, outcome=outcome, retry_after=retry_after)
    if status == 401:
        return AuthFailed(message, status=status, outcome=outcome)
    if status in CONFLICT_STATUSES:
        return Conflict(message, status=status, outcome=outcome)
    if status in NOT_SUPPORTED_STATUSES:
        return NotSupported(message, status=status, outcome=outcome)
    return PermanentError(message, status=status, outcome=outcome)
