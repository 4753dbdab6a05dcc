"""The connectors against real partner servers (../shared/peers): Medplum's FHIR router behind
panva's oidc-provider, on loopback. Fixtures come from the tests.peers plugin."""

import base64
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import requests

from connectors.bundles import create_entry, update_entry
from connectors.errors import AuthFailed, Conflict, NotSupported, PermanentError
from connectors.fhir_client import FhirClient
from connectors.http import HttpSettings, RetryPolicy, Transport
from connectors.keys import generate_signing_key, public_jwks
from connectors.smart_auth import BackendServicesAuth, discover
from connectors.smart_launch import LaunchSettings, exchange_code, refresh_launch_token, start_authorization

pytestmark = pytest.mark.integration

READ_ONLY = ["CarePlan", "Goal", "ServiceRequest", "Task"]
# Partner quirks: EHR-style read-only workflow types, 409 for a stale If-Match, 1 s tokens.
QUIRKS = ["--token-ttl", "1", "--", "--read-only-types", ",".join(READ_ONLY), "--conflict-status", "409"]


class RecordingTokens:
    """A TokenSource wrapper that remembers each distinct token handed out."""

    def __init__(self, inner: BackendServicesAuth) -> None:
        self.inner = inner
        self.tokens: list[str] = []

    def access_token(self) -> str:
        token = self.inner.access_token()
        if token not in self.tokens:
            self.tokens.append(token)
        return token

    def invalidate(self, token: str) -> None:
        self.inner.invalidate(token)


class StaticToken:
    def __init__(self, token: str) -> None:
        self.token = token

    def access_token(self) -> str:
        return self.token

    def invalidate(self, token: str) -> None:
        pass


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def http(sleeps) -> Iterator[Transport]:
    """A real transport whose retry sleeps are recorded instead of slept."""
    settings = HttpSettings(retry=RetryPolicy(max_attempts=4, max_total_sleep=60.0))
    with Transport(settings, sleep=sleeps.append) as transport:
        yield transport


@pytest.fixture
def quirks_site(peer_sites):
    return peer_sites("quirks", args=QUIRKS)


@pytest.fixture
def ehr(ehr_site, http) -> Iterator[FhirClient]:
    yield ehr_site.register_backend_client().connect(http)
    ehr_site.clear_faults()


def patient(family: str, mrn: str | None = None) -> dict:
    resource = {"resourceType": "Patient", "name": [{"family": family}]}
    if mrn:
        resource["identifier"] = [{"system": "urn:carebridge:test-mrn", "value": mrn}]
    return resource


def jwt_header(token: str) -> dict:
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@pytest.mark.parametrize(("site_fixture", "alg"), [("ehr_site", "RS384"), ("payer_site", "ES384")])
def test_backend_services_token_exchange(request, http, site_fixture, alg):
    site = request.getfixturevalue(site_fixture)
    client = site.register_backend_client("system/Patient.cruds")
    auth = BackendServicesAuth(client.settings, http)

    assert client.settings.private_jwk["alg"] == alg
    assert jwt_header(auth.access_token())["alg"] == alg  # the site signs tokens with the same alg
    with FhirClient(client.fhir_base, auth=auth, transport=http) as fhir:
        created = fhir.create(patient("Backend"))
        assert fhir.read("Patient", created.resource["id"])["name"] == [{"family": "Backend"}]

    assert site.requests_log(1)[0]["auth"]["client_id"] == client.settings.client_id


def test_discovery_of_a_real_site(ehr_site, http):
    smart = discover(http, ehr_site.fhir_base)

    assert smart.token_endpoint == ehr_site.token_endpoint
    assert smart.issuer == ehr_site.issuer
    assert {"RS384", "ES384"} <= smart.token_endpoint_auth_signing_algs
    assert "S256" in smart.code_challenge_methods


def test_create_read_and_search_across_three_pages(ehr):
    family = f"Paged{uuid.uuid4().hex[:8]}"
    created = {ehr.create(patient(family)).resource["id"] for _ in range(45)}

    pages = list(ehr.search_pages("Patient", {"family": family, "_count": "20"}))
    found = {r["id"] for r in ehr.search("Patient", {"family": family, "_count": "20"})}

    assert [len(p["entry"]) for p in pages] == [20, 20, 5]
    assert found == created
    some_id = next(iter(created))
    assert ehr.read("Patient", some_id)["name"][0]["family"] == family
    assert ehr.vread("Patient", some_id, "1")["meta"]["versionId"] == "1"


