"""The cipher suites a capture decoder can meet, beyond those the engine speaks.

The engine's table (workbench.tls.cipher_suites.CIPHER_SUITES) covers the TLS 1.3 suites and the TLS 1.2 ECDHE
AEAD suites. Captures made by other implementations also carry TLS 1.2 AEAD suites with other key exchanges
(RSA, DHE, PSK: with a CLIENT_RANDOM line the key exchange does not matter) and CBC suites with HMAC
(MAC-then-encrypt, or encrypt-then-MAC per RFC 7366). This module describes those for decryption only.
"""
from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from workbench.tls.cipher_suites import CIPHER_SUITES, CipherSuiteInfo


@dataclass(frozen=True, slots=True)
class CBCSuite:
    """A TLS 1.2 AES-CBC + HMAC suite: key block = MAC keys, cipher keys, (unused in 1.1+) IVs."""

    code: int
    name: str
    key_length: int
    mac_hash: type          # HMAC hash (SHA-1 for the *_SHA suites)
    hash: type              # PRF hash (SHA-256 unless the suite names SHA-384)
    block_size: int = 16

    @property
    def mac_length(self) -> int:
        return self.mac_hash.digest_size

    version = 0x0303


def _aead12(code: int, name: str, aead: type, key_length: int, hash_cls: type) -> CipherSuiteInfo:
    chacha = aead is ChaCha20Poly1305
    return CipherSuiteInfo(code=code, name=name, version=0x0303, aead=aead, key_length=key_length,
                           iv_length=12 if chacha else 4, tag_length=16, hash=hash_cls,
                           explicit_nonce_length=0 if chacha else 8)


_EXTRA_AEAD = {s.code: s for s in (
    _aead12(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", AESGCM, 16, hashes.SHA256),
    _aead12(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", AESGCM, 32, hashes.SHA384),
    _aead12(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", AESGCM, 16, hashes.SHA256),
    _aead12(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", AESGCM, 32, hashes.SHA384),
    _aead12(0x00A8, "TLS_PSK_WITH_AES_128_GCM_SHA256", AESGCM, 16, hashes.SHA256),
    _aead12(0x00A9, "TLS_PSK_WITH_AES_256_GCM_SHA384", AESGCM, 32, hashes.SHA384),
    _aead12(0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", ChaCha20Poly1305, 32, hashes.SHA256),
    _aead12(0xCCAB, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256", ChaCha20Poly1305, 32, hashes.SHA256),
    _aead12(0xC09C, "TLS_RSA_WITH_AES_128_CCM", AESCCM, 16, hashes.SHA256),
    _aead12(0xC09D, "TLS_RSA_WITH_AES_256_CCM", AESCCM, 32, hashes.SHA256),
    _aead12(0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", AESCCM, 16, hashes.SHA256),
    _aead12(0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", AESCCM, 32, hashes.SHA256),
)}

_S1, _S256, _S384 = hashes.SHA1, hashes.SHA256, hashes.SHA384
CBC_SUITES: dict[int, CBCSuite] = {s.code: s for s in (
    CBCSuite(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", 16, _S1, _S256),
    CBCSuite(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", 32, _S1, _S256),
    CBCSuite(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", 16, _S256, _S256),
    CBCSuite(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", 32, _S256, _S256),
    CBCSuite(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", 16, _S1, _S256),
    CBCSuite(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", 32, _S1, _S256),
    CBCSuite(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", 16, _S256, _S256),
    CBCSuite(0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", 32, _S256, _S256),
    CBCSuite(0x008C, "TLS_PSK_WITH_AES_128_CBC_SHA", 16, _S1, _S256),
    CBCSuite(0x008D, "TLS_PSK_WITH_AES_256_CBC_SHA", 32, _S1, _S256),
    CBCSuite(0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 16, _S1, _S256),
    CBCSuite(0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 32, _S1, _S256),
    CBCSuite(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 16, _S1, _S256),
    CBCSuite(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 32, _S1, _S256),
    CBCSuite(0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 16, _S256, _S256),
    CBCSuite(0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", 32, _S384, _S384),
    CBCSuite(0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 16, _S256, _S256),
    CBCSuite(0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", 32, _S384, _S384),
)}


def lookup_suite(code: int) -> CipherSuiteInfo | CBCSuite | None:
    """What we know to decrypt a suite; None for a suite we cannot decrypt."""
    return CIPHER_SUITES.get(code) or _EXTRA_AEAD.get(code) or CBC_SUITES.get(code)


def suite_name(code: int | None) -> str | None:
    if code is None:
        return None
    info = lookup_suite(code)
    return info.name if info is not None else f"0x{code:04X}"
