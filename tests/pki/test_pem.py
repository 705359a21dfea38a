import stat

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from workbench.pki import TestCA, certificates_to_pem, generate_private_key, private_key_to_pem
from workbench.pki.pem import write_bytes


def test_certificates_round_trip_in_order():
    ca = TestCA.create()
    certs = [ca.certificate, ca.issue().certificate]
    assert x509.load_pem_x509_certificates(certificates_to_pem(certs)) == certs


def test_private_key_is_unencrypted_pkcs8():
    key = generate_private_key("ecdsa-p384")
    pem = private_key_to_pem(key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = serialization.load_pem_private_key(pem, password=None)
    assert loaded.private_numbers() == key.private_numbers()


def test_a_private_file_is_owner_only_even_when_it_existed(tmp_path):
    path = tmp_path / "key.pem"
    path.write_bytes(b"old")
    path.chmod(0o644)
    write_bytes(path, b"new", private=True)
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_parent_folders_are_created(tmp_path):
    path = write_bytes(tmp_path / "a" / "b" / "cert.pem", b"x")
    assert path.read_bytes() == b"x"
