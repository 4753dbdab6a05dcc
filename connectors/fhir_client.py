"""FhirClient: the RESTful FHIR R4 interactions carebridge uses against a partner server.

    with FhirClient(fhir_base, auth=auth) as fhir:
        if fhir.capabilities().supports("Task", "create"):
            result = fhir.create(task, if_none_exist="identifier=https://carebridge.dev/fhir/identifier/handoff|42")
        for bundle in fhir.search_pages("Encounter", {"_lastUpdated": "gt2024-05-01T00:00:00Z"}):
            ...  # commit a watermark per page

Resources are plain JSON dicts; `fhir_mappings` turns them into models. Every non-2xx answer
raises a typed error from `connectors.errors`; temporary ones are retried first (`connectors.http`).
A 401 triggers one re-authentication, then AuthFailed.
"""

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson
import requests

from connectors.bundles import (
    EntryResponse,
    entries_idempotent,
    entry_responses,
    next_link,
    request_bundle,
    search_resources,
)
from connectors.capabilities import Capabilities, parse_capability_statement
from connectors.errors import Malformed, PermanentError
from connectors.http import Closing, Transport, describe, error_for_response
from connectors.smart_auth import TokenSource

FHIR_JSON = "application/fhir+json"  # https://hl7.org/fhir/R4/http.html#mime-type
# Validated before they go into a URL path, so a bad value cannot address another endpoint.
RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # https://hl7.org/fhir/R4/datatypes.html#id

SearchParams = Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]]


@dataclass(frozen=True)
class WriteResult:
    """A create or update answer. ``etag`` (e.g. ``W/"3"``) is what a later update sends as If-Match."""

    status: int  # 201 created; 200 updated, or an If-None-Exist match that already existed
    resource: dict[str, Any] | None  # None when the server sends no body
    location: str | None
    etag: str | None

    @property
    def created(self) -> bool:
        return self.status == 201


