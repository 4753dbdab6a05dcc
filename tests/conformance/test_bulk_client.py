"""A bulk client written to the Bulk Data IG 2.0 (https://hl7.org/fhir/uv/bulkdata/export.html)
against a live carebridge, with real tokens: system, Patient and Group export end to end —
kick-off, polling with Retry-After, the complete manifest, file download, and the client's
DELETE once done."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import requests

from tests.conformance.conftest import Live

POLL_FOR_SECONDS = 120


@dataclass
class BulkClient:
    """What the IG asks of a client, and nothing carebridge-specific."""

    base: str
    token: str

    def _headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}

    def kick_off(self, path: str, **params: str) -> requests.Response:
        # https://hl7.org/fhir/uv/bulkdata/export.html#headers: Accept fhir+json, Prefer respond-async.
        headers = self._headers(Accept="application/fhir+json", Prefer="respond-async")
        return requests.get(f"{self.base}/{path}", params=params, headers=headers, timeout=30)

    def wait(self, status_url: str) -> requests.Response:
        """Poll until complete, honouring Retry-After (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-status-request)."""
        deadline = time.monotonic() + POLL_FOR_SECONDS
        while True:
            answer = requests.get(status_url, headers=self._headers(), timeout=30)
            if answer.status_code != 202:
                return answer
            assert time.monotonic() < deadline, "the export did not complete"
            time.sleep(min(float(answer.headers.get("Retry-After", "1")), 2.0))

    def export(self, path: str, **params: str) -> tuple[dict[str, Any], list[dict[str, Any]], requests.Response]:
        kick_off = self.kick_off(path, **params)
        assert kick_off.status_code == 202, kick_off.text
        status_url = kick_off.headers["Content-Location"]
        done = self.wait(status_url)
        assert done.status_code == 200, done.text
        assert done.headers["Content-Type"].startswith("application/json")
        manifest: dict[str, Any] = done.json()
        resources: list[dict[str, Any]] = []
        for item in manifest["output"]:
            # requiresAccessToken is true: the file request carries the token.
            headers = self._headers(Accept="application/fhir+ndjson") if manifest["requiresAccessToken"] else {}
            file = requests.get(item["url"], headers=headers, timeout=60)
            assert file.status_code == 200 and file.headers["Content-Type"].startswith("application/fhir+ndjson")
            lines = [orjson.loads(line) for line in file.content.splitlines() if line]
            assert len(lines) == item["count"] and {r["resourceType"] for r in lines} == {item["type"]}
            resources += lines
        # https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-delete-request: the client cleans up.
        assert requests.delete(status_url, headers=self._headers(), timeout=30).status_code == 202
        return manifest, resources, kick_off


def _search_total(live: Live, token: str, resource_type: str) -> int:
    answer = requests.get(
        f"{live.base}/{resource_type}",
        params={"_summary": "count"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    total: int = answer.json()["total"]
    return total


@pytest.mark.parametrize(
    ("who", "path"),
    [("hospital", "$export"), ("hospital", "Patient/$export"), ("payer", "Group/{payer}/$export")],
)
def test_export_end_to_end(live: Live, who: str, path: str) -> None:
    token = live.token if who == "hospital" else live.payer_token
    client = BulkClient(live.base, token)
    manifest, resources, kick_off = client.export(path.format(payer=live.payer_id))

    assert kick_off.json()["resourceType"] == "OperationOutcome"
    assert manifest["request"] == kick_off.url  # byte for byte what the client sent
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    counts = Counter(r["resourceType"] for r in resources)
    assert counts["Patient"] > 0 and counts["CareTeam"] > 0
    if who == "payer":
        # The Group's members, each once (a search also finds patients of handoffs sent to the payer).
        auth = {"Authorization": f"Bearer {token}"}
        group = requests.get(f"{live.base}/Group/{live.payer_id}", headers=auth, timeout=30)
        members = {m["entity"]["reference"] for m in group.json()["member"]}
        assert {f"Patient/{r['id']}" for r in resources if r["resourceType"] == "Patient"} == members
        return
    # Without _type: every type the token may read, as many of each as a search finds.
    for resource_type in ("Patient", "Encounter", "CarePlan", "Goal", "ServiceRequest", "Task", "CareTeam"):
        assert counts[resource_type] == _search_total(live, token, resource_type), resource_type


def test_type_and_since_narrow_and_the_status_url_is_gone_after_delete(live: Live) -> None:
    client = BulkClient(live.base, live.token)
    manifest, resources, _ = client.export("$export", _type="Patient,Task", _since="2000-01-01T00:00:00Z")
    assert {o["type"] for o in manifest["output"]} == {"Patient", "Task"}
    assert {r["resourceType"] for r in resources} == {"Patient", "Task"}
    kick_off = client.kick_off("$export", _type="Immunization")  # a type carebridge does not keep
    assert kick_off.status_code == 400 and kick_off.json()["resourceType"] == "OperationOutcome"
