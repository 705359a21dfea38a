import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from workbench.pki import TestCA


@pytest.fixture(scope="module")
def chained():
    root = TestCA.create()
    intermediate = root.intermediate()
    return root, intermediate, intermediate.issue(hostnames=("localhost", "127.0.0.1", "::1"), key_type="rsa-2048")


def test_certificate_chain_is_leaf_then_intermediates(chained):
    root, intermediate, identity = chained
    assert identity.chain == (intermediate.certificate,)
    assert identity.certificate_chain == (identity.certificate, intermediate.certificate)
    assert root.certificate not in identity.certificate_chain


def test_hostnames_and_key_type(chained):
    _, _, identity = chained
    assert identity.hostnames == ("localhost", "127.0.0.1", "::1")
    assert identity.key_type == "rsa-2048"


def test_write_pem_writes_leaf_with_chain_and_a_private_key(chained, tmp_path):
    _, intermediate, identity = chained
    chain_path = tmp_path / "chain.pem"
    cert_path, key_path = identity.write_pem(tmp_path / "leaf.pem", tmp_path / "leaf.key", chain_path=chain_path)
    assert x509.load_pem_x509_certificates(cert_path.read_bytes()) == list(identity.certificate_chain)
    assert x509.load_pem_x509_certificates(chain_path.read_bytes()) == [intermediate.certificate]
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert key.public_key() == identity.certificate.public_key()
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_certificate_pem_without_chain_is_the_leaf_alone(chained):
    _, _, identity = chained
    assert x509.load_pem_x509_certificates(identity.certificate_pem(with_chain=False)) == [identity.certificate]
