"""Record framing (RFC 8446 5.1, RFC 5246 6.2): bytes from the transport in, whole records out.

The framer knows headers and sizes only; protection, content rules (empty records,
interleaving) and versions are the record layer's business. It is on the bulk-data path,
so it slices whole records and never loops over bytes; `pop_raw()` is the bulk path's form,
which makes no Record object and does not copy the fragment out of the bytes that were fed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .enums import ContentType
from .errors import RecordOverflow, UnexpectedMessage, UsageError
from .frozen import fast_frozen_init

MAX_PLAINTEXT = 2 ** 14
MAX_CIPHERTEXT_13 = 2 ** 14 + 256
MAX_CIPHERTEXT_12 = 2 ** 14 + 2048
RECORD_HEADER_SIZE = 5

_FIRST_TYPE = int(ContentType.CHANGE_CIPHER_SPEC)
_LAST_TYPE = int(ContentType.HEARTBEAT)


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class Record:
    content_type: int
    version: int
    fragment: bytes

    @property
    def header(self) -> bytes:
        """The 5-byte record header (also the TLS 1.3 AEAD additional data)."""
        return bytes((self.content_type, self.version >> 8, self.version & 0xFF,
                      len(self.fragment) >> 8, len(self.fragment) & 0xFF))


def record_of(header: bytes, fragment: bytes | memoryview) -> Record:
    """The Record of a (header, fragment) pair from RecordFramer.pop_raw()."""
    if type(fragment) is not bytes:
        fragment = bytes(fragment)
    return Record(header[0], header[1] << 8 | header[2], fragment)


def encode_record(content_type: int, fragment: bytes, version: int = 0x0303) -> bytes:
    """Header + fragment. Splitting data to the record size limit is the caller's job."""
    size = len(fragment)
    if size > 0xFFFF:
        raise UsageError(f"record fragment of {size} bytes does not fit the 16-bit length field")
    return bytes((content_type, version >> 8, version & 0xFF, size >> 8, size & 0xFF)) + fragment


class RecordFramer:
    """Splits a byte stream into records.

    `max_fragment` is the largest fragment accepted (the engine tightens it once the version
    is known); a header announcing more raises RecordOverflow before the body arrives. A content
    type outside 20..24 raises UnexpectedMessage as soon as its byte arrives: the stream is not TLS.
    """

    # Drop consumed bytes from the front of the accumulation buffer once this many have piled up.
    _COMPACT_AT = 1 << 16

    def __init__(self, max_fragment: int = MAX_CIPHERTEXT_12):
        self.max_fragment = max_fragment
        # While nothing is left over, `_data` is the caller's bytes object itself (no copy);
        # once a record straddles two feeds it becomes a bytearray that accumulates.
        self._data: bytes | bytearray = b""
        self._view: memoryview | None = None     # of `_data` while it is bytes, made on first use
        self._pos = 0

    @property
    def buffered(self) -> int:
        """Bytes fed and not yet returned as records."""
        return len(self._data) - self._pos

    def feed(self, data: bytes) -> None:
        if not data:
            return
        self._view = None
        if self._pos >= len(self._data):
            self._data = data if type(data) is bytes else bytes(data)
            self._pos = 0
            return
        if type(self._data) is bytes:
            self._data = bytearray(memoryview(self._data)[self._pos:])
            self._pos = 0
        elif self._pos >= self._COMPACT_AT:
            del self._data[:self._pos]
            self._pos = 0
        self._data += data

    def whole_record(self, data: bytes) -> Optional[tuple[bytes, memoryview]]:
        """(header, fragment) of `data` when nothing is buffered and `data` is exactly one whole
        record of a TLS content type within the size limit, the fragment a memoryview of it; else
        None, and the caller feeds it. One record per read is the common case of bulk data, and it
        then needs no feed() and pop_raw() round."""
        if self._pos < len(self._data) or type(data) is not bytes:
            return None
        size = len(data)
        if size < RECORD_HEADER_SIZE or not _FIRST_TYPE <= data[0] <= _LAST_TYPE:
            return None
        length = data[3] << 8 | data[4]
        if size != RECORD_HEADER_SIZE + length or length > self.max_fragment:
            return None
        return data[:RECORD_HEADER_SIZE], memoryview(data)[RECORD_HEADER_SIZE:]

    def pop(self) -> Optional[Record]:
        """The next whole record, or None until more bytes arrive."""
        raw = self.pop_raw()
        return None if raw is None else record_of(*raw)

    def pop_raw(self) -> Optional[tuple[bytes, bytes | memoryview]]:
        """The next whole record as (5-byte header, fragment), or None until more bytes arrive.

        While the fed bytes are kept as they came (one bytes object holding whole records, the
        common case), the fragment is a read-only memoryview of them instead of a 16 KiB copy;
        it stays valid, since it keeps those bytes alive. Otherwise it is bytes.
        """
        data = self._data
        pos = self._pos
        available = len(data) - pos
        if available <= 0:
            return None
        content_type = data[pos]
        if not _FIRST_TYPE <= content_type <= _LAST_TYPE:
            raise UnexpectedMessage(f"record has content type {content_type}: not TLS",
                                    expected="content type 20..24", received=str(content_type))
        if available < RECORD_HEADER_SIZE:
            return None
        length = data[pos + 3] << 8 | data[pos + 4]
        if length > self.max_fragment:
            raise RecordOverflow(f"record announces {length} bytes, more than the limit of {self.max_fragment}",
                                 expected=f"at most {self.max_fragment} bytes", received=f"{length} bytes")
        end = pos + RECORD_HEADER_SIZE + length
        if end > len(data):
            return None
        self._pos = end
        if type(data) is bytes:
            view = self._view
            if view is None:
                view = self._view = memoryview(data)
            return data[pos:pos + RECORD_HEADER_SIZE], view[pos + RECORD_HEADER_SIZE:end]
        # A bytearray grows and shrinks: hand out copies, never views that would pin it.
        with memoryview(data) as view:
            return bytes(view[pos:pos + RECORD_HEADER_SIZE]), bytes(view[pos + RECORD_HEADER_SIZE:end])
