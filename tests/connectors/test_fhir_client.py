import json
import logging

import pytest
import requests
from responses import matchers

from connectors.bundles import create_entry, update_entry
from connectors.errors import AuthFailed, Conflict, NotSupported, PermanentError, TemporaryError
from connectors.fhir_client import FhirClient

BASE = "http://fhir.test/fhir/R4"
OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "processing"}]}


class FakeTokens:
    """A TokenSource handing out t1, t2, ... and recording what was invalidated."""

    def __init__(self) -> None:
        self.issued = 0
        self.current: str | None = None
        self.invalidated: list[str] = []

    def access_token(self) -> str:
        if self.current is None:
            self.issued += 1
            self.current = f"t{self.issued}"
        return self.current

    def invalidate(self, token: str) -> None:
        self.invalidated.append(token)
        if token == self.current:
            self.current = None


@pytest.fixture
def tokens() -> FakeTokens:
    return FakeTokens()


@pytest.fixture
def fhir(transport, tokens) -> FhirClient:
    return FhirClient(BASE + "/", auth=tokens, transport=transport)


def searchset(resources, next_url=None, outcome=None):
    entries = [{"resource": r, "search": {"mode": "match"}} for r in resources]
    if outcome:
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    links = [{"relation": "self", "url": "ignored"}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {"resourceType": "Bundle", "type": "searchset", "link": links, "entry": entries}


def patient(pid: str) -> dict:
    return {"resourceType": "Patient", "id": pid}


# --- reads ---------------------------------------------------------------------------------------


def test_read_sends_fhir_json_accept_and_the_bearer_token(fhir, http_mock):
    http_mock.get(
        f"{BASE}/Patient/p1",
        json=patient("p1"),
        match=[matchers.header_matcher({"Accept": "application/fhir+json", "Authorization": "Bearer t1"})],
    )

    assert fhir.read("Patient", "p1") == patient("p1")


def test_vread_addresses_the_version(fhir, http_mock):
    http_mock.get(f"{BASE}/CarePlan/c1/_history/3", json={"resourceType": "CarePlan", "id": "c1"})

    assert fhir.vread("CarePlan", "c1", "3")["id"] == "c1"


@pytest.mark.parametrize(
    ("resource_type", "resource_id"),
    [("patient", "1"), ("Patient/../admin", "1"), ("Patient", "1/../../admin"), ("Patient", "a b"), ("Patient", "")],
)
def test_types_and_ids_are_validated_before_they_reach_a_url(fhir, resource_type, resource_id):
    with pytest.raises(ValueError):
        fhir.read(resource_type, resource_id)


def test_without_auth_no_authorization_header_is_sent(transport, http_mock):
    http_mock.get(f"{BASE}/Patient/p1", json=patient("p1"))

    FhirClient(BASE, transport=transport).read("Patient", "p1")

    assert "Authorization" not in http_mock.calls[0].request.headers


# --- status -> typed error -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "attempts"),
    [
        (301, PermanentError, 1),
        (300, PermanentError, 1),
        (400, PermanentError, 1),
        (403, PermanentError, 1),
        (404, PermanentError, 1),
        (405, NotSupported, 1),
        (408, TemporaryError, 3),
        (409, Conflict, 1),
        (410, PermanentError, 1),
        (412, Conflict, 1),
        (422, PermanentError, 1),
        (429, TemporaryError, 3),
        (500, TemporaryError, 3),
        (501, NotSupported, 1),
        (502, TemporaryError, 3),
        (503, TemporaryError, 3),
        (504, TemporaryError, 3),
    ],
)
def test_each_status_maps_to_its_error_after_the_right_number_of_attempts(fhir, http_mock, status, error, attempts):
    http_mock.get(f"{BASE}/Patient/p1", status=status, json=OUTCOME)

    with pytest.raises(error) as caught:
        fhir.read("Patient", "p1")

    assert type(caught.value) is error
    assert caught.value.status == status
    assert caught.value.outcome == OUTCOME
    assert len(http_mock.calls) == attempts


def test_error_message_names_path_and_issue_codes_but_not_issue_text(fhir, http_mock):
    outcome = {"resourceType": "OperationOutcome", "issue": [{"code": "invalid", "diagnostics": "Jane Doe b. 1950"}]}
    http_mock.get(f"{BASE}/Patient/p1", status=400, json=outcome)

    with pytest.raises(PermanentError) as caught:
        fhir.read("Patient", "p1")

    assert str(caught.value) == "GET /fhir/R4/Patient/p1 -> 400 [invalid]"


