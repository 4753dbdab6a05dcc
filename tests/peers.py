"""Pytest plugin: real partner sites (FHIR R4 server + SMART authorization server) from ../shared/peers.

Loaded by the root conftest (``pytest_plugins = ["tests.peers"]``). Fixtures:

- ``ehr_site``: a hospital EHR; backend clients sign with RS384, access tokens are RS384.
- ``payer_site``: a payer; backend clients sign with ES384, access tokens are ES384.
- ``peer_sites``: a factory, ``peer_sites("quirks", args=["--", "--conflict-status", "409"])``, for
  sites with other start options (arguments of start-ehr.sh).

All sites of one pytest process are named ``cb<pid>-<label>`` on ports the OS picked, so parallel
runs never collide, and are stopped with stop.sh at the end of the session, failed or not. Without
the peers folder or Node the tests that need a site are skipped, or fail when ``CI=true``.

    def test_x(ehr_site):
        client = ehr_site.register_backend_client("system/Task.cruds")
        with Transport() as http, client.connect(http) as fhir:
            fhir.read("Task", "1")
"""

import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.fhir_client import FhirClient
from connectors.http import Transport
from connectors.keys import SigningAlg, generate_signing_key, public_jwks
from connectors.smart_auth import BackendServicesAuth, BackendServicesSettings

PEERS_SOURCE = Path(__file__).resolve().parents[1].parent / "shared" / "peers"
START_TIMEOUT = 600  # the first start runs `npm ci`
PORT_ATTEMPTS = 3  # a port picked here can be taken by another process before the peer binds it
# The admin API shares the peer's single Node event loop with FHIR traffic: after the fault test,
# a killed worker's batch of conditional creates (each a scan of every stored resource) can hold
# it for over 10 s on a loaded two-core machine, which failed a run that had otherwise passed.
ADMIN_TIMEOUT = 60


def require(condition: bool, reason: str) -> None:
    """Skip the test for a missing prerequisite, but fail under CI, where a skip would hide it."""
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: a missing prerequisite is a failure)")
    pytest.skip(reason)


@dataclass(frozen=True)
class BackendClient:
    """A backend-services client registered at a site: everything a FhirClient needs."""

    fhir_base: str
    settings: BackendServicesSettings

    def connect(self, transport: Transport) -> FhirClient:
        return FhirClient(self.fhir_base, auth=BackendServicesAuth(self.settings, transport), transport=transport)


