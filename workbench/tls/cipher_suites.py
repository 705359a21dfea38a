"""The cipher suites the engine speaks: what AEAD, key and IV sizes, and hash each one uses.

TLS 1.3 suites (RFC 8446 B.4) carry only the AEAD and the hash; the TLS 1.2 ECDHE suites
(RFC 5289, RFC 7905) also name the key exchange and the authentication. For TLS 1.2 the
`iv_length` is what the key block yields: the 4-byte fixed ("salt") part for GCM (the other
8 bytes travel in each record as the explicit nonce), the full 12 bytes for ChaCha20-Poly1305.
"""
from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from .enums import CipherSuite, ProtocolVersion


@dataclass(frozen=True, slots=True)
class CipherSuiteInfo:
    code: int
    name: str
    version: int
    aead: type
    key_length: int
    iv_length: int
    tag_length: int
    hash: type
    key_exchange: str | None = None
    authentication: str | None = None
    explicit_nonce_length: int = 0

    @property
    def hash_length(self) -> int:
        return self.hash.digest_size

    @property
    def is_tls13(self) -> bool:
        return self.version == ProtocolVersion.TLS13

    def make_aead(self, key: bytes):
        """The AEAD object for one key; build it once per key, it is reused for every record."""
        if len(key) != self.key_length:
            raise ValueError(f"{self.name} needs a {self.key_length}-byte key, got {len(key)}")
        if self.aead is AESCCM:
            return AESCCM(key, tag_length=self.tag_length)
        return self.aead(key)


def _tls13(code: CipherSuite, aead: type, key_length: int, hash_cls: type, tag_length: int = 16) -> CipherSuiteInfo:
    return CipherSuiteInfo(code=int(code), name=code.name, version=int(ProtocolVersion.TLS13), aead=aead,
                           key_length=key_length, iv_length=12, tag_length=tag_length, hash=hash_cls)


def _tls12(code: CipherSuite, aead: type, key_length: int, hash_cls: type, authentication: str) -> CipherSuiteInfo:
    chacha = aead is ChaCha20Poly1305
    return CipherSuiteInfo(code=int(code), name=code.name, version=int(ProtocolVersion.TLS12), aead=aead,
                           key_length=key_length, iv_length=12 if chacha else 4, tag_length=16, hash=hash_cls,
                           key_exchange="ECDHE", authentication=authentication,
                           explicit_nonce_length=0 if chacha else 8)


CIPHER_SUITES: dict[int, CipherSuiteInfo] = {info.code: info for info in (
    _tls13(CipherSuite.TLS_AES_128_GCM_SHA256, AESGCM, 16, hashes.SHA256),
    _tls13(CipherSuite.TLS_AES_256_GCM_SHA384, AESGCM, 32, hashes.SHA384),
    _tls13(CipherSuite.TLS_CHACHA20_POLY1305_SHA256, ChaCha20Poly1305, 32, hashes.SHA256),
    _tls13(CipherSuite.TLS_AES_128_CCM_SHA256, AESCCM, 16, hashes.SHA256),
    _tls13(CipherSuite.TLS_AES_128_CCM_8_SHA256, AESCCM, 16, hashes.SHA256, tag_length=8),
    _tls12(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, AESGCM, 16, hashes.SHA256, "ECDSA"),
    _tls12(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, AESGCM, 32, hashes.SHA384, "ECDSA"),
    _tls12(CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, AESGCM, 16, hashes.SHA256, "RSA"),
    _tls12(CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, AESGCM, 32, hashes.SHA384, "RSA"),
    _tls12(CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, ChaCha20Poly1305, 32, hashes.SHA256, "RSA"),
    _tls12(CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, ChaCha20Poly1305, 32, hashes.SHA256, "ECDSA"),
)}


def suite_info(code: int) -> CipherSuiteInfo:
    """The description of a suite; KeyError for a suite the engine does not implement."""
    return CIPHER_SUITES[code]