def test_non_json_error_body_leaves_outcome_empty(fhir, http_mock):
    http_mock.get(f"{BASE}/Patient/p1", status=404, body="<html>not found</html>")

    with pytest.raises(PermanentError) as caught:
        fhir.read("Patient", "p1")

    assert caught.value.outcome is None


@pytest.mark.parametrize("failure", [requests.ConnectionError("reset"), requests.ReadTimeout()])
def test_network_failures_end_in_temporary_error(fhir, http_mock, failure):
    http_mock.get(f"{BASE}/Patient/p1", body=failure)

    with pytest.raises(TemporaryError):
        fhir.read("Patient", "p1")

    assert len(http_mock.calls) == 3


# --- 401: one re-authentication ------------------------------------------------------------------


def test_401_reauthenticates_once_and_succeeds(fhir, http_mock, tokens):
    http_mock.get(f"{BASE}/Patient/p1", status=401)
    http_mock.get(f"{BASE}/Patient/p1", json=patient("p1"))

    assert fhir.read("Patient", "p1") == patient("p1")
    assert [c.request.headers["Authorization"] for c in http_mock.calls] == ["Bearer t1", "Bearer t2"]
    assert tokens.invalidated == ["t1"]


def test_second_401_raises_auth_failed(fhir, http_mock, tokens):
    http_mock.get(f"{BASE}/Patient/p1", status=401, json=OUTCOME)

    with pytest.raises(AuthFailed) as caught:
        fhir.read("Patient", "p1")

    assert caught.value.status == 401
    assert len(http_mock.calls) == 2
    assert tokens.invalidated == ["t1"]


def test_401_resends_even_a_plain_create(fhir, http_mock):
    http_mock.post(f"{BASE}/Patient", status=401)
    http_mock.post(f"{BASE}/Patient", status=201, json=patient("p1"))

    assert fhir.create({"resourceType": "Patient"}).created


def test_401_without_auth_raises_auth_failed_at_once(transport, http_mock):
    http_mock.get(f"{BASE}/Patient/p1", status=401)

    with pytest.raises(AuthFailed):
        FhirClient(BASE, transport=transport).read("Patient", "p1")

    assert len(http_mock.calls) == 1


# --- writes --------------------------------------------------------------------------------------