@dataclass(frozen=True)
class PeerSite:
    name: str
    fhir_base: str
    admin_url: str
    issuer: str
    token_endpoint: str
    registration_endpoint: str
    client_alg: SigningAlg  # what this site's backend clients sign with

    def reset(self) -> None:
        """Empty the FHIR store, the request log and the faults."""
        self._admin("POST", "/reset")

    def inject_fault(
        self,
        status: int = 503,
        *,
        count: int = 1,
        path_prefix: str | None = None,
        method: str | None = None,
        retry_after: int | None = None,
        delay_ms: int = 0,
    ) -> None:
        """Answer the next ``count`` matching FHIR requests with ``status`` (0 = only delay them)."""
        fault: dict[str, Any] = {"status": status, "count": count, "delayMs": delay_ms}
        optional = {"pathPrefix": path_prefix, "method": method, "retryAfter": retry_after}
        fault.update({key: value for key, value in optional.items() if value is not None})
        self._admin("POST", "/faults", json=fault)

    def clear_faults(self) -> None:
        self._admin("DELETE", "/faults")

    def requests_log(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest FHIR requests: method, url, status, ifMatch, ifNoneExist, auth (sub, scope)."""
        log: list[dict[str, Any]] = self._admin("GET", f"/requests?limit={limit}").json()
        return log

    def register_client(self, metadata: Mapping[str, Any]) -> str:
        """Dynamic client registration (RFC 7591); the new client_id."""
        response = requests.post(self.registration_endpoint, json=dict(metadata), timeout=ADMIN_TIMEOUT)
        response.raise_for_status()
        client_id: str = response.json()["client_id"]
        return client_id

    def register_backend_client(self, scope: str = "system/*.cruds", *, alg: SigningAlg | None = None) -> BackendClient:
        """A backend-services client with a fresh key, allowed exactly ``scope``, asking for it."""
        key = generate_signing_key(alg or self.client_alg)
        client_id = self.register_client(
            {
                "client_name": "carebridge tests",
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
                "token_endpoint_auth_method": "private_key_jwt",
                "token_endpoint_auth_signing_alg": key["alg"],
                "jwks": public_jwks([key]),
                "smart_allowed_scopes": scope,
            }
        )
        settings = BackendServicesSettings(
            client_id=client_id, token_endpoint=self.token_endpoint, private_jwk=key, scope=scope
        )
        return BackendClient(self.fhir_base, settings)

    def _admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = requests.request(method, self.admin_url + path, timeout=ADMIN_TIMEOUT, **kwargs)
        response.raise_for_status()
        return response


def parse_start_output(name: str, stdout: str) -> dict[str, str]:
    """start-ehr.sh prints ``<NAME>_FHIR_BASE=...`` lines; the values by their suffix."""
    prefix = name.upper().replace("-", "_") + "_"
    values = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith(prefix):
            values[key.removeprefix(prefix)] = value.strip()
    return values


def free_ports(count: int) -> list[int]:
    """Ports the OS has just handed out, all distinct (their sockets are open together)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def peers_dir() -> Path:
    """A writable copy of ../shared/peers in the temp folder, where start-ehr.sh may install its
    node packages and write pids and logs: ../shared is not the project's to write to. One copy
    per version of the peers, kept between runs so that `npm ci` runs once."""
    digest = hashlib.sha256()
    for path in sorted(p for p in PEERS_SOURCE.rglob("*") if p.is_file() and not _generated(p)):
        digest.update(str(path.relative_to(PEERS_SOURCE)).encode() + b"\0" + path.read_bytes())
    copy = Path(tempfile.gettempdir()) / f"carebridge-peers-{digest.hexdigest()[:16]}"
    if not copy.is_dir():
        staging = Path(tempfile.mkdtemp(prefix="carebridge-peers-"))
        shutil.copytree(PEERS_SOURCE, staging, dirs_exist_ok=True, ignore=shutil.ignore_patterns("node_modules", "run"))
        for path in [staging, *staging.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)  # the shared folder comes without write bits
        try:
            staging.rename(copy)  # atomic: a concurrent run that got there first wins
        except OSError:
            shutil.rmtree(staging)
    return copy


def _generated(path: Path) -> bool:
    return bool({"node_modules", "run", ".venv"} & set(path.relative_to(PEERS_SOURCE).parts))


@contextmanager
def start_lock(peers: Path) -> Iterator[None]:
    """One start at a time across pytest processes: two concurrent `npm ci` runs would clash."""
    run_dir = peers / "run"
    run_dir.mkdir(exist_ok=True)
    with open(run_dir / ".pytest-start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def start_site(peers: Path, name: str, client_alg: SigningAlg, args: Sequence[str]) -> PeerSite:
    """Run start-ehr.sh (which waits for both servers to be healthy) and describe the site."""
    for _ in range(PORT_ATTEMPTS):
        fhir_port, auth_port = free_ports(2)
        command = [str(peers / "start-ehr.sh"), "--name", name]
        command += ["--fhir-port", str(fhir_port), "--auth-port", str(auth_port), *args]
        with start_lock(peers):
            done = subprocess.run(command, capture_output=True, text=True, timeout=START_TIMEOUT, check=False)
        if done.returncode == 0:
            values = parse_start_output(name, done.stdout)
            return PeerSite(
                name=name,
                fhir_base=values["FHIR_BASE"],
                admin_url=values["ADMIN"],
                issuer=values["ISSUER"],
                token_endpoint=values["TOKEN_ENDPOINT"],
                registration_endpoint=values["REGISTRATION_ENDPOINT"],
                client_alg=client_alg,
            )
        if "is in use" not in done.stderr:
            break
    pytest.fail(f"peer site {name} did not start:\n{done.stderr[-2000:]}")


def stop_sites(peers: Path, names: Sequence[str]) -> None:
    """stop.sh per site, in parallel: a site can take seconds to shut down."""
    stopping = [
        subprocess.Popen([str(peers / "stop.sh"), name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name in names
    ]
    for process in stopping:
        process.wait(timeout=60)


@pytest.fixture(scope="session")
def peer_sites(request: pytest.FixtureRequest) -> Iterator[Callable[..., PeerSite]]:
    """``peer_sites(label, client_alg="RS384", args=())``: a running site, started once per session.

    The sites' logs (run/<name>-*.log in the copy that `peers_dir` names) are kept only when a
    test failed.
    """
    started: dict[str, tuple[tuple[str, ...], PeerSite]] = {}
    copies: list[Path] = []  # the peers' copy, made when the first site starts

    def site(label: str, *, client_alg: SigningAlg = "RS384", args: Sequence[str] = ()) -> PeerSite:
        if label in started:
            if started[label][0] != tuple(args):
                raise ValueError(f"site {label!r} already runs with other arguments: {started[label][0]}")
            return started[label][1]
        require(PEERS_SOURCE.is_dir(), f"partner peers not found at {PEERS_SOURCE}")
        require(shutil.which("node") is not None, "node is not on PATH (the peers need Node >= 20.19)")
        if not copies:
            copies.append(peers_dir())
        name = f"cb{os.getpid()}-{label}"
        try:
            started[label] = (tuple(args), start_site(copies[0], name, client_alg, args))
        except BaseException:
            stop_sites(copies[0], [name])
            raise
        return started[label][1]

    try:
        yield site
    finally:
        names = [running.name for _, running in started.values()]
        for peers in copies:
            stop_sites(peers, names)
            if request.session.testsfailed == 0:
                for name in names:
                    for log in (peers / "run").glob(f"{name}-*.log"):
                        log.unlink()


@pytest.fixture(scope="session")
def ehr_site(peer_sites: Callable[..., PeerSite]) -> PeerSite:
    return peer_sites("ehr", client_alg="RS384")


@pytest.fixture(scope="session")
def payer_site(peer_sites: Callable[..., PeerSite]) -> PeerSite:
    return peer_sites("payer", client_alg="ES384", args=["--access-token-alg", "ES384"])
