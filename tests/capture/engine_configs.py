"""Fixtures for capture tests that run our own engine: a client and a server config that trust each other
(the test CA and its localhost identity come from tests/conftest.py). Import them into a test module."""
from __future__ import annotations

import pytest

from workbench.tls import ClientConfig, ServerConfig


@pytest.fixture
def server_config(localhost_identity):
    return ServerConfig(certificate_chain=localhost_identity.certificate_chain,
                        private_key=localhost_identity.private_key)


@pytest.fixture
def client_config(test_ca):
    return ClientConfig(server_name="localhost", trust_anchors=(test_ca.certificate,))
