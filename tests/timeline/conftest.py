"""Fixtures of the timeline tests: engine configs from the session test CA, an in-process pair with a tap,
the reference captures."""
from __future__ import annotations

import itertools
import os

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from workbench.tls import ClientConfig, ServerConfig
from workbench.transport.inprocess import InProcessPair
from workbench.transport.tap import RecordingTap
from tests.shared import CAPTURES as SHARED_CAPTURES

CAPTURES = os.environ.get("WORKBENCH_CAPTURES", str(SHARED_CAPTURES))
requires_captures = pytest.mark.skipif(not os.path.isdir(CAPTURES), reason=f"reference captures not at {CAPTURES}")


def capture_path(name: str) -> str:
    return os.path.join(CAPTURES, name)


@pytest.fixture(scope="session")
def client_identity(test_ca):
    return test_ca.issue(hostnames=("client.test",), extended_key_usage=(ExtendedKeyUsageOID.CLIENT_AUTH,))


@pytest.fixture
def make_pair(test_ca, localhost_identity):
    """make_pair(client={...}, server={...}) -> (InProcessPair, RecordingTap), with a stepping clock."""

    def make(client: dict | None = None, server: dict | None = None):
        client_kw = dict(server_name="localhost", trust_anchors=(test_ca.certificate,))
        client_kw.update(client or {})
        server_kw = dict(certificate_chain=localhost_identity.certificate_chain,
                         private_key=localhost_identity.private_key)
        server_kw.update(server or {})
        tap = RecordingTap()
        clock = itertools.count(1_700_000_000.0, 0.25).__next__
        pair = InProcessPair(ClientConfig(**client_kw), ServerConfig(**server_kw), tap=tap, clock=clock)
        return pair, tap

    return make


def run_session(pair, *, client_data: bytes = b"GET / HTTP/1.1\r\n\r\n", server_data: bytes = b"x" * 20000):
    """Handshake, data both ways, close_notify both ways."""
    pair.run_until_quiet()
    assert pair.client.handshake_complete and pair.server.handshake_complete
    pair.send("client", client_data)
    pair.run_until_quiet()
    pair.send("server", server_data)
    pair.run_until_quiet()
    pair.close("client")
    pair.run_until_quiet()