def test_conditional_create_sends_if_none_exist_and_reports_created(fhir, http_mock):
    resource = {"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "7"}]}
    http_mock.post(
        f"{BASE}/Patient",
        status=201,
        json={**resource, "id": "p1"},
        headers={"Location": f"{BASE}/Patient/p1/_history/1", "ETag": 'W/"1"'},
        match=[
            matchers.header_matcher(
                {
                    "If-None-Exist": "identifier=urn:mrn|7",
                    "Content-Type": "application/fhir+json",
                    "Prefer": "return=representation",
                }
            ),
            matchers.json_params_matcher(resource),
        ],
    )

    result = fhir.create(resource, if_none_exist="identifier=urn:mrn|7")

    assert result.created
    assert (result.status, result.etag, result.location) == (201, 'W/"1"', f"{BASE}/Patient/p1/_history/1")
    assert result.resource == {**resource, "id": "p1"}


def test_conditional_create_of_an_existing_match_is_200_not_created(fhir, http_mock):
    http_mock.post(f"{BASE}/Patient", status=200, json=patient("p1"))

    result = fhir.create({"resourceType": "Patient"}, if_none_exist="identifier=urn:mrn|7")

    assert not result.created
    assert result.resource == patient("p1")


def test_conditional_create_is_resent_after_a_5xx(fhir, http_mock):
    http_mock.post(f"{BASE}/Patient", status=503)
    http_mock.post(f"{BASE}/Patient", status=201, json=patient("p1"))

    assert fhir.create({"resourceType": "Patient"}, if_none_exist="identifier=a|b").created


def test_plain_create_is_not_resent_after_a_5xx(fhir, http_mock):
    http_mock.post(f"{BASE}/Patient", status=503)

    with pytest.raises(TemporaryError):
        fhir.create({"resourceType": "Patient"})

    assert len(http_mock.calls) == 1


def test_update_puts_by_id_with_if_match(fhir, http_mock):
    resource = {"resourceType": "Task", "id": "t1", "status": "accepted"}
    http_mock.put(
        f"{BASE}/Task/t1",
        status=200,
        json=resource,
        headers={"ETag": 'W/"4"'},
        match=[matchers.header_matcher({"If-Match": 'W/"3"'}), matchers.json_params_matcher(resource)],
    )

    result = fhir.update(resource, if_match='W/"3"')

    assert (result.status, result.etag, result.created) == (200, 'W/"4"', False)


@pytest.mark.parametrize("status", [409, 412])
def test_stale_if_match_is_a_conflict_with_the_partners_outcome(fhir, http_mock, status):
    http_mock.put(f"{BASE}/Task/t1", status=status, json=OUTCOME)

    with pytest.raises(Conflict) as caught:
        fhir.update({"resourceType": "Task", "id": "t1"}, if_match='W/"1"')

    assert caught.value.status == status
    assert caught.value.outcome == OUTCOME


def test_write_without_a_body_in_the_answer(fhir, http_mock):
    http_mock.put(f"{BASE}/Task/t1", status=200, body=b"", headers={"ETag": 'W/"2"'})

    result = fhir.update({"resourceType": "Task", "id": "t1"})

    assert result.resource is None
    assert result.etag == 'W/"2"'


# --- batch / transaction -------------------------------------------------------------------------


def test_batch_posts_a_batch_bundle_and_returns_per_entry_responses(fhir, http_mock):
    entries = [
        create_entry({"resourceType": "Patient"}, if_none_exist="identifier=a|1"),
        update_entry({"resourceType": "Task", "id": "t1"}, if_match='W/"1"'),
    ]
    http_mock.post(
        BASE,
        json={
            "resourceType": "Bundle",
            "type": "batch-response",
            "entry": [
                {"resource": patient("p1"), "response": {"status": "201 Created", "etag": 'W/"1"', "location": "x"}},
                {"response": {"status": "412 Precondition Failed", "outcome": OUTCOME}},
            ],
        },
        match=[matchers.json_params_matcher({"resourceType": "Bundle", "type": "batch", "entry": entries})],
    )

    created, stale = fhir.batch(entries)

    assert (created.status, created.etag, created.resource, created.error()) == (201, 'W/"1"', patient("p1"), None)
    assert stale.status == 412
    error = stale.error()
    assert isinstance(error, Conflict)
    assert error.outcome == OUTCOME
    assert str(error) == "entry 1 (PUT Task/t1) -> 412 [processing]"


def test_transaction_failure_raises_for_the_whole_bundle(fhir, http_mock):
    http_mock.post(BASE, status=405, json=OUTCOME)

    with pytest.raises(NotSupported):
        fhir.transaction([create_entry({"resourceType": "Task"})])

    assert json.loads(http_mock.calls[0].request.body)["type"] == "transaction"


def test_bundle_of_plain_creates_is_not_resent(fhir, http_mock):
    http_mock.post(BASE, status=503)

    with pytest.raises(TemporaryError):
        fhir.transaction([create_entry({"resourceType": "Task"})])

    assert len(http_mock.calls) == 1


def test_bundle_of_conditional_writes_is_resent(fhir, http_mock):
    http_mock.post(BASE, status=503)
    http_mock.post(
        BASE,
        json={"resourceType": "Bundle", "type": "transaction-response", "entry": [{"response": {"status": "200"}}]},
    )

    [only] = fhir.transaction([create_entry({"resourceType": "Task"}, if_none_exist="identifier=a|1")])

    assert only.status == 200


# --- paging --------------------------------------------------------------------------------------


def test_search_follows_next_links_across_paths_and_stops_at_the_last_page(fhir, http_mock):
    http_mock.get(
        f"{BASE}/Encounter",
        match=[matchers.query_param_matcher({"_lastUpdated": "gt2024-01-01", "_count": "2"})],
        json=searchset([patient("1"), patient("2")], next_url="http://fhir.test/paging/cursor-abc?page=2"),
    )
    http_mock.get(
        "http://fhir.test/paging/cursor-abc",
        match=[matchers.query_param_matcher({"page": "2"})],
        json=searchset([patient("3"), patient("4")], next_url="/paging/cursor-def"),
    )
    http_mock.get("http://fhir.test/paging/cursor-def", json=searchset([patient("5")]))

    found = [r["id"] for r in fhir.search("Encounter", {"_lastUpdated": "gt2024-01-01", "_count": "2"})]

    assert found == ["1", "2", "3", "4", "5"]
    assert all(c.request.headers["Authorization"] == "Bearer t1" for c in http_mock.calls)


def test_search_pages_yields_each_bundle_for_per_page_watermarks(fhir, http_mock):
    http_mock.get(f"{BASE}/Task", json=searchset([patient("1")], next_url=f"{BASE}/Task?_page=2"))
    http_mock.get(f"{BASE}/Task", match=[matchers.query_param_matcher({"_page": "2"})], json=searchset([]))

    pages = list(fhir.search_pages("Task"))

    assert [len(p["entry"]) for p in pages] == [1, 0]


def test_search_accepts_repeated_parameters(fhir, http_mock):
    http_mock.get(f"{BASE}/Task", json=searchset([]))

    list(fhir.search("Task", [("_lastUpdated", "gt2024-01-01"), ("_lastUpdated", "le2024-02-01")]))

    assert http_mock.calls[0].request.url.count("_lastUpdated=") == 2


def test_search_skips_outcome_entries(fhir, http_mock):
    http_mock.get(f"{BASE}/Task", json=searchset([patient("1")], outcome=OUTCOME))

    assert [r["id"] for r in fhir.search("Task")] == ["1"]


def test_next_link_to_another_server_is_refused_without_sending_the_token(fhir, http_mock):
    http_mock.get(f"{BASE}/Task", json=searchset([patient("1")], next_url="http://evil.test/fhir/R4/Task?p=2"))

    with pytest.raises(PermanentError, match="leaves the partner's server"):
        list(fhir.search("Task"))

    assert len(http_mock.calls) == 1


def test_a_next_link_loop_is_refused(fhir, http_mock):
    http_mock.get(f"{BASE}/Task", json=searchset([], next_url=f"{BASE}/Task?p=2"))
    http_mock.get(f"{BASE}/Task", json=searchset([], next_url=f"{BASE}/Task?p=2"))

    with pytest.raises(PermanentError, match="already read"):
        list(fhir.search_pages("Task"))


def test_get_page_resumes_from_a_saved_next_link(fhir, http_mock):
    http_mock.get(f"{BASE}/Task", match=[matchers.query_param_matcher({"p": "9"})], json=searchset([patient("9")]))

    assert fhir.get_page(f"{BASE}/Task?p=9")["entry"][0]["resource"]["id"] == "9"


# --- capabilities, lifecycle, logging ------------------------------------------------------------


def test_capabilities_reads_metadata(fhir, http_mock):
    http_mock.get(
        f"{BASE}/metadata",
        json={
            "resourceType": "CapabilityStatement",
            "fhirVersion": "4.0.1",
            "rest": [{"mode": "server", "resource": [{"type": "Task", "interaction": [{"code": "read"}]}]}],
        },
    )

    capabilities = fhir.capabilities()

    assert capabilities.supports("Task", "read")
    assert not capabilities.supports("Task", "create")


def test_client_closes_only_a_transport_it_created(transport):
    closed: list[str] = []
    transport.close = lambda: closed.append("shared")  # type: ignore[method-assign]

    with FhirClient(BASE, transport=transport):
        pass

    assert closed == []
    with FhirClient(BASE) as own:
        own._transport.close = lambda: closed.append("own")  # type: ignore[method-assign]
    assert closed == ["own"]


def test_resource_bodies_never_reach_the_logs(fhir, http_mock, caplog):
    caplog.set_level(logging.DEBUG)
    secret = {"resourceType": "Patient", "name": [{"family": "Okonkwo-Secret"}]}
    http_mock.post(f"{BASE}/Patient", status=201, json={**secret, "id": "p1"})
    http_mock.get(f"{BASE}/Patient", json=searchset([{**secret, "id": "p1"}]))

    fhir.create(secret, if_none_exist="family=Okonkwo-Secret")
    list(fhir.search("Patient", {"family": "Okonkwo-Secret"}))

    assert "POST /fhir/R4/Patient -> 201" in caplog.text
    assert "GET /fhir/R4/Patient?family= -> 200" in caplog.text
    assert "Okonkwo" not in caplog.text


def test_a_batch_waits_longer_the_more_entries_it_carries_while_a_read_keeps_the_read_timeout(fhir, http_mock):
    # Default settings: 30 s read timeout plus 1 s per entry, so a slow partner still working
    # through a batch of 40 is not sent the same batch again after 30 s.
    entries = [update_entry({"resourceType": "Task", "id": f"t{i}"}, if_match='W/"1"') for i in range(40)]
    answer = {"response": {"status": "200 OK", "etag": 'W/"2"'}}
    http_mock.post(BASE, json={"resourceType": "Bundle", "type": "batch-response", "entry": [answer] * 40})
    http_mock.get(f"{BASE}/Patient/p1", json=patient("p1"))

    fhir.batch(entries)
    fhir.read("Patient", "p1")

    assert [call.request.req_kwargs["timeout"] for call in http_mock.calls] == [(5.0, 70.0), (5.0, 30.0)]


def test_a_batch_the_partner_did_not_answer_in_time_is_not_resent_while_it_may_still_work_on_it(fhir, http_mock):
    http_mock.post(BASE, body=requests.ReadTimeout())

    with pytest.raises(TemporaryError) as caught:
        fhir.batch([update_entry({"resourceType": "Task", "id": "t1"}, if_match='W/"1"')])

    assert caught.value.timed_out is True
    assert len(http_mock.calls) == 1
