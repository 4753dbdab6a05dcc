"""The tests.peers plugin's own logic: skip-or-fail, reading start-ehr.sh output, port picking."""

import pytest

from tests.peers import free_ports, parse_start_output, require


def test_missing_prerequisite_skips_with_the_reason(monkeypatch):
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception, match="node is not on PATH"):
        require(False, "node is not on PATH")


@pytest.mark.parametrize("value", ["true", "TRUE"])
def test_missing_prerequisite_fails_under_ci(monkeypatch, value):
    monkeypatch.setenv("CI", value)

    with pytest.raises(pytest.fail.Exception, match="peers not found"):
        require(False, "peers not found")


def test_met_prerequisite_does_nothing(monkeypatch):
    monkeypatch.setenv("CI", "true")

    require(True, "unused")


def test_start_output_is_read_by_the_site_name_prefix():
    stdout = "\n".join(
        [
            "installing node packages (npm ci)...",
            "CB42_PAYER_FHIR_BASE=http://127.0.0.1:5001/fhir/R4",
            "CB42_PAYER_ISSUER=http://127.0.0.1:5002",
            "CB42_PAYER_TOKEN_ENDPOINT=http://127.0.0.1:5002/token",
            "CB42_PAYER_ADMIN=http://127.0.0.1:5001/admin",
            "OTHER_FHIR_BASE=http://elsewhere",
        ]
    )

    assert parse_start_output("cb42-payer", stdout) == {
        "FHIR_BASE": "http://127.0.0.1:5001/fhir/R4",
        "ISSUER": "http://127.0.0.1:5002",
        "TOKEN_ENDPOINT": "http://127.0.0.1:5002/token",
        "ADMIN": "http://127.0.0.1:5001/admin",
    }


def test_free_ports_are_distinct():
    ports = free_ports(4)

    assert len(set(ports)) == 4
    assert all(1024 < port < 65536 for port in ports)
