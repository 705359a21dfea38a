"""Fixtures for the transport tests: a client and a server config that trust each other.

The test CA, its localhost identity and PEM files come from tests/conftest.py.
"""
from __future__ import annotations

import pytest


@pytest.fixture
def server_config(localhost_identity):
    from workbench.tls import ServerConfig
    return ServerConfig(certificate_chain=localhost_identity.certificate_chain,
                        private_key=localhost_identity.private_key)


@pytest.fixture
def client_config(test_ca):
    from workbench.tls import ClientConfig
    return ClientConfig(server_name="localhost", trust_anchors=(test_ca.certificate,))
