"""HTTP plumbing shared by the FHIR client and the token clients: pooled session, timeouts, retries.

`Transport.send` retries only temporary failures (connection errors, timeouts, 408, 429, 500, 502,
503, 504) with exponential backoff and full jitter, honours ``Retry-After``, and stops at whichever
budget runs out first: ``max_attempts`` or ``max_total_sleep``. It returns every other response
as it came; when the budget is spent it raises `TemporaryError` (with the partner's ``retry_after``
hint, so a task queue can reschedule instead of sleeping).

A request that is not idempotent (a plain POST create, a batch containing one) is retried only when
the partner surely did not act on it: the connection was never established, or 429 "throttled".
Resending it after a read timeout or a 5xx could create a second copy.

Logs carry method, URL path with query *names* only, status and attempt, never bodies or query
values: both may hold patient data.
"""

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from connectors.errors import TEMPORARY_STATUSES, ConnectorError, TemporaryError, error_for_status

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    """Budget for one logical request. Delays are in seconds."""

    max_attempts: int = 5
    max_total_sleep: float = 30.0
    base_delay: float = 0.5
    max_delay: float = 8.0


@dataclass(frozen=True)
class HttpSettings:
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    # A Bundle's entries are processed one after another, so its answer may take this much longer
    # per entry: resending a batch the partner is still working on only doubles its work.
    read_timeout_per_entry: float = 1.0
    pool_size: int = 10
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    user_agent: str = "carebridge-connectors"

    def bundle_read_timeout(self, entries: int) -> float:
        return self.read_timeout + self.read_timeout_per_entry * entries


def redact_url(url: str) -> str:
    """Path plus query parameter names, e.g. ``/fhir/R4/Patient?identifier=&_count=``."""
    parts = urlsplit(url)
    names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    return parts.path + ("?" + "&".join(f"{name}=" for name in names) if names else "")


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT (RFC 9110 §5.6.7); "-0000" parses as naive
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def backoff_delay(policy: RetryPolicy, retry_number: int, rand: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(max_delay, base_delay * 2**retry_number)).

    Spreads the retries of many workers hit by the same outage instead of synchronising them
    (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
    """
    return rand() * min(policy.max_delay, policy.base_delay * 2**retry_number)


def operation_outcome(response: requests.Response) -> dict[str, Any] | None:
    """The response body when it is an OperationOutcome (https://hl7.org/fhir/R4/operationoutcome.html)."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome" else None


def describe(method: str, url: str) -> str:
    return f"{method} {redact_url(url)}"


def error_for_response(response: requests.Response, retry_after: float | None = None) -> ConnectorError:
    """The typed error for a non-2xx response."""
    return error_for_status(
        response.status_code,
        describe(response.request.method or "?", response.request.url or ""),
        outcome=operation_outcome(response),
        retry_after=retry_after,
    )


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the connection was never established, so the partner cannot have seen the request.

    requests raises ConnectTimeout, or ConnectionError wrapping urllib3's NewConnectionError
    (refused, DNS failure), before a single byte of the request left.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


class Closing:
    """``with`` support for objects that hold connections: ``__exit__`` calls ``close()``."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Transport(Closing):
    """A pooled `requests.Session` plus the retry policy. Share one per process and partner set.

    ``sleep``, ``now`` (wall clock, for HTTP-date Retry-After) and ``rand`` are injectable for tests.
    """

    def __init__(
        self,
        settings: HttpSettings | None = None,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ):
        self.settings = settings or HttpSettings()
        self._session = session or self._new_session(self.settings)
        self._sleep = sleep
        self._now = now
        self._rand = rand

    @staticmethod
    def _new_session(settings: HttpSettings) -> requests.Session:
        session = requests.Session()
        # max_retries=0: urllib3 must not retry behind our back; RetryPolicy is the only retry budget.
        adapter = HTTPAdapter(pool_connections=settings.pool_size, pool_maxsize=settings.pool_size, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = settings.user_agent
        return session

    def close(self) -> None:
        self._session.close()

    def send(
        self,
        build: Callable[[], requests.Request],
        *,
        idempotent: bool,
        read_timeout: float | None = None,
        resend_after_timeout: bool = True,
    ) -> requests.Response:
        """Send the request ``build()`` returns, retrying temporary failures within the policy budget.

        ``build`` runs once per attempt, so each attempt carries a fresh bearer token or client
        assertion (assertion ``jti`` values must never repeat). Redirects are not followed: FHIR
        does not use them, and following one would replay a write, token included, somewhere unvetted.
        ``read_timeout`` replaces the settings' for a request known to take longer (a Bundle);
        ``resend_after_timeout=False`` leaves a request the partner may still be working on to the
        caller even when it is idempotent (a resent batch only doubles a slow partner's work).
        """
        policy = self.settings.retry
        timeout = (self.settings.connect_timeout, read_timeout or self.settings.read_timeout)
        slept = 0.0
        attempt = 1
        while True:
            prepared = self._session.prepare_request(build())
            where = describe(prepared.method or "?", prepared.url or "")
            error: ConnectorError
            try:
                response = self._session.send(prepared, timeout=timeout, allow_redirects=False)
            except (requests.ConnectionError, requests.Timeout) as exc:
                timed_out = isinstance(exc, requests.ReadTimeout)
                error = TemporaryError(f"{where} failed: {type(exc).__name__}", timed_out=timed_out)
                error.__cause__ = exc
                retryable = (idempotent and (resend_after_timeout or not timed_out)) or _never_sent(exc)
                delay = backoff_delay(policy, attempt - 1, self._rand)
            else:
                log.info("%s -> %s (attempt %d)", where, response.status_code, attempt)
                if response.status_code not in TEMPORARY_STATUSES:
                    return response
                retry_after = parse_retry_after(response.headers.get("Retry-After"), self._now())
                error = error_for_response(response, retry_after)
                retryable = idempotent or response.status_code == 429
                delay = retry_after if retry_after is not None else backoff_delay(policy, attempt - 1, self._rand)
            if not retryable or attempt >= policy.max_attempts or slept + delay > policy.max_total_sleep:
                raise error
            log.warning("%s; retrying in %.2fs (attempt %d)", error, delay, attempt)
            self._sleep(delay)
            slept += delay
            attempt += 1