def _searchset(bundle: dict[str, Any]) -> dict[str, Any]:
    """``bundle`` if it has the shape paging relies on: ``entry`` and ``link`` lists of objects, each
    entry's ``resource`` an object (https://hl7.org/fhir/R4/bundle.html). Else `Malformed`."""
    for element in ("entry", "link"):
        items = bundle.get(element, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise Malformed(f"a search page's Bundle.{element} is not a list of objects")
    if not all(isinstance(entry.get("resource", {}), dict) for entry in bundle.get("entry", [])):
        raise Malformed("a search page's Bundle.entry.resource is not an object")
    return bundle


class FhirClient(Closing):
    """One partner's FHIR base. Closes its Transport on exit only if it created it."""

    def __init__(self, base_url: str, *, auth: TokenSource | None = None, transport: Transport | None = None):
        self.base_url = base_url.rstrip("/")
        self._origin = urlsplit(self.base_url)[:2]
        self._auth = auth
        self._owns_transport = transport is None
        self._transport = transport or Transport()

    def close(self) -> None:
        if self._owns_transport:
            self._transport.close()

    # --- reads ---------------------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        """The partner's CapabilityStatement (https://hl7.org/fhir/R4/http.html#capabilities)."""
        return parse_capability_statement(self._get(f"{self.base_url}/metadata"))

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        return self._get(self._url(resource_type, resource_id))

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> dict[str, Any]:
        return self._get(self._url(resource_type, resource_id, "_history", version_id))

    def search_pages(self, resource_type: str, params: SearchParams | None = None) -> Iterator[dict[str, Any]]:
        """Each searchset Bundle, following ``next`` links until there is none."""
        bundle = _searchset(self._get(self._url(resource_type), params=params))
        seen: set[str] = set()
        while True:
            yield bundle
            url = next_link(bundle)
            if url is None:
                return
            if url in seen:  # a server bug would otherwise keep a worker paging forever
                raise PermanentError(f"search of {resource_type} links back to a page already read")
            seen.add(url)
            bundle = _searchset(self.get_page(url))

    def search(self, resource_type: str, params: SearchParams | None = None) -> Iterator[dict[str, Any]]:
        """Every matched and included resource across all pages."""
        for bundle in self.search_pages(resource_type, params):
            yield from search_resources(bundle)

    def get_page(self, url: str) -> dict[str, Any]:
        """A page by its link, e.g. a ``next`` URL saved to resume paging later.

        Links may be relative or absolute and on any path, but must stay on the partner's
        scheme, host and port: the bearer token goes nowhere else.
        """
        absolute = urljoin(self.base_url + "/", url)
        scheme, netloc = urlsplit(absolute)[:2]
        if (scheme, netloc) != self._origin:
            raise PermanentError(f"page link leaves the partner's server ({scheme}://{netloc})")
        return self._get(absolute)

    # --- writes --------------------------------------------------------------------------------

    def create(self, resource: Mapping[str, Any], *, if_none_exist: str | None = None) -> WriteResult:
        """POST ``resource``; with ``if_none_exist`` ("identifier=system|value") a conditional create:
        201 when created, 200 when a match already existed (https://hl7.org/fhir/R4/http.html#ccreate).
        Only a conditional create is resent after a timeout or 5xx: a plain one could duplicate."""
        headers = {"If-None-Exist": if_none_exist} if if_none_exist else {}
        return self._write(
            "POST", self._url(resource["resourceType"]), resource, headers, idempotent=bool(if_none_exist)
        )

    def update(self, resource: Mapping[str, Any], *, if_match: str | None = None) -> WriteResult:
        """PUT ``resource`` by its id; ``if_match`` (an ETag like ``W/"3"``) makes a stale write
        fail with Conflict instead of overwriting (https://hl7.org/fhir/R4/http.html#concurrency)."""
        headers = {"If-Match": if_match} if if_match else {}
        url = self._url(resource["resourceType"], resource["id"])
        return self._write("PUT", url, resource, headers, idempotent=True)

    def batch(self, entries: Sequence[Mapping[str, Any]]) -> list[EntryResponse]:
        """Independent entries; each EntryResponse says how its entry went (``.error()``)."""
        return self._bundle("batch", entries)

    def transaction(self, entries: Sequence[Mapping[str, Any]]) -> list[EntryResponse]:
        """All entries or none; a failure raises for the whole Bundle."""
        return self._bundle("transaction", entries)

    # --- plumbing ------------------------------------------------------------------------------

    def _url(self, resource_type: str, *path: str) -> str:
        if not RESOURCE_TYPE.fullmatch(resource_type):
            raise ValueError(f"not a FHIR resource type: {resource_type!r}")
        for segment in path:
            if segment != "_history" and not FHIR_ID.fullmatch(segment):
                raise ValueError(f"not a FHIR id: {segment!r}")
        return "/".join((self.base_url, resource_type, *path))

    def _write(
        self, method: str, url: str, resource: Mapping[str, Any], headers: Mapping[str, str], *, idempotent: bool
    ) -> WriteResult:
        # Servers differ in what they return by default; ask for the resource (http.html#ops).
        response = self._send(
            method, url, body=resource, headers={"Prefer": "return=representation", **headers}, idempotent=idempotent
        )
        return WriteResult(
            status=response.status_code,
            resource=orjson.loads(response.content) if response.content else None,
            location=response.headers.get("Location"),
            etag=response.headers.get("ETag"),
        )

    def _bundle(self, bundle_type: str, entries: Sequence[Mapping[str, Any]]) -> list[EntryResponse]:
        response = self._send(
            "POST", self.base_url, body=request_bundle(bundle_type, entries), idempotent=entries_idempotent(entries),
            read_timeout=self._transport.settings.bundle_read_timeout(len(entries)), resend_after_timeout=False,
        )  # fmt: skip
        return entry_responses(orjson.loads(response.content), entries)

    def _get(self, url: str, *, params: SearchParams | None = None) -> dict[str, Any]:
        response = self._send("GET", url, params=params, idempotent=True)
        try:
            body = orjson.loads(response.content)  # orjson refuses bytes that are not UTF-8, too
        except orjson.JSONDecodeError:
            raise Malformed(f"{describe('GET', response.url or url)} answered a body that is not UTF-8 JSON") from None
        if not isinstance(body, dict):
            raise Malformed(f"{describe('GET', response.url or url)} answered JSON that is not an object")
        return body

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: SearchParams | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
        read_timeout: float | None = None,
        resend_after_timeout: bool = True,
    ) -> requests.Response:
        content = orjson.dumps(body) if body is not None else None
        token: str | None = None

        def build() -> requests.Request:
            nonlocal token
            all_headers = {"Accept": FHIR_JSON, **(headers or {})}
            if content is not None:
                all_headers["Content-Type"] = FHIR_JSON
            if self._auth is not None:
                token = self._auth.access_token()
                all_headers["Authorization"] = f"Bearer {token}"
            return requests.Request(method, url, params=params, data=content, headers=all_headers)

        response = self._transport.send(
            build, idempotent=idempotent, read_timeout=read_timeout, resend_after_timeout=resend_after_timeout
        )
        if response.status_code == 401 and self._auth is not None and token is not None:
            # The token expired early or was revoked: fetch a new one and try once more. The
            # partner refused the request unread, so even a non-idempotent write is safe to resend.
            # https://hl7.org/fhir/smart-app-launch/backend-services.html#obtaining-an-access-token
            self._auth.invalidate(token)
            response = self._transport.send(
                build, idempotent=idempotent, read_timeout=read_timeout, resend_after_timeout=resend_after_timeout
            )
        if not 200 <= response.status_code < 300:
            raise error_for_response(response)
        return response