def test_conditional_create_twice_makes_one_resource(ehr, ehr_site):
    mrn = uuid.uuid4().hex
    condition = f"identifier=urn:carebridge:test-mrn|{mrn}"

    first = ehr.create(patient("Once", mrn), if_none_exist=condition)
    second = ehr.create(patient("Once", mrn), if_none_exist=condition)

    assert (first.status, second.status) == (201, 200)
    assert first.resource["id"] == second.resource["id"]
    assert [r["id"] for r in ehr.search("Patient", {"identifier": f"urn:carebridge:test-mrn|{mrn}"})] == [
        first.resource["id"]
    ]
    assert ehr_site.requests_log(3)[0]["ifNoneExist"] == condition


@pytest.mark.parametrize(("site_fixture", "status"), [("ehr_site", 412), ("quirks_site", 409)])
def test_stale_if_match_is_a_conflict(request, http, site_fixture, status):
    site = request.getfixturevalue(site_fixture)
    with site.register_backend_client().connect(http) as fhir:
        created = fhir.create(patient("Versioned"))
        updated = fhir.update({**created.resource, "active": True}, if_match=created.etag)

        with pytest.raises(Conflict) as caught:
            fhir.update({**created.resource, "active": False}, if_match=created.etag)

    assert (created.etag, updated.etag) == ('W/"1"', 'W/"2"')
    assert caught.value.status == status
    assert caught.value.outcome["resourceType"] == "OperationOutcome"


def test_capabilities_of_a_read_only_partner(quirks_site, http):
    with quirks_site.register_backend_client().connect(http) as fhir:
        capabilities = fhir.capabilities()
        with pytest.raises(NotSupported):
            fhir.create({"resourceType": "Task", "status": "requested", "intent": "order"})
        with pytest.raises(NotSupported):
            fhir.transaction([create_entry(patient("Fine")), create_entry({"resourceType": "Goal"})])

    assert capabilities.fhir_version == "4.0.1"
    for resource_type in READ_ONLY:
        assert capabilities.supports(resource_type, "read")
        assert capabilities.supports(resource_type, "search-type")
        assert not capabilities.supports(resource_type, "create")
        assert not capabilities.supports(resource_type, "update")
    assert capabilities.supports("Patient", "create")
    assert {"batch", "transaction"} <= capabilities.system_interactions


def test_batch_reports_each_entry(ehr):
    mrn = uuid.uuid4().hex
    current = ehr.create(patient("Batch"))

    created, stale = ehr.batch(
        [
            create_entry(patient("Batch", mrn), if_none_exist=f"identifier=urn:carebridge:test-mrn|{mrn}"),
            update_entry({**current.resource, "active": True}, if_match='W/"9"'),
        ]
    )

    assert (created.status, created.error()) == (201, None)
    assert isinstance(stale.error(), Conflict)


def test_503_is_retried_until_the_partner_recovers(ehr, ehr_site, sleeps):
    pid = ehr.create(patient("Flaky")).resource["id"]
    path = f"{urlsplit(ehr_site.fhir_base).path}/Patient/{pid}"
    ehr_site.inject_fault(503, count=2, path_prefix=path)

    assert ehr.read("Patient", pid)["id"] == pid

    statuses = [e["status"] for e in ehr_site.requests_log(3) if e["url"] == path]
    assert statuses == [503, 503, 200]
    assert len(sleeps) == 2


def test_429_retry_after_is_honoured(ehr, ehr_site, sleeps):
    pid = ehr.create(patient("Throttled")).resource["id"]
    ehr_site.inject_fault(429, count=1, retry_after=3)

    assert ehr.read("Patient", pid)["id"] == pid
    assert sleeps == [3.0]


def test_401_leads_to_one_reauthentication(ehr_site, http):
    client = ehr_site.register_backend_client()
    tokens = RecordingTokens(BackendServicesAuth(client.settings, http))
    with FhirClient(client.fhir_base, auth=tokens, transport=http) as fhir:
        pid = fhir.create(patient("Reauth")).resource["id"]
        ehr_site.inject_fault(401, count=1)
        assert fhir.read("Patient", pid)["id"] == pid
        assert len(tokens.tokens) == 2

        ehr_site.inject_fault(401, count=2)
        with pytest.raises(AuthFailed):
            fhir.read("Patient", pid)
    ehr_site.clear_faults()


