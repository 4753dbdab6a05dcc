import pytest

from connectors.bundles import (
    create_entry,
    entries_idempotent,
    entry_responses,
    next_link,
    search_resources,
    update_entry,
)
from connectors.errors import NotSupported, PermanentError


def test_next_link_is_taken_as_written():
    bundle = {"link": [{"relation": "self", "url": "s"}, {"relation": "next", "url": "opaque?cursor=zz"}]}

    assert next_link(bundle) == "opaque?cursor=zz"
    assert next_link({"link": [{"relation": "previous", "url": "p"}]}) is None
    assert next_link({}) is None


def test_search_resources_keeps_matches_and_includes():
    bundle = {
        "entry": [
            {"resource": {"id": "m"}, "search": {"mode": "match"}},
            {"resource": {"id": "i"}, "search": {"mode": "include"}},
            {"resource": {"id": "o"}, "search": {"mode": "outcome"}},
            {"resource": {"id": "plain"}},
            {"fullUrl": "no-resource"},
        ]
    }

    assert [r["id"] for r in search_resources(bundle)] == ["m", "i", "plain"]


def test_entry_builders():
    task = {"resourceType": "Task", "id": "t1", "status": "ready"}

    assert create_entry(task, if_none_exist="identifier=a|1", full_url="urn:uuid:1") == {
        "fullUrl": "urn:uuid:1",
        "resource": task,
        "request": {"method": "POST", "url": "Task", "ifNoneExist": "identifier=a|1"},
    }
    assert update_entry(task, if_match='W/"2"') == {
        "resource": task,
        "request": {"method": "PUT", "url": "Task/t1", "ifMatch": 'W/"2"'},
    }


@pytest.mark.parametrize(
    ("entries", "idempotent"),
    [
        ([create_entry({"resourceType": "Task"}, if_none_exist="identifier=a|1")], True),
        ([update_entry({"resourceType": "Task", "id": "1"})], True),
        ([{"request": {"method": "DELETE", "url": "Task/1"}}, {"request": {"method": "GET", "url": "Task/2"}}], True),
        ([update_entry({"resourceType": "Task", "id": "1"}), create_entry({"resourceType": "Task"})], False),
        ([{"request": {"method": "PATCH", "url": "Task/1"}}], False),
    ],
)
def test_entries_idempotent(entries, idempotent):
    assert entries_idempotent(entries) is idempotent


def test_entry_responses_pair_answers_with_requests():
    sent = [create_entry({"resourceType": "Task"}), {"request": {"method": "PUT", "url": "Task?identifier=a|secret"}}]
    answer = {
        "entry": [
            {"response": {"status": "201 Created", "location": "Task/1/_history/1", "etag": 'W/"1"'}},
            {"response": {"status": "405", "outcome": {"resourceType": "OperationOutcome", "issue": []}}},
        ]
    }

    created, refused = entry_responses(answer, sent)

    assert (created.status, created.location, created.etag, created.error()) == (
        201,
        "Task/1/_history/1",
        'W/"1"',
        None,
    )
    error = refused.error()
    assert isinstance(error, NotSupported)
    assert str(error) == "entry 1 (PUT Task?identifier=) -> 405"


def test_entry_responses_refuse_a_count_mismatch():
    with pytest.raises(PermanentError, match="2 entries sent, 1 answered"):
        entry_responses({"entry": [{"response": {"status": "200"}}]}, [{}, {}])
