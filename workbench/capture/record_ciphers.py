"""Opening protected records seen on the wire, one "opener" per direction and epoch.

Unlike the engine's RecordProtection, an opener does not own the sequence number: a capture decoder tries
several candidate keys on a record (early data or handshake? old or new epoch?) and only the one that
authenticates may advance. Every failure raises DecryptFailed; nothing is returned unauthenticated.

TLS 1.3 AEAD (RFC 8446 5.2-5.4: nonce = iv XOR sequence, inner content type, zero padding), TLS 1.2 AEAD
(GCM/CCM with the 8-byte explicit nonce, ChaCha20-Poly1305 per RFC 7905), TLS 1.2 AES-CBC with HMAC,
MAC-then-encrypt (RFC 5246 6.2.3.2) or encrypt-then-MAC (RFC 7366).
"""
from __future__ import annotations

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from workbench.tls.cipher_suites import CipherSuiteInfo
from workbench.tls.key_schedule import traffic_keys

from .suites import CBCSuite


def make_aead(suite: CipherSuiteInfo, key: bytes):
    """The AEAD object of a suite for one key (built once per key; CCM needs its tag length)."""
    if suite.aead is AESCCM:
        return AESCCM(key, tag_length=suite.tag_length)
    return suite.aead(key)


def is_tls13(suite) -> bool:
    return suite.version == 0x0304


class DecryptFailed(Exception):
    """The record did not authenticate under these keys (or is malformed for this cipher)."""


class Tls13Opener:
    __slots__ = ("suite", "secret", "_decrypt", "_iv")

    def __init__(self, suite: CipherSuiteInfo, secret: bytes):
        key, iv = traffic_keys(suite, secret)
        self.suite = suite
        self.secret = secret
        self._decrypt = make_aead(suite, key).decrypt
        self._iv = int.from_bytes(iv, "big")

    def open(self, record: bytes, seq: int) -> tuple[int, bytes]:
        """(inner content type, content) of a whole TLS 1.3 record (header included)."""
        try:
            inner = self._decrypt((self._iv ^ seq).to_bytes(12, "big"), record[5:], record[:5])
        except (InvalidTag, ValueError):
            raise DecryptFailed("record did not authenticate") from None
        if inner and inner[-1]:
            return inner[-1], inner[:-1]
        stripped = inner.rstrip(b"\x00")          # padding (RFC 8446 5.4)
        if not stripped:
            raise DecryptFailed("inner plaintext holds only padding (no content type)")
        return stripped[-1], stripped[:-1]


class Tls12AeadOpener:
    __slots__ = ("suite", "_decrypt", "_fixed", "_iv", "_explicit", "_tag")

    def __init__(self, suite: CipherSuiteInfo, key: bytes, iv: bytes):
        self.suite = suite
        self._decrypt = make_aead(suite, key).decrypt
        self._fixed = iv
        self._iv = int.from_bytes(iv, "big")
        self._explicit = suite.explicit_nonce_length
        self._tag = suite.tag_length

    def open(self, record: bytes, seq: int) -> tuple[int, bytes]:
        explicit = self._explicit
        if explicit:
            nonce = self._fixed + record[5:5 + explicit]
            ciphertext = record[5 + explicit:]
        else:
            nonce = (self._iv ^ seq).to_bytes(12, "big")
            ciphertext = record[5:]
        length = len(ciphertext) - self._tag
        if length < 0:
            raise DecryptFailed("record shorter than the authentication tag")
        aad = seq.to_bytes(8, "big") + record[:3] + length.to_bytes(2, "big")
        try:
            return record[0], self._decrypt(nonce, ciphertext, aad)
        except (InvalidTag, ValueError):
            raise DecryptFailed("record did not authenticate") from None


class Tls12CbcOpener:
    __slots__ = ("suite", "_key", "_mac_key", "etm")

    def __init__(self, suite: CBCSuite, key: bytes, mac_key: bytes, *, encrypt_then_mac: bool):
        self.suite = suite
        self._key = key
        self._mac_key = mac_key
        self.etm = encrypt_then_mac

    def _mac(self, data: bytes) -> hmac.HMAC:
        mac = hmac.HMAC(self._mac_key, self.suite.mac_hash())
        mac.update(data)
        return mac

    def _cbc_decrypt(self, iv: bytes, ciphertext: bytes) -> bytes:
        d = Cipher(algorithms.AES(self._key), modes.CBC(iv)).decryptor()
        return d.update(ciphertext) + d.finalize()

    def open(self, record: bytes, seq: int) -> tuple[int, bytes]:
        bs, mac_len = self.suite.block_size, self.suite.mac_length
        fragment = record[5:]
        seq_bytes = seq.to_bytes(8, "big")
        if self.etm:
            body, tag = fragment[:-mac_len], fragment[-mac_len:]
            if len(body) < 2 * bs or len(body) % bs:
                raise DecryptFailed("encrypt-then-MAC record has an impossible length")
            try:
                self._mac(seq_bytes + record[:3] + len(body).to_bytes(2, "big") + body).verify(tag)
            except InvalidSignature:
                raise DecryptFailed("record MAC does not verify") from None
            padded = self._cbc_decrypt(body[:bs], body[bs:])
            pad = padded[-1]
            if pad + 1 > len(padded) or padded[-pad - 1:] != bytes([pad]) * (pad + 1):
                raise DecryptFailed("bad CBC padding")
            return record[0], padded[:-pad - 1]
        if len(fragment) < 2 * bs or len(fragment) % bs:
            raise DecryptFailed("CBC record has an impossible length")
        padded = self._cbc_decrypt(fragment[:bs], fragment[bs:])
        pad = padded[-1]
        if pad + 1 + mac_len > len(padded) or padded[-pad - 1:] != bytes([pad]) * (pad + 1):
            raise DecryptFailed("bad CBC padding")
        content_end = len(padded) - pad - 1 - mac_len
        content = padded[:content_end]
        try:
            self._mac(seq_bytes + record[:3] + content_end.to_bytes(2, "big") + content).verify(
                padded[content_end:content_end + mac_len])
        except InvalidSignature:
            raise DecryptFailed("record MAC does not verify") from None
        return record[0], content
