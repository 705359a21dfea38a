"""Fixtures for interop tests against real programs: the test PKI as PEM files for every key type,
peer servers shared per configuration, a launcher that stops whatever a test started, and our
own server on a real socket.

The test CA (`test_ca`), `free_port`, `private_netns` and the `requires_*` skips come from
tests/conftest.py.

    def test_x(interop_pki, peer_servers, launch, engine_server):
        server = peer_servers.openssl("rsa-2048", "-groups", "P-384")    # started once per module
        ours = engine_server(interop_pki.server_config("ed25519"))       # stopped after the test
        client = launch(OpenSSLClient(ours.port, ca=interop_pki.ca_pem))  # stopped after the test
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from workbench.peers import (GnuTLSServer, NetnsUnavailable, OpenSSLServer, PeerProcess, PrivateNetwork,
                             missing_reason, why_netns_unavailable)
from workbench.pki import Identity, TestCA
from workbench.tls import ClientConfig, ServerConfig

from .engine_endpoints import EngineServer

KEY_TYPES = ("ecdsa-p256", "ecdsa-p384", "rsa-2048", "ed25519")
SERVER_NAMES = ("localhost", "127.0.0.1")
CLIENT_NAME = "client.test"


@dataclass(frozen=True)
class PemIdentity:
    """An Identity and the PEM files a peer program reads it from."""
    identity: Identity
    cert: Path      # the leaf, then its intermediates
    key: Path

    @property
    def certificate_chain(self) -> tuple[x509.Certificate, ...]:
        return self.identity.certificate_chain

    @property
    def private_key(self):
        return self.identity.private_key

    @property
    def der(self) -> bytes:
        return self.identity.certificate.public_bytes(serialization.Encoding.DER)


class InteropPKI:
    """A CA written to PEM, with server leaves (localhost, 127.0.0.1) and client leaves (client.test)
    of every key type, made on first use and kept for the session."""

    def __init__(self, ca: TestCA, directory: Path, name: str = "trusted"):
        self.ca = ca
        self.directory = directory
        self.name = name
        self.ca_pem = ca.write_pem(directory / f"{name}-ca.pem")
        self._identities: dict[tuple[str, str], PemIdentity] = {}

    @property
    def ca_certificate(self) -> x509.Certificate:
        return self.ca.certificate

    @property
    def ca_der(self) -> bytes:
        return self.ca.certificate.public_bytes(serialization.Encoding.DER)

    def _identity(self, role: str, key_type: str) -> PemIdentity:
        cached = self._identities.get((role, key_type))
        if cached is None:
            names = SERVER_NAMES if role == "server" else (CLIENT_NAME,)
            identity = self.ca.issue(hostnames=names, key_type=key_type)
            stem = self.directory / f"{self.name}-{role}-{key_type}"
            cert, key = identity.write_pem(stem.with_suffix(".pem"), stem.with_suffix(".key"))
            cached = self._identities[(role, key_type)] = PemIdentity(identity, cert, key)
        return cached

    def server(self, key_type: str = "ecdsa-p256") -> PemIdentity:
        return self._identity("server", key_type)

    def client(self, key_type: str = "ecdsa-p256") -> PemIdentity:
        return self._identity("client", key_type)

    def client_config(self, *, client_key_type: str | None = None, **overrides) -> ClientConfig:
        """Our client trusting this CA and expecting "localhost"; with a client certificate when asked."""
        kw: dict = dict(server_name="localhost", trust_anchors=(self.ca_certificate,))
        if client_key_type is not None:
            leaf = self.client(client_key_type)
            kw.update(certificate_chain=leaf.certificate_chain, private_key=leaf.private_key)
        kw.update(overrides)
        return ClientConfig(**kw)

    def server_config(self, key_type: str = "ecdsa-p256", **overrides) -> ServerConfig:
        """Our server presenting this CA's localhost leaf of `key_type`."""
        leaf = self.server(key_type)
        kw: dict = dict(certificate_chain=leaf.certificate_chain, private_key=leaf.private_key)
        kw.update(overrides)
        return ServerConfig(**kw)