def test_a_token_that_expired_at_the_partner_is_replaced(quirks_site, http):
    """The site issues 1 s tokens (its verifier allows 5 s of skew); a frozen clock keeps ours cached."""
    client = quirks_site.register_backend_client()
    frozen = time.time()
    tokens = RecordingTokens(BackendServicesAuth(client.settings, http, clock=lambda: frozen))
    with FhirClient(client.fhir_base, auth=tokens, transport=http) as fhir:
        pid = fhir.create(patient("Expiring")).resource["id"]
        time.sleep(7)

        assert fhir.read("Patient", pid)["id"] == pid

    assert len(tokens.tokens) == 2
    assert [e["status"] for e in quirks_site.requests_log(2)] == [401, 200]


def test_scopes_the_partner_did_not_grant_are_refused(payer_site, http):
    fhir = payer_site.register_backend_client("system/CarePlan.rs").connect(http)
    careplan = {"resourceType": "CarePlan", "status": "active", "intent": "plan", "subject": {"reference": "x"}}

    with pytest.raises(PermanentError) as caught:
        fhir.create(careplan)

    assert caught.value.status == 403


def test_a_client_asking_for_nothing_it_may_have_gets_auth_failed(payer_site, http):
    client = payer_site.register_backend_client("system/CarePlan.rs")
    settings = replace(client.settings, scope="system/Observation.rs")

    with pytest.raises(AuthFailed) as caught:
        BackendServicesAuth(settings, http).access_token()

    assert caught.value.oauth_error == "invalid_scope"


def test_ehr_launch_with_pkce_gives_launch_context_and_refreshes(ehr_site, http):
    key = generate_signing_key("ES384")
    redirect_uri = "http://127.0.0.1:9/launch/callback"  # never contacted: the redirect is read, not followed
    client_id = ehr_site.register_client(
        {
            "client_name": "carebridge web (tests)",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": [redirect_uri],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "ES384",
            "jwks": public_jwks([key]),
        }
    )
    settings = LaunchSettings(
        client_id=client_id,
        private_jwk=key,
        redirect_uri=redirect_uri,
        scope="launch openid fhirUser offline_access patient/Patient.rs",
        fhir_base=ehr_site.fhir_base,
        smart=discover(http, ehr_site.fhir_base),
    )
    with ehr_site.register_backend_client().connect(http) as backend:
        pid = backend.create(patient("Launched")).resource["id"]
    launch = base64.urlsafe_b64encode(json.dumps({"patient": pid, "encounter": "enc-7"}).encode()).decode().rstrip("=")

    # oidc-provider issues a refresh token for offline_access only with prompt=consent (OIDC Core §11)
    authorization = start_authorization(settings, launch=launch, extra={"prompt": "consent"})
    callback = follow_to_redirect_uri(authorization.url, redirect_uri)
    token = exchange_code(
        http, settings, callback, expected_state=authorization.state, code_verifier=authorization.code_verifier
    )

    assert (token.patient, token.encounter) == (pid, "enc-7")
    assert token.fhir_user == f"{ehr_site.fhir_base}/Practitioner/practitioner-1"
    assert "patient/Patient.rs" in token.scope.split()
    assert token.refresh_token
    with FhirClient(ehr_site.fhir_base, auth=StaticToken(token.access_token), transport=http) as fhir:
        assert fhir.read("Patient", token.patient)["id"] == pid

    refreshed = refresh_launch_token(http, settings, token)

    assert refreshed.access_token != token.access_token
    assert (refreshed.patient, refreshed.fhir_user) == (pid, token.fhir_user)


def follow_to_redirect_uri(url: str, redirect_uri: str) -> dict[str, str]:
    """Play the browser: follow the auto-approving server's redirects up to carebridge's redirect_uri."""
    with requests.Session() as browser:
        for _ in range(10):
            location = browser.get(url, allow_redirects=False, timeout=10).headers.get("Location")
            assert location, "the authorization server stopped redirecting"
            url = urljoin(url, location)
            if url.startswith(redirect_uri):
                return dict(parse_qsl(urlsplit(url).query))
    raise AssertionError("never reached the redirect_uri")
