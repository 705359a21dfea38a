"""Fixtures shared by every test folder: the test CA, engine configs that trust it, PEM files, ports, peer
programs, a private network.

Folder-specific fixtures belong in that folder's own conftest.py.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.loopback_capture import why_no_capture
from workbench.peers import NetnsUnavailable, PrivateNetwork, available, free_port as pick_free_port
from workbench.peers import missing_reason, why_netns_unavailable
from workbench.pki import Identity, TestCA
from workbench.tls import ClientConfig, ServerConfig


@pytest.fixture(scope="session")
def test_ca() -> TestCA:
    """One ECDSA P-256 root CA for the whole run."""
    return TestCA.create()


@pytest.fixture(scope="session")
def localhost_identity(test_ca: TestCA) -> Identity:
    """An ECDSA P-256 leaf for localhost and 127.0.0.1, issued by test_ca."""
    return test_ca.issue(hostnames=("localhost", "127.0.0.1"))


@pytest.fixture
def server_config(localhost_identity: Identity) -> ServerConfig:
    """Our engine's server config with localhost_identity."""
    return ServerConfig(certificate_chain=localhost_identity.certificate_chain,
                        private_key=localhost_identity.private_key)


@pytest.fixture
def client_config(test_ca: TestCA) -> ClientConfig:
    """Our engine's client config for "localhost" that trusts test_ca (and so server_config)."""
    return ClientConfig(server_name="localhost", trust_anchors=(test_ca.certificate,))


@dataclass(frozen=True)
class PemFiles:
    ca: Path    # the root to trust (-CAfile, --x509cafile)
    cert: Path  # the leaf (and its intermediates, if any)
    key: Path


@pytest.fixture
def pem_files(tmp_path: Path, test_ca: TestCA, localhost_identity: Identity) -> PemFiles:
    """test_ca and localhost_identity written as PEM files, for peer programs."""
    ca = test_ca.write_pem(tmp_path / "ca.pem")
    cert, key = localhost_identity.write_pem(tmp_path / "localhost.pem", tmp_path / "localhost.key")
    return PemFiles(ca=ca, cert=cert, key=key)


@pytest.fixture
def tmp_keylog(tmp_path: Path) -> Path:
    """A path for an NSS key log (not created: the program under test writes it)."""
    return tmp_path / "keylog.txt"


@pytest.fixture
def free_port() -> int:
    """A TCP port free on 127.0.0.1 a moment ago."""
    return pick_free_port()


@pytest.fixture(scope="session")
def openssl_available() -> bool:
    return available("openssl")


@pytest.fixture(scope="session")
def gnutls_available() -> bool:
    return available("gnutls-serv") and available("gnutls-cli")


def _require(*programs: str) -> None:
    reason = missing_reason(*programs)
    if reason:
        pytest.skip(reason)


@pytest.fixture
def requires_openssl() -> None:
    _require("openssl")


@pytest.fixture
def requires_gnutls() -> None:
    _require("gnutls-serv", "gnutls-cli", "certtool")


@pytest.fixture
def requires_tshark() -> None:
    _require("tshark")


@pytest.fixture
def requires_capture() -> None:
    """Skipped where this machine cannot capture on lo (tshark, dumpcap, root)."""
    reason = why_no_capture()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def private_netns() -> Iterator[PrivateNetwork]:
    """A network namespace with only loopback (root). Skipped, with the reason, where none can be made."""
    reason = why_netns_unavailable()
    if reason:
        pytest.skip(reason)
    try:
        network = PrivateNetwork().start()
    except NetnsUnavailable as error:
        pytest.skip(str(error))
    try:
        yield network
    finally:
        network.stop()
