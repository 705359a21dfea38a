"""The cipher suite table against the registries (RFC 8446 B.4, RFC 5289, RFC 7905)."""
from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from workbench.tls.cipher_suites import CIPHER_SUITES, suite_info
from workbench.tls.enums import CipherSuite

# code: (version, AEAD, key length, IV length, tag length, hash, key exchange, authentication, explicit nonce)
EXPECTED = {
    0x1301: (0x0304, AESGCM, 16, 12, 16, hashes.SHA256, None, None, 0),
    0x1302: (0x0304, AESGCM, 32, 12, 16, hashes.SHA384, None, None, 0),
    0x1303: (0x0304, ChaCha20Poly1305, 32, 12, 16, hashes.SHA256, None, None, 0),
    0x1304: (0x0304, AESCCM, 16, 12, 16, hashes.SHA256, None, None, 0),
    0x1305: (0x0304, AESCCM, 16, 12, 8, hashes.SHA256, None, None, 0),
    0xC02B: (0x0303, AESGCM, 16, 4, 16, hashes.SHA256, "ECDHE", "ECDSA", 8),
    0xC02C: (0x0303, AESGCM, 32, 4, 16, hashes.SHA384, "ECDHE", "ECDSA", 8),
    0xC02F: (0x0303, AESGCM, 16, 4, 16, hashes.SHA256, "ECDHE", "RSA", 8),
    0xC030: (0x0303, AESGCM, 32, 4, 16, hashes.SHA384, "ECDHE", "RSA", 8),
    0xCCA8: (0x0303, ChaCha20Poly1305, 32, 12, 16, hashes.SHA256, "ECDHE", "RSA", 0),
    0xCCA9: (0x0303, ChaCha20Poly1305, 32, 12, 16, hashes.SHA256, "ECDHE", "ECDSA", 0),
}


def test_table_has_exactly_the_expected_suites():
    assert set(CIPHER_SUITES) == set(EXPECTED)


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_suite_parameters(code):
    info = suite_info(code)
    assert (info.version, info.aead, info.key_length, info.iv_length, info.tag_length, info.hash,
            info.key_exchange, info.authentication, info.explicit_nonce_length) == EXPECTED[code]
    assert info.code == code and info.name == CipherSuite(code).name
    assert info.hash_length == info.hash.digest_size
    assert info.is_tls13 == (info.version == 0x0304)


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_make_aead_gives_the_right_tag_length(code):
    info = suite_info(code)
    aead = info.make_aead(os.urandom(info.key_length))
    assert isinstance(aead, info.aead)
    assert len(aead.encrypt(bytes(12), b"", b"")) == info.tag_length
    with pytest.raises(ValueError):
        info.make_aead(bytes(info.key_length + 1))


def test_unknown_suite_is_a_key_error():
    with pytest.raises(KeyError):
        suite_info(0x00FF)


def test_info_is_immutable():
    with pytest.raises(AttributeError):
        suite_info(0x1301).key_length = 32
