"""Pure helpers for Bundles: paging links, search results, batch/transaction entries and responses.

https://hl7.org/fhir/R4/bundle.html and https://hl7.org/fhir/R4/http.html#transaction
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.errors import ConnectorError, PermanentError, error_for_status
from connectors.http import IDEMPOTENT_METHODS, describe


def next_link(bundle: Mapping[str, Any]) -> str | None:
    """The ``next`` link, as the server wrote it. Page URLs are never built by hand: servers page by
    offsets, cursors or opaque tokens (https://hl7.org/fhir/R4/http.html#paging)."""
    for link in bundle.get("link", ()):
        if link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None


def search_resources(bundle: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Matches and _include-d resources; ``outcome`` entries are warnings about the search itself
    (https://hl7.org/fhir/R4/bundle-definitions.html#Bundle.entry.search.mode)."""
    for entry in bundle.get("entry", ()):
        if "resource" in entry and entry.get("search", {}).get("mode") != "outcome":
            yield entry["resource"]


def create_entry(
    resource: Mapping[str, Any], *, if_none_exist: str | None = None, full_url: str | None = None
) -> dict[str, Any]:
    """A POST entry; ``full_url`` ("urn:uuid:...") lets other entries of a transaction refer to it."""
    request: dict[str, Any] = {"method": "POST", "url": resource["resourceType"]}
    if if_none_exist:
        request["ifNoneExist"] = if_none_exist
    entry: dict[str, Any] = {"resource": dict(resource), "request": request}
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def update_entry(resource: Mapping[str, Any], *, if_match: str | None = None) -> dict[str, Any]:
    """A PUT entry for ``resource`` (which must have an id), optionally version-checked."""
    request: dict[str, Any] = {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
    if if_match:
        request["ifMatch"] = if_match
    return {"resource": dict(resource), "request": request}


def request_bundle(bundle_type: str, entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": bundle_type, "entry": [dict(e) for e in entries]}


def entries_idempotent(entries: Sequence[Mapping[str, Any]]) -> bool:
    """Whether resending the Bundle cannot apply anything twice: no entry is an unconditional POST."""
    for entry in entries:
        request = entry.get("request", {})
        if request.get("method") not in IDEMPOTENT_METHODS and not request.get("ifNoneExist"):
            return False
    return True


@dataclass(frozen=True)
class EntryResponse:
    """One entry of a batch-response or transaction-response, in request order."""

    where: str  # e.g. "entry 2 (PUT CarePlan/7)", for messages
    status: int
    location: str | None = None
    etag: str | None = None
    resource: dict[str, Any] | None = None
    outcome: dict[str, Any] | None = None

    def error(self) -> ConnectorError | None:
        """The typed error this entry's status stands for, or None when it succeeded."""
        if 200 <= self.status < 300:
            return None
        return error_for_status(self.status, self.where, outcome=self.outcome)


def entry_responses(
    response_bundle: Mapping[str, Any], request_entries: Sequence[Mapping[str, Any]]
) -> list[EntryResponse]:
    """Pair each response entry with the request entry it answers (FHIR keeps them 1:1, in order)."""
    answers = response_bundle.get("entry", [])
    if len(answers) != len(request_entries):
        raise PermanentError(f"{len(request_entries)} entries sent, {len(answers)} answered")
    out = []
    for index, (answer, sent) in enumerate(zip(answers, request_entries, strict=True)):
        response = answer.get("response", {})
        request = sent.get("request", {})
        out.append(
            EntryResponse(
                where=f"entry {index} ({describe(request.get('method', '?'), request.get('url', ''))})",
                status=int(str(response.get("status", "0")).split(" ", 1)[0]),  # e.g. "201 Created"
                location=response.get("location"),
                etag=response.get("etag"),
                resource=answer.get("resource"),
                outcome=response.get("outcome"),
            )
        )
    return out