@pytest.fixture(scope="session")
def interop_pki(test_ca: TestCA, tmp_path_factory: pytest.TempPathFactory) -> InteropPKI:
    """The session's test CA and its leaves, as PEM files."""
    return InteropPKI(test_ca, tmp_path_factory.mktemp("interop-pki"))


@pytest.fixture(scope="session")
def untrusted_pki(tmp_path_factory: pytest.TempPathFactory) -> InteropPKI:
    """Another CA, which nobody in the tests trusts, and its leaves."""
    return InteropPKI(TestCA.create("Untrusted Test CA"), tmp_path_factory.mktemp("untrusted-pki"), "untrusted")


class PeerServers:
    """Peer servers shared by the tests of a module, one per configuration, started on first use.

    `openssl_s_server` serves one connection at a time: a test finishes its connection (or
    lets it fail) before the next test connects. gnutls-serv runs in a private network
    namespace made for the module (`netns`); connect to it with engine_connect(..., netns=...).
    """

    def __init__(self, pki: InteropPKI):
        self.pki = pki
        self._servers: dict[tuple, PeerProcess] = {}
        self._netns: PrivateNetwork | None = None

    @property
    def netns(self) -> PrivateNetwork:
        if self._netns is None:
            reason = why_netns_unavailable()
            if reason:
                pytest.skip(reason)
            try:
                self._netns = PrivateNetwork().start()
            except NetnsUnavailable as error:
                pytest.skip(str(error))
        return self._netns

    def _shared(self, key: tuple, make: Callable[[], PeerProcess]) -> PeerProcess:
        server = self._servers.get(key)
        if server is None or not server.running:
            server = self._servers[key] = make().start()
        return server

    def openssl(self, key_type: str = "ecdsa-p256", *args: str, client_ca: Path | None = None) -> OpenSSLServer:
        """`openssl s_server` with the localhost leaf of `key_type`; client_ca sets -CAfile (for -Verify)."""
        _require("openssl")
        leaf = self.pki.server(key_type)
        return self._shared(("openssl", key_type, args, client_ca),
                            lambda: OpenSSLServer(leaf.cert, leaf.key, ca=client_ca, args=args))

    def gnutls(self, key_type: str = "ecdsa-p256", *args: str, client_ca: Path | None = None) -> GnuTLSServer:
        """`gnutls-serv --echo` with the localhost leaf of `key_type`, in the module's private namespace."""
        _require("gnutls-serv")
        leaf = self.pki.server(key_type)
        return self._shared(("gnutls", key_type, args, client_ca),
                            lambda: GnuTLSServer(leaf.cert, leaf.key, netns=self.netns, ca=client_ca, args=args))

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
        if self._netns is not None:
            self._netns.stop()
            self._netns = None


def _require(*programs: str) -> None:
    reason = missing_reason(*programs)
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def peer_servers(interop_pki: InteropPKI) -> Iterator[PeerServers]:
    servers = PeerServers(interop_pki)
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture
def launch() -> Iterator[Callable[[PeerProcess], PeerProcess]]:
    """launch(peer) starts a peer program (a client, a one-off server) and stops it by PID after the test.
    Skips, with the reason, when the program is not installed."""
    started: list[PeerProcess] = []

    def start(peer: PeerProcess) -> PeerProcess:
        _require(peer.program_argv[0])
        started.append(peer)
        return peer.start()

    yield start
    for peer in reversed(started):
        peer.stop()


@pytest.fixture
def engine_server() -> Iterator[Callable[..., EngineServer]]:
    """engine_server(config) runs our echoing server on 127.0.0.1 until the end of the test."""
    started: list[EngineServer] = []

    def start(config: ServerConfig, **kwargs) -> EngineServer:
        server = EngineServer(config, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
