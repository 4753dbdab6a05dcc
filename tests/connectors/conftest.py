"""Fixtures for the connectors unit tests: test keys, a mocked network, a transport that never sleeps."""

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from connectors.http import HttpSettings, RetryPolicy, Transport
from connectors.keys import generate_signing_key

NOW = 1_700_000_000.0  # a fixed wall clock for Retry-After dates and JWT times


@pytest.fixture(scope="session")
def rs384_key() -> dict[str, Any]:
    return generate_signing_key("RS384")


@pytest.fixture(scope="session")
def es384_key() -> dict[str, Any]:
    return generate_signing_key("ES384")


@pytest.fixture
def http_mock() -> Iterator[responses.RequestsMock]:
    """Every request must match a registered response, and every registered response must be used."""
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def now() -> float:
    return NOW


@pytest.fixture
def sleeps() -> list[float]:
    """The delays the transport asked for, in order (nothing really sleeps)."""
    return []


@pytest.fixture
def transport(sleeps: list[float]) -> Transport:
    """Three attempts, a 10 s sleep budget, jitter fixed at half the backoff ceiling."""
    settings = HttpSettings(retry=RetryPolicy(max_attempts=3, max_total_sleep=10.0, base_delay=1.0, max_delay=8.0))
    return Transport(settings, sleep=sleeps.append, now=lambda: NOW, rand=lambda: 0.5)
