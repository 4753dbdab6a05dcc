"""Which URLs carebridge may post to on a caller's behalf (Subscription rest-hook endpoints).

A caller chooses the endpoint, so an unchecked one lets it make carebridge's workers call
internal services: loopback admin ports, cloud metadata at 169.254.169.254, databases on the
private network (SSRF, https://owasp.org/API-Security/editions/2023/en/0xa7-server-side-request-forgery/).
The rule:

- `https` only;
- every address the host resolves to must be global (not loopback, link-local, private,
  shared, reserved, unspecified or multicast, IPv4 or IPv6, including IPv4 inside IPv4-mapped,
  6to4 and NAT64 IPv6 addresses);
- unless the operator allows non-global networks with `CAREBRIDGE_SUBSCRIPTION_ALLOW_PRIVATE`
  (`1` for any, or a comma-separated list of networks such as `127.0.0.0/8,10.20.0.0/16`): an
  endpoint whose addresses all lie in allowed networks is accepted, over `http` too, since such
  receivers are the operator's own (tests and demos post to 127.0.0.1).

It is checked when the Subscription is created and again before every delivery, since what a
name resolves to can change; the real sender (`guarded_sender`) also connects only to the
address it checked, so a name re-resolved between the check and the connection (DNS rebinding)
cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> the addresses a connection could reach
Resolve = Callable[[str, int], Sequence[str]]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # https://www.rfc-editor.org/rfc/rfc6052


class EndpointRefused(Exception):
    """The endpoint may not be called; the message says why (no address from the caller's data
    beyond the host it gave)."""


def system_resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as failed:
        raise EndpointRefused(f"the host '{host}' cannot be resolved") from failed
    return [str(info[4][0]) for info in infos]


def _embedded_ipv4(ip: IpAddress) -> IpAddress:
    """The IPv4 address an IPv6 address carries to (mapped, 6to4, NAT64), else the address itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def is_public(ip: IpAddress) -> bool:
    inner = _embedded_ipv4(ip)
    return all(a.is_global and not a.is_multicast for a in (ip, inner))


@dataclass(frozen=True)
class EndpointPolicy:
    allowed: tuple[IpNetwork, ...] = ()  # non-global networks the operator allows
    allow_any_private: bool = False
    resolve: Resolve = system_resolve

    @classmethod
    def from_setting(cls, value: str, resolve: Resolve = system_resolve) -> EndpointPolicy:
        """`CAREBRIDGE_SUBSCRIPTION_ALLOW_PRIVATE`: empty (default: refuse), `1`/`true`, or networks."""
        text = value.strip()
        if text.lower() in ("", "0", "false", "no"):
            return cls(resolve=resolve)
        if text.lower() in ("1", "true", "yes", "any"):
            return cls(allow_any_private=True, resolve=resolve)
        networks = tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())
        return cls(allowed=networks, resolve=resolve)

    def _operator_allowed(self, ip: IpAddress) -> bool:
        return self.allow_any_private or any(ip in network for network in self.allowed)

    def checked_address(self, host: str, port: int, *, scheme: str) -> str:
        """An address of `host` that may be called: raises EndpointRefused unless every address
        the host resolves to is allowed (one bad address is enough to refuse: the connection
        could land on any of them)."""
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in self.resolve(host, port)]
        if not addresses:
            raise EndpointRefused(f"the host '{host}' has no address")
        for ip in addresses:
            if is_public(ip):
                if scheme != "https":
                    raise EndpointRefused("the endpoint must use https")
            elif not self._operator_allowed(ip):
                raise EndpointRefused(f"the host '{host}' is a loopback, link-local or private address")
        return str(addresses[0])

    def check(self, url: str) -> None:
        """Raise EndpointRefused unless carebridge may post to `url`."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EndpointRefused("the endpoint must be an https URL")
        if parts.username or parts.password:
            raise EndpointRefused("the endpoint must not carry credentials in the URL")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise EndpointRefused("the endpoint's port is not valid") from None
        if parts.scheme != "https" and not (self.allow_any_private or self.allowed):
            raise EndpointRefused("the endpoint must use https")
        self.checked_address(parts.hostname, port, scheme=parts.scheme)


# --- the sender that connects only to checked addresses ---------------------------------------


class _CheckedConnection(HTTPConnection):
    policy: EndpointPolicy

    def _new_conn(self) -> socket.socket:
        # Connect to the address just checked, not to whatever the name resolves to next; TLS
        # still verifies the certificate against the host name (urllib3 uses `host` for SNI).
        name = self._dns_host
        scheme = "https" if isinstance(self, HTTPSConnection) else "http"
        self._dns_host = self.policy.checked_address(name, self.port, scheme=scheme)
        try:
            return super()._new_conn()
        finally:
            self._dns_host = name


def guarded_sender(policy: EndpointPolicy) -> Callable[[str, bytes, Mapping[str, str], float], int]:
    """A `Send` for notifications: POST without redirects or proxies, to checked addresses only."""
    http_conn = type("CheckedHTTPConnection", (_CheckedConnection,), {"policy": policy})
    https_conn = type("CheckedHTTPSConnection", (_CheckedConnection, HTTPSConnection), {"policy": policy})
    http_pool = type("CheckedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn})
    https_pool = type("CheckedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn})

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}

    def send(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        with requests.Session() as http:
            http.trust_env = False  # no proxy from the environment: it would connect instead of us
            http.mount("http://", Adapter())
            http.mount("https://", Adapter())
            response = http.post(url, data=body, headers=dict(headers), timeout=timeout, allow_redirects=False)
            return response.status_code

    return send
