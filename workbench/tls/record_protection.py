"""Record protection for one direction of a connection: plaintext, TLS 1.3 AEAD, TLS 1.2 AEAD.

Each object owns one epoch (its keys) and counts its sequence numbers. `seal` returns a whole
record (header + protected fragment) ready for the wire; `open` takes a framed `Record` (see
record.py) and returns (content type, plaintext); `open_raw` does the same from the (header,
fragment) pair of RecordFramer.pop_raw(), the form the bulk receive path uses.

This is the bulk data path: the AEAD object is built once per key, the IV is kept as an int so a
nonce is one XOR and one to_bytes, and sealing a TLS 1.3 record costs two concatenations (the inner
plaintext, then header + ciphertext); the uncommon cases (padding, limits) leave the fast path.
"""
from __future__ import annotations

import functools
import struct

from cryptography.exceptions import InvalidTag

from .cipher_suites import CipherSuiteInfo
from .enums import ContentType, ProtocolVersion
from .errors import BadRecordMac, ProtocolError, RecordOverflow, UnexpectedMessage, UsageError
from .key_schedule import traffic_keys
from .record import record_of

MAX_PLAINTEXT = 2 ** 14
MAX_INNER_PLAINTEXT_13 = 2 ** 14 + 1          # content + the inner content type byte
MAX_CIPHERTEXT_13 = 2 ** 14 + 256
MAX_CIPHERTEXT_12 = 2 ** 14 + 2048
_SEQUENCE_LIMIT = 2 ** 64 - 1                 # sequence numbers must not wrap (RFC 8446 5.3)

_APPLICATION_DATA = int(ContentType.APPLICATION_DATA)
_LEGACY_VERSION = int(ProtocolVersion.TLS12)
_BYTE = {i: bytes((i,)) for i in range(256)}  # content type -> its byte; KeyError outside 0..255
_join = b"".join
# The header of a TLS 1.3 protected record: application_data, legacy version 3.3, length.
_protected_header = functools.partial(struct.Struct(">BHH").pack, _APPLICATION_DATA, _LEGACY_VERSION)


def _sequence_exhausted(epoch: str) -> ProtocolError:
    return ProtocolError(f"sequence numbers of epoch {epoch!r} exhausted; the keys must be updated")


class RecordProtection:
    """One direction's record protection in one epoch."""

    __slots__ = ("epoch", "sequence", "suite")

    def __init__(self, epoch: str, suite: CipherSuiteInfo | None):
        self.epoch = epoch
        self.sequence = 0
        self.suite = suite

    def seal(self, content_type: int, data: bytes, padding: int = 0) -> bytes:
        raise NotImplementedError

    def open(self, record) -> tuple[int, bytes]:
        raise NotImplementedError

    def open_raw(self, header: bytes, fragment: bytes | memoryview) -> tuple[int, bytes]:
        """open() of a record given as its 5-byte header and its fragment (bytes or a memoryview)."""
        return self.open(record_of(header, fragment))

    def __repr__(self) -> str:
        suite = self.suite.name if self.suite is not None else None
        return f"{type(self).__name__}(epoch={self.epoch!r}, sequence={self.sequence}, suite={suite})"


class NullProtection(RecordProtection):
    """The initial epoch: records travel in the clear.

    `record_version` is the legacy version written in sealed headers (0x0301 is customary for a
    first ClientHello, 0x0303 otherwise).
    """

    __slots__ = ("record_version",)

    def __init__(self, epoch: str = "plaintext", record_version: int = _LEGACY_VERSION):
        super().__init__(epoch, None)
        self.record_version = record_version

    def seal(self, content_type: int, data: bytes, padding: int = 0) -> bytes:
        if padding:
            raise UsageError("plaintext records cannot be padded")
        n = len(data)
        if n > MAX_PLAINTEXT:
            raise UsageError(f"record payload of {n} bytes exceeds 2^14")
        self.sequence += 1
        return bytes((content_type, self.record_version >> 8, self.record_version & 0xFF, n >> 8, n & 0xFF)) + data

    def open(self, record) -> tuple[int, bytes]:
        if len(record.fragment) > MAX_PLAINTEXT:
            raise RecordOverflow(f"plaintext record of {len(record.fragment)} bytes exceeds 2^14")
        self.sequence += 1
        return record.content_type, record.fragment


