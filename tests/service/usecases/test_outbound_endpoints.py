"""The notification sender connects only to addresses the endpoint policy checked (SSRF guard)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from service.usecases.outbound_endpoints import EndpointPolicy, EndpointRefused, guarded_sender


@pytest.fixture
def receiver_port() -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_sender_connects_to_the_checked_address(receiver_port: int) -> None:
    # `receiver.test` exists only in this resolver: the POST arriving proves the connection went to
    # the address the policy checked, not to a second lookup of the name.
    policy = EndpointPolicy.from_setting("127.0.0.0/8", resolve=lambda host, port: ["127.0.0.1"])
    send = guarded_sender(policy)
    assert send(f"http://receiver.test:{receiver_port}/hook", b"{}", {}, 5.0) == 204


def test_the_sender_refuses_an_internal_address_when_it_connects(receiver_port: int) -> None:
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])  # rebinding: public when checked, loopback later
    policy = EndpointPolicy.from_setting("", resolve=lambda host, port: next(answers))
    policy.check("https://receiver.test/hook")
    with pytest.raises(EndpointRefused):
        guarded_sender(policy)(f"https://receiver.test:{receiver_port}/hook", b"{}", {}, 5.0)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.31.255.255", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("2002:a00:1::", False),  # 6to4 of 10.0.0.1
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
    ],
)
def test_only_global_addresses_are_public(address: str, public: bool) -> None:
    policy = EndpointPolicy.from_setting("", resolve=lambda host, port: [address])
    if public:
        policy.check("https://receiver.test/hook")
    else:
        with pytest.raises(EndpointRefused):
            policy.check("https://receiver.test/hook")


def test_plain_http_to_a_public_address_is_refused_even_with_private_networks_allowed() -> None:
    policy = EndpointPolicy.from_setting("1", resolve=lambda host, port: ["93.184.215.14"])
    with pytest.raises(EndpointRefused, match="https"):
        policy.check("http://receiver.test/hook")
