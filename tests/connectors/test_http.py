import logging
from email.utils import formatdate

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from connectors.errors import TemporaryError
from connectors.http import (
    HttpSettings,
    RetryPolicy,
    Transport,
    backoff_delay,
    parse_retry_after,
    redact_url,
)

URL = "http://fhir.test/fhir/R4/Patient/1"
TEMPORARY = [408, 429, 500, 502, 503, 504]
FINAL = [200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 405, 409, 410, 412, 422, 501, 505]


def get(transport: Transport, url: str = URL) -> requests.Response:
    return transport.send(lambda: requests.Request("GET", url), idempotent=True)


def post(transport: Transport) -> requests.Response:
    return transport.send(lambda: requests.Request("POST", URL, data=b"{}"), idempotent=False)


def refused() -> requests.ConnectionError:
    """What requests raises when nothing listens: the request never left."""
    return requests.ConnectionError(MaxRetryError(None, URL, NewConnectionError(None, "refused")))  # type: ignore[arg-type]


@pytest.mark.parametrize("status", FINAL)
def test_final_statuses_come_back_after_one_attempt(transport, http_mock, sleeps, status):
    http_mock.get(URL, status=status)

    assert get(transport).status_code == status
    assert len(http_mock.calls) == 1
    assert sleeps == []


def test_redirects_are_not_followed(transport, http_mock):
    http_mock.get(URL, status=302, headers={"Location": "http://elsewhere.test/"})

    assert get(transport).status_code == 302


@pytest.mark.parametrize("status", TEMPORARY)
def test_temporary_statuses_are_retried_until_success(transport, http_mock, sleeps, status):
    http_mock.get(URL, status=status)
    http_mock.get(URL, status=200)

    assert get(transport).status_code == 200
    assert len(http_mock.calls) == 2
    assert sleeps == [0.5]  # full jitter: rand 0.5 * min(8, 1.0 * 2**0)


@pytest.mark.parametrize(
    "failure",
    [refused(), requests.ConnectionError("reset by peer"), requests.ConnectTimeout(), requests.ReadTimeout()],
    ids=["refused", "connection-error", "connect-timeout", "read-timeout"],
)
def test_network_failures_are_retried(transport, http_mock, failure):
    http_mock.get(URL, body=failure)
    http_mock.get(URL, status=200)

    assert get(transport).status_code == 200
    assert len(http_mock.calls) == 2


@pytest.mark.parametrize("status", TEMPORARY)
def test_spent_attempts_raise_temporary_error_with_status(transport, http_mock, sleeps, status):
    http_mock.get(URL, status=status, json={"resourceType": "OperationOutcome", "issue": [{"code": "transient"}]})

    with pytest.raises(TemporaryError) as caught:
        get(transport)

    assert len(http_mock.calls) == 3
    assert sleeps == [0.5, 1.0]
    assert caught.value.status == status
    assert caught.value.outcome == {"resourceType": "OperationOutcome", "issue": [{"code": "transient"}]}


def test_spent_attempts_after_network_failures_raise_temporary_error(transport, http_mock):
    http_mock.get(URL, body=requests.ReadTimeout())

    with pytest.raises(TemporaryError) as caught:
        get(transport)

    assert len(http_mock.calls) == 3
    assert caught.value.status is None
    assert isinstance(caught.value.__cause__, requests.ReadTimeout)


def test_total_sleep_budget_stops_before_the_attempt_budget(http_mock):
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=10, max_total_sleep=3.0, base_delay=0.5, max_delay=60.0)
    transport = Transport(HttpSettings(retry=policy), sleep=sleeps.append, rand=lambda: 1.0)
    http_mock.get(URL, status=503)

    with pytest.raises(TemporaryError):
        get(transport)

    assert sleeps == [0.5, 1.0]  # the next 2.0 would bring the total to 3.5 > 3.0
    assert len(http_mock.calls) == 3


def test_retry_after_seconds_is_honoured(transport, http_mock, sleeps):
    http_mock.get(URL, status=429, headers={"Retry-After": "7"})
    http_mock.get(URL, status=200)

    assert get(transport).status_code == 200
    assert sleeps == [7.0]


def test_retry_after_http_date_is_honoured(transport, http_mock, sleeps, now):
    http_mock.get(URL, status=503, headers={"Retry-After": formatdate(now + 4, usegmt=True)})
    http_mock.get(URL, status=200)

    assert get(transport).status_code == 200
    assert sleeps == [4.0]


def test_retry_after_beyond_the_budget_gives_up_at_once_and_passes_the_hint_on(transport, http_mock, sleeps):
    http_mock.get(URL, status=429, headers={"Retry-After": "120"})

    with pytest.raises(TemporaryError) as caught:
        get(transport)

    assert sleeps == []
    assert len(http_mock.calls) == 1
    assert caught.value.retry_after == 120.0