class TLS13Protection(RecordProtection):
    """TLS 1.3 record protection (RFC 8446 5.2): TLSInnerPlaintext inside an AEAD, outer type 23."""

    __slots__ = ("traffic_secret", "_aead", "_iv", "_tag_length")

    def __init__(self, suite: CipherSuiteInfo, traffic_secret: bytes, epoch: str):
        self.epoch = epoch              # RecordProtection.__init__, inlined: eight of these per handshake
        self.sequence = 0
        self.suite = suite
        key, iv = traffic_keys(suite, traffic_secret)
        self.traffic_secret = traffic_secret
        self._aead = suite.make_aead(key)
        self._iv = int.from_bytes(iv, "big")
        self._tag_length = suite.tag_length

    def seal(self, content_type: int, data: bytes | memoryview, padding: int = 0) -> bytes:
        seq = self.sequence
        n = len(data)
        if padding or n > MAX_PLAINTEXT or seq >= _SEQUENCE_LIMIT:
            return self._seal_checked(content_type, data, padding)
        length = n + 1 + self._tag_length
        header = _protected_header(length)
        self.sequence = seq + 1
        # `data` may also be a memoryview (a slice of a larger send), which has no +: join copies it once.
        inner = data + _BYTE[content_type] if type(data) is bytes else _join((data, _BYTE[content_type]))
        return header + self._aead.encrypt((self._iv ^ seq).to_bytes(12, "big"), inner, header)

    def _seal_checked(self, content_type: int, data: bytes | memoryview, padding: int) -> bytes:
        """seal() off the fast path: padding, limits, sequence exhaustion."""
        if len(data) > MAX_PLAINTEXT:
            raise UsageError(f"record payload of {len(data)} bytes exceeds 2^14")
        if padding < 0 or len(data) + 1 + padding > MAX_INNER_PLAINTEXT_13:
            # Padding counts towards the 2^14 + 1 limit of TLSInnerPlaintext (RFC 8446 5.4).
            raise UsageError(f"padding of {padding} bytes makes the inner plaintext exceed 2^14 + 1")
        seq = self.sequence
        if seq >= _SEQUENCE_LIMIT:
            raise _sequence_exhausted(self.epoch)
        inner = _join((data, _BYTE[content_type], bytes(padding)))
        length = len(inner) + self._tag_length
        header = _protected_header(length)
        self.sequence = seq + 1
        return header + self._aead.encrypt((self._iv ^ seq).to_bytes(12, "big"), inner, header)

    def open(self, record) -> tuple[int, bytes]:
        return self.open_raw(record.header, record.fragment)

    def open_raw(self, header: bytes, fragment: bytes | memoryview) -> tuple[int, bytes]:
        # The header as it came is the additional data (RFC 8446 5.2): no need to rebuild it.
        n = len(fragment)
        seq = self.sequence
        if n > MAX_CIPHERTEXT_13:
            raise RecordOverflow(f"protected record of {n} bytes exceeds 2^14 + 256")
        if seq >= _SEQUENCE_LIMIT:
            raise _sequence_exhausted(self.epoch)
        try:
            inner = self._aead.decrypt((self._iv ^ seq).to_bytes(12, "big"), fragment, header)
        except InvalidTag:
            raise BadRecordMac(f"record {seq} of epoch {self.epoch!r} failed authentication") from None
        self.sequence = seq + 1
        if len(inner) > MAX_INNER_PLAINTEXT_13:
            raise RecordOverflow(f"inner plaintext of {len(inner)} bytes exceeds 2^14 + 1")
        content_type = inner[-1] if inner else 0
        if content_type:                       # the common case: no padding
            return content_type, inner[:-1]
        stripped = inner.rstrip(b"\x00")
        if not stripped:
            raise UnexpectedMessage("protected record holds no content type (all zeros)")
        return stripped[-1], stripped[:-1]


class TLS12AEADProtection(RecordProtection):
    """TLS 1.2 AEAD record protection.

    AES-GCM / AES-CCM (RFC 5288, RFC 6655): nonce = fixed IV (4) + explicit nonce (8), which travels in
    front of the ciphertext. We send the sequence number as the explicit nonce (RFC 5288 3 allows it);
    on receipt the nonce is taken from the record (OpenSSL starts at a random value and counts up).
    ChaCha20-Poly1305 (RFC 7905): nonce = IV (12) XOR sequence number, nothing explicit.
    Additional data: seq_num(8) + type(1) + version(2) + plaintext length(2).
    """

    __slots__ = ("_aead", "_iv", "_fixed_iv", "_explicit", "_tag_length")

    def __init__(self, suite: CipherSuiteInfo, key: bytes, iv: bytes, epoch: str):
        super().__init__(epoch, suite)
        if len(iv) != suite.iv_length:
            raise ValueError(f"{suite.name} needs a {suite.iv_length}-byte IV, got {len(iv)}")
        self._aead = suite.make_aead(key)
        self._explicit = suite.explicit_nonce_length
        self._fixed_iv = iv
        self._iv = int.from_bytes(iv, "big")
        self._tag_length = suite.tag_length

    def seal(self, content_type: int, data: bytes, padding: int = 0) -> bytes:
        if padding:
            raise UsageError("TLS 1.2 AEAD records cannot be padded")
        n = len(data)
        if n > MAX_PLAINTEXT:
            raise UsageError(f"record payload of {n} bytes exceeds 2^14")
        seq = self.sequence
        if seq >= _SEQUENCE_LIMIT:
            raise _sequence_exhausted(self.epoch)
        seq_bytes = seq.to_bytes(8, "big")
        aad = seq_bytes + bytes((content_type, 3, 3, n >> 8, n & 0xFF))
        length = n + self._explicit + self._tag_length
        header = bytes((content_type, 3, 3, length >> 8, length & 0xFF))
        self.sequence = seq + 1
        if self._explicit:
            return header + seq_bytes + self._aead.encrypt(self._fixed_iv + seq_bytes, data, aad)
        return header + self._aead.encrypt((self._iv ^ seq).to_bytes(12, "big"), data, aad)

    def open(self, record) -> tuple[int, bytes]:
        return self.open_raw(record.header, record.fragment)

    def open_raw(self, header: bytes, fragment: bytes | memoryview) -> tuple[int, bytes]:
        size = len(fragment)
        if size > MAX_CIPHERTEXT_12:
            raise RecordOverflow(f"protected record of {size} bytes exceeds 2^14 + 2048")
        seq = self.sequence
        if seq >= _SEQUENCE_LIMIT:
            raise _sequence_exhausted(self.epoch)
        explicit = self._explicit
        n = size - explicit - self._tag_length
        if n < 0:
            raise BadRecordMac(f"record {seq} of epoch {self.epoch!r} is too short to be protected")
        content_type = header[0]
        aad = seq.to_bytes(8, "big") + bytes((content_type, header[1], header[2], n >> 8, n & 0xFF))
        try:
            if explicit:
                plaintext = self._aead.decrypt(self._fixed_iv + fragment[:explicit],
                                               memoryview(fragment)[explicit:], aad)
            else:
                plaintext = self._aead.decrypt((self._iv ^ seq).to_bytes(12, "big"), fragment, aad)
        except InvalidTag:
            raise BadRecordMac(f"record {seq} of epoch {self.epoch!r} failed authentication") from None
        self.sequence = seq + 1
        if n > MAX_PLAINTEXT:
            raise RecordOverflow(f"plaintext of {n} bytes exceeds 2^14")
        return content_type, plaintext