def test_unreadable_retry_after_falls_back_to_backoff(transport, http_mock, sleeps):
    http_mock.get(URL, status=503, headers={"Retry-After": "soon"})
    http_mock.get(URL, status=200)

    get(transport)

    assert sleeps == [0.5]


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_non_idempotent_request_is_not_resent_after_the_partner_may_have_acted(transport, http_mock, status):
    http_mock.post(URL, status=status)

    with pytest.raises(TemporaryError) as caught:
        post(transport)

    assert caught.value.status == status
    assert len(http_mock.calls) == 1


def test_non_idempotent_request_is_not_resent_after_a_read_timeout(transport, http_mock):
    http_mock.post(URL, body=requests.ReadTimeout())

    with pytest.raises(TemporaryError):
        post(transport)

    assert len(http_mock.calls) == 1


@pytest.mark.parametrize("failure", [refused(), requests.ConnectTimeout()], ids=["refused", "connect-timeout"])
def test_non_idempotent_request_is_resent_when_it_never_left(transport, http_mock, failure):
    http_mock.post(URL, body=failure)
    http_mock.post(URL, status=201)

    assert post(transport).status_code == 201


def test_non_idempotent_request_is_resent_after_429(transport, http_mock, sleeps):
    http_mock.post(URL, status=429, headers={"Retry-After": "2"})
    http_mock.post(URL, status=201)

    assert post(transport).status_code == 201
    assert sleeps == [2.0]


def test_each_attempt_is_built_afresh(transport, http_mock):
    built: list[int] = []

    def build() -> requests.Request:
        built.append(len(built))
        return requests.Request("GET", URL, headers={"X-Attempt": str(len(built))})

    http_mock.get(URL, status=503)
    http_mock.get(URL, status=200)
    transport.send(build, idempotent=True)

    assert [call.request.headers["X-Attempt"] for call in http_mock.calls] == ["1", "2"]


def test_logs_name_path_query_names_status_and_attempt_but_no_values_or_bodies(transport, http_mock, caplog):
    url = "http://fhir.test/fhir/R4/Patient?identifier=urn:mrn|MRN-4711&name=Alvarez"
    http_mock.post(url, status=503)
    http_mock.post(url, status=201, body='{"name":"Alvarez"}')
    caplog.set_level(logging.INFO, logger="connectors.http")

    transport.send(lambda: requests.Request("POST", url, data=b'{"name":"Alvarez"}'), idempotent=True)

    assert "POST /fhir/R4/Patient?identifier=&name= -> 503" in caplog.text
    assert "attempt 1" in caplog.text and "attempt 2" in caplog.text
    assert "MRN-4711" not in caplog.text
    assert "Alvarez" not in caplog.text


def test_parse_retry_after():
    now = 1_700_000_000.0
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after("0", now) == 0.0
    assert parse_retry_after(" 30 ", now) == 30.0
    assert parse_retry_after(formatdate(now + 90, usegmt=True), now) == 90.0
    assert parse_retry_after(formatdate(now + 90), now) == 90.0  # "-0000" zone form
    assert parse_retry_after(formatdate(now - 60, usegmt=True), now) == 0.0  # a date in the past
    assert parse_retry_after("-5", now) is None
    assert parse_retry_after("next tuesday", now) is None


def test_backoff_is_full_jitter_under_a_growing_capped_ceiling():
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)

    ceilings = [backoff_delay(policy, n, lambda: 1.0) for n in range(7)]
    halves = [backoff_delay(policy, n, lambda: 0.5) for n in range(7)]

    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert halves == [c / 2 for c in ceilings]
    assert backoff_delay(policy, 3, lambda: 0.0) == 0.0


def test_redact_url_keeps_path_and_parameter_names_only():
    assert redact_url("http://h/fhir/R4/Task?patient=Patient/1&status=a,b&status=c") == (
        "/fhir/R4/Task?patient=&status=&status="
    )
    assert redact_url("http://h/fhir/R4/Task/7") == "/fhir/R4/Task/7"


def test_transport_closes_its_session():
    session = requests.Session()
    closed: list[bool] = []
    session.close = lambda: closed.append(True)  # type: ignore[method-assign]

    with Transport(session=session):
        pass

    assert closed == [True]


def test_a_read_timeout_says_the_partner_may_still_be_working(transport, http_mock):
    http_mock.post(URL, body=requests.ReadTimeout())

    with pytest.raises(TemporaryError) as caught:
        post(transport)

    assert caught.value.timed_out is True


def test_a_refused_connection_is_not_a_timeout(transport, http_mock, sleeps):
    for _ in range(3):
        http_mock.get(URL, body=refused())

    with pytest.raises(TemporaryError) as caught:
        get(transport)

    assert caught.value.timed_out is False
