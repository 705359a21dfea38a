"""Handshake messages: one frozen dataclass per message, `encode_handshake` / `decode_handshake`,
and the reassembler that turns record fragments back into whole messages.

Types 11, 13 and 4 have different bodies in TLS 1.3 and 1.2, so `decode_handshake` takes
the negotiated version; a type the version does not define comes back as
`UnknownHandshake` and the state machine decides what to do with it.
Extensions stay tuples in wire order, so decoding then encoding gives the same bytes.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import ClassVar, Optional, TypeVar, Union

from .buffer import Buffer
from .enums import ExtensionType, HandshakeType, ProtocolVersion
from .errors import DecodeError, UsageError
from .extensions import (
    Extension,
    ExtensionContext,
    decode_extensions,
    peek_extension_body,
    push_extensions,
)
from .frozen import fast_frozen_init

# ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 4.1.3).
HELLO_RETRY_REQUEST_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()

_TLS13_VERSION_BODY = ProtocolVersion.TLS13.to_bytes(2, "big")

E = TypeVar("E")


class _Message:
    """Shared behaviour of every message class."""
    __slots__ = ()

    def get_extension(self, cls: type[E]) -> Optional[E]:
        """The first extension of class `cls`, or None (always None for messages without extensions)."""
        return None


class _MessageWithExtensions(_Message):
    """A message with an `extensions` field."""
    __slots__ = ()

    def get_extension(self, cls: type[E]) -> Optional[E]:
        """The first extension of class `cls`, or None."""
        for ext in self.extensions:       # find_extension, inlined: about 17 calls per handshake
            if isinstance(ext, cls):
                return ext
        return None


def _expect_empty_body(buf: Buffer, name: str) -> None:
    if not buf.eof():
        raise DecodeError(f"{name} must have an empty body, got {buf.remaining} bytes")


# ----- hellos ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientHello(_MessageWithExtensions):
    TYPE: ClassVar[int] = HandshakeType.CLIENT_HELLO
    random: bytes
    legacy_session_id: bytes
    cipher_suites: tuple[int, ...]
    extensions: tuple[Extension, ...] = ()
    legacy_version: int = 0x0303
    legacy_compression_methods: bytes = b"\x00"

    def push_body(self, buf: Buffer) -> None:
        buf.push_uint16(self.legacy_version)
        buf.push_bytes(self.random)
        buf.push_opaque(1, self.legacy_session_id)
        buf.push_uint16_tuple(2, self.cipher_suites)
        buf.push_opaque(1, self.legacy_compression_methods)
        # TLS 1.2 lets a hello without extensions omit the block; an empty tuple encodes that way.
        if self.extensions:
            push_extensions(buf, self.extensions)

    @classmethod
    def pull_body(cls, buf: Buffer) -> "ClientHello":
        legacy_version = buf.pull_uint16()
        random = buf.pull_bytes(32)
        session_id = buf.pull_opaque(1)
        cipher_suites = buf.pull_uint16_tuple(2)
        compression_methods = buf.pull_opaque(1)
        extensions = () if buf.eof() else decode_extensions(buf, ExtensionContext.CLIENT_HELLO)
        return cls(random, session_id, cipher_suites, extensions, legacy_version, compression_methods)


@dataclass(frozen=True, slots=True)
class ServerHello(_MessageWithExtensions):
    """ServerHello of either version, and HelloRetryRequest (a ServerHello with a special random)."""
    TYPE: ClassVar[int] = HandshakeType.SERVER_HELLO
    random: bytes
    legacy_session_id_echo: bytes
    cipher_suite: int
    extensions: tuple[Extension, ...] = ()
    legacy_version: int = 0x0303
    legacy_compression_method: int = 0

    @property
    def is_hello_retry_request(self) -> bool:
        return self.random == HELLO_RETRY_REQUEST_RANDOM

    def push_body(self, buf: Buffer) -> None:
        buf.push_uint16(self.legacy_version)
        buf.push_bytes(self.random)
        buf.push_opaque(1, self.legacy_session_id_echo)
        buf.push_uint16(self.cipher_suite)
        buf.push_uint8(self.legacy_compression_method)
        if self.extensions:
            push_extensions(buf, self.extensions)

    @classmethod
    def pull_body(cls, buf: Buffer) -> "ServerHello":
        legacy_version = buf.pull_uint16()
        random = buf.pull_bytes(32)
        session_id = buf.pull_opaque(1)
        cipher_suite = buf.pull_uint16()
        compression_method = buf.pull_uint8()
        if buf.eof():
            extensions = ()
        else:
            if random == HELLO_RETRY_REQUEST_RANDOM:
                context = ExtensionContext.HELLO_RETRY_REQUEST
            elif peek_extension_body(buf, ExtensionType.SUPPORTED_VERSIONS) == _TLS13_VERSION_BODY:
                context = ExtensionContext.SERVER_HELLO
            else:
                # A TLS 1.2 ServerHello: key_share, pre_shared_key, ... mean nothing there.
                context = ExtensionContext.SERVER_HELLO_TLS12
            extensions = decode_extensions(buf, context)
        return cls(random, session_id, cipher_suite, extensions, legacy_version, compression_method)


# ----- TLS 1.3 (and shared) ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EncryptedExtensions(_MessageWithExtensions):
    TYPE: ClassVar[int] = HandshakeType.ENCRYPTED_EXTENSIONS
    extensions: tuple[Extension, ...] = ()

    def push_body(self, buf: Buffer) -> None:
        push_extensions(buf, self.extensions)

    @classmethod
    def pull_body(cls, buf: Buffer) -> "EncryptedExtensions":
        return cls(decode_extensions(buf, ExtensionContext.ENCRYPTED_EXTENSIONS))


@dataclass(frozen=True, slots=True)
class CertificateRequest(_MessageWithExtensions):
    """TLS 1.3 CertificateRequest."""
    TYPE: ClassVar[int] = HandshakeType.CERTIFICATE_REQUEST
    certificate_request_context: bytes
    extensions: tuple[Extension, ...]

    def push_body(self, buf: Buffer) -> None:
        buf.push_opaque(1, self.certificate_request_context)
        push_extensions(buf, self.extensions)

    @classmethod
    def pull_body(cls, buf: Buffer) -> "CertificateRequest":
        context = buf.pull_opaque(1)
        return cls(context, decode_extensions(buf, ExtensionContext.CERTIFICATE_REQUEST))


@dataclass(frozen=True, slots=True)
class CertificateEntry(_MessageWithExtensions):
    """One certificate of a TLS 1.3 Certificate message, with its own extensions (OCSP, SCT)."""
    cert_data: bytes
    extensions: tuple[Extension, ...] = ()

    def push(self, buf: Buffer) -> None:
        buf.push_opaque(3, self.cert_data)
        push_extensions(buf, self.extensions)

    @classmethod
    def pull(cls, buf: Buffer) -> "CertificateEntry":
        cert_data = buf.pull_opaque(3)
        return cls(cert_data, decode_extensions(buf, ExtensionContext.CERTIFICATE))


@dataclass(frozen=True, slots=True)
class Certificate(_Message):
    """TLS 1.3 Certificate."""
    TYPE: ClassVar[int] = HandshakeType.CERTIFICATE
    certificate_request_context: bytes
    certificate_list: tuple[CertificateEntry, ...]

    def push_body(self, buf: Buffer) -> None:
        buf.push_opaque(1, self.certificate_request_context)
        start = buf.reserve_length(3)            # push_block without a context manager: a hot path
        for entry in self.certificate_list:
            entry.push(buf)
        buf.fill_length(start, 3)

    @classmethod
    def pull_body(cls, buf: Buffer) -> "Certificate":
        context = buf.pull_opaque(1)
        return cls(context, tuple(buf.pull_list(3, CertificateEntry.pull)))


@dataclass(frozen=True, slots=True)
class CertificateVerify(_Message):
    """CertificateVerify; TLS 1.2's digitally-signed struct has the same layout."""
    TYPE: ClassVar[int] = HandshakeType.CERTIFICATE_VERIFY
    algorithm: int
    signature: bytes

    def push_body(self, buf: Buffer) -> None:
        buf.push_uint16(self.algorithm)
        buf.push_opaque(2, self.signature)

    @classmethod
    def pull_body(cls, buf: Buffer) -> "CertificateVerify":
        return cls(buf.pull_uint16(), buf.pull_opaque(2))


@dataclass(frozen=True, slots=True)
class Finished(_Message):
    """verify_data fills the body: 12 bytes in TLS 1.2, the hash length in TLS 1.3."""
    TYPE: ClassVar[int] = HandshakeType.FINISHED
    verify_data: bytes

    def push_body(self, buf: Buffer) -> None:
        buf.push_bytes(self.verify_data)

    @classmethod
    def pull_body(cls, buf: Buffer) -> "Finished":
        return cls(buf.pull_bytes(buf.remaining))


@dataclass(frozen=True, slots=True)
class NewSessionTicket(_MessageWithExtensions):
    """TLS 1.3 NewSessionTicket."""
    TYPE: ClassVar[int] = HandshakeType.NEW_SESSION_TICKET
    ticket_lifetime: int
    ticket_age_add: int
    ticket_nonce: bytes
    ticket: bytes
    extensions: tuple[Extension, ...] = ()

    def push_body(self, buf: Buffer) -> None:
        buf.push_uint32(self.ticket_lifetime)
        buf.push_uint32(self.ticket_age_add)
        buf.push_opaque(1, self.ticket_nonce)
        buf.push_opaque(2, self.ticket)
        push_extensions(buf, self.extensions)

    @classmethod
    def pull_body(cls, buf: Buffer) -> "NewSessionTicket":
        lifetime = buf.pull_uint32()
        age_add = buf.pull_uint32()
        nonce = buf.pull_opaque(1)
        ticket = buf.pull_opaque(2)
        return cls(lifetime, age_add, nonce, ticket, decode_extensions(buf, ExtensionContext.NEW_SESSION_TICKET))


@dataclass(frozen=True, slots=True)
class EndOfEarlyData(_Message):
    TYPE: ClassVar[int] = HandshakeType.END_OF_EARLY_DATA

    def push_body(self, buf: Buffer) -> None:
        pass

    @classmethod
    def pull_body(cls, buf: Buffer) -> "EndOfEarlyData":
        _expect_empty_body(buf, "EndOfEarlyData")
        return cls()


@dataclass(frozen=True, slots=True)
class KeyUpdate(_Message):
    TYPE: ClassVar[int] = HandshakeType.KEY_UPDATE
    request_update: int

    def push_body(self, buf: Buffer) -> None:
        buf.push_uint8(self.request_update)

    @classmethod
    def pull_body(cls, buf: Buffer) -> "KeyUpdate":
        return cls(buf.pull_uint8())


@dataclass(frozen=True, slots=True)
class MessageHash(_Message):
    """The synthetic message_hash that replaces ClientHello1 in the transcript after a HelloRetryRequest."""
    TYPE: ClassVar[int] = HandshakeType.MESSAGE_HASH
    digest: bytes

    def push_body(self, buf: Buffer) -> None:
        buf.push_bytes(self.digest)

    @classmethod
    def pull_body(cls, buf: Buffer) -> "MessageHash":
        return cls(buf.pull_bytes(buf.remaining))


# ----- TLS 1.2 ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HelloRequest(_Message):
    TYPE: ClassVar[int] = HandshakeType.HELLO_REQUEST

    def push_body(self, buf: Buffer) -> None:
        pass

    @classmethod
    def pull_body(cls, buf: Buffer) -> "HelloRequest":
        _expect_empty_body(buf, "HelloRequest")
        return cls()


@dataclass(frozen=True, slots=True)
class Certificate12(_Message):
    """TLS 1.2 Certificate: a list of DER certificates, leaf first."""
    TYPE: ClassVar[int] = HandshakeType.CERTIFICATE
    certificate_list: tuple[bytes, ...]

    def push_body(self, buf: Buffer) -> None:
        start = buf.reserve_length(3)            # push_block without a context manager, as everywhere in the codec
        for cert in self.certificate_list:
            buf.push_opaque(3, cert)
        buf.fill_length(start, 3)

    @classmethod
    def pull_body(cls, buf: Buffer) -> "Certificate12":
        return cls(tuple(buf.pull_list(3, lambda b: b.pull_opaque(3))))


EC_CURVE_TYPE_NAMED_CURVE = 3


@dataclass(frozen=True, slots=True)
class ServerKeyExchangeECDHE(_Message):
    """TLS 1.2 ServerKeyExchange for ECDHE suites (RFC 8422 5.4): named-curve params plus their signature."""
    TYPE: ClassVar[int] = HandshakeType.SERVER_KEY_EXCHANGE
    curve_type: int
    named_group: int
    public: bytes
    algorithm: int
    signature: bytes

    @property
    def params_bytes(self) -> bytes:
        """ServerECDHParams as on the wire: what the signature covers, after the two randoms."""
        buf = Buffer()
        self._push_params(buf)
        return buf.data

    def _push_params(self, buf: Buffer) -> None:
        buf.push_uint8(self.curve_type)
        buf.push_uint16(self.named_group)
        buf.push_opaque(1, self.public)

    def push_body(self, buf: Buffer) -> None:
        self._push_params(buf)
        buf.push_uint16(self.algorithm)
        buf.push_opaque(2, self.signature)

    @classmethod
    def pull_body(cls, buf: Buffer) -> "ServerKeyExchangeECDHE":
        curve_type = buf.pull_uint8()
        if curve_type != EC_CURVE_TYPE_NAMED_CURVE:
            # explicit_prime / explicit_char2 curves are deprecated (RFC 8422) and their layout differs.
            raise DecodeError(f"ServerKeyExchange curve_type {curve_type} is not named_curve (3)")
        named_group = buf.pull_uint16()
        public = buf.pull_opaque(1)
        return cls(curve_type, named_group, public, buf.pull_uint16(), buf.pull_opaque(2))


@dataclass(frozen=True, slots=True)
class CertificateRequest12(_Message):
    """TLS 1.2 CertificateRequest."""
    TYPE: ClassVar[int] = HandshakeType.CERTIFICATE_REQUEST
    certificate_types: bytes
    supported_signature_algorithms: tuple[int, ...]
    authorities: tuple[bytes, ...]

    def push_body(self, buf: Buffer) -> None:
        buf.push_opaque(1, self.certificate_types)
        buf.push_uint16_tuple(2, self.supported_signature_algorithms)
        start = buf.reserve_length(2)
        for name in self.authorities:
            buf.push_opaque(2, name)
        buf.fill_length(start, 2)

    @classmethod
    def pull_body(cls, buf: Buffer) -> "CertificateRequest12":
        types = buf.pull_opaque(1)
        algorithms = buf.pull_uint16_tuple(2)
        return cls(types, algorithms, tuple(buf.pull_list(2, lambda b: b.pull_opaque(2))))


@dataclass(frozen=True, slots=True)
class ServerHelloDone(_Message):
    TYPE: ClassVar[int] = HandshakeType.SERVER_HELLO_DONE

    def push_body(self, buf: Buffer) -> None:
        pass

    @classmethod
    def pull_body(cls, buf: Buffer) -> "ServerHelloDone":
        _expect_empty_body(buf, "ServerHelloDone")
        return cls()


@dataclass(frozen=True, slots=True)
class ClientKeyExchangeECDHE(_Message):
    """TLS 1.2 ClientKeyExchange for ECDHE suites: the client's public point (1-byte length)."""
    TYPE: ClassVar[int] = HandshakeType.CLIENT_KEY_EXCHANGE
    public: bytes

    def push_body(self, buf: Buffer) -> None:
        buf.push_opaque(1, self.public)

    @classmethod
    def pull_body(cls, buf: Buffer) -> "ClientKeyExchangeECDHE":
        return cls(buf.pull_opaque(1))


@dataclass(frozen=True, slots=True)
class NewSessionTicket12(_Message):
    """TLS 1.2 NewSessionTicket (RFC 5077)."""
    TYPE: ClassVar[int] = HandshakeType.NEW_SESSION_TICKET
    ticket_lifetime_hint: int
    ticket: bytes

    def push_body(self, buf: Buffer) -> None:
        buf.push_uint32(self.ticket_lifetime_hint)
        buf.push_opaque(2, self.ticket)

    @classmethod
    def pull_body(cls, buf: Buffer) -> "NewSessionTicket12":
        return cls(buf.pull_uint32(), buf.pull_opaque(2))


@dataclass(frozen=True, slots=True)
class UnknownHandshake(_Message):
    """A handshake type this version does not define (or we do not parse), kept byte for byte."""
    TYPE: ClassVar[None] = None
    type: int
    body: bytes

    def push_body(self, buf: Buffer) -> None:
        buf.push_bytes(self.body)


HandshakeMessage = Union[
    ClientHello, ServerHello, EncryptedExtensions, CertificateRequest, Certificate, CertificateVerify,
    Finished, NewSessionTicket, EndOfEarlyData, KeyUpdate, MessageHash, HelloRequest, Certificate12,
    ServerKeyExchangeECDHE, CertificateRequest12, ServerHelloDone, ClientKeyExchangeECDHE,
    NewSessionTicket12, UnknownHandshake,
]

_SHARED = (ClientHello, ServerHello, CertificateVerify, Finished)
_TLS13_CLASSES = {cls.TYPE: cls for cls in _SHARED + (
    EncryptedExtensions, CertificateRequest, Certificate, NewSessionTicket, EndOfEarlyData, KeyUpdate, MessageHash,
)}
_TLS12_CLASSES = {cls.TYPE: cls for cls in _SHARED + (
    HelloRequest, Certificate12, ServerKeyExchangeECDHE, CertificateRequest12, ServerHelloDone,
    ClientKeyExchangeECDHE, NewSessionTicket12,
)}

HANDSHAKE_HEADER_SIZE = 4

# A peer sends some messages byte for byte the same on every connection: its certificate chain,
# often its EncryptedExtensions and CertificateRequest. Message objects are immutable, so one
# decoded object can serve them all; the cache is keyed by the raw bytes (and the version rules)
# and bounded. Only what decoded cleanly is kept: a bad message is parsed, and refused, each time.
_REPEATING_TYPES = frozenset({HandshakeType.CERTIFICATE, HandshakeType.ENCRYPTED_EXTENSIONS,
                              HandshakeType.CERTIFICATE_REQUEST})
_DECODED: dict[tuple[bytes, bool], "HandshakeMessage"] = {}
_DECODED_LIMIT = 64
_DECODED_MAX_SIZE = 1 << 14
_HEADER = struct.Struct(">I")         # msg_type (1 byte) and length (uint24)

# Codec objects are made for every message sent or received (see frozen.py).
for _cls in (ClientHello, ServerHello, EncryptedExtensions, CertificateRequest, CertificateEntry, Certificate,
             CertificateVerify, Finished, NewSessionTicket, EndOfEarlyData, KeyUpdate, MessageHash, HelloRequest,
             Certificate12, ServerKeyExchangeECDHE, CertificateRequest12, ServerHelloDone, ClientKeyExchangeECDHE,
             NewSessionTicket12, UnknownHandshake):
    fast_frozen_init(_cls)
del _cls


def handshake_type(msg: HandshakeMessage) -> int:
    """The wire type of a message object."""
    return msg.type if msg.TYPE is None else msg.TYPE


def encode_handshake(msg: HandshakeMessage) -> bytes:
    """The message with its 4-byte header (type, uint24 length)."""
    msg_type = msg.type if msg.TYPE is None else msg.TYPE
    buf = Buffer()
    msg.push_body(buf)
    length = buf.pushed
    if length > 0xFFFFFF or not 0 <= msg_type <= 0xFF:
        raise UsageError(f"handshake message of type {msg_type!r} and {length} bytes does not fit its header")
    return buf.prefixed_data(_HEADER.pack(msg_type << 24 | length))     # the header in one call, one copy


def decode_handshake(raw: bytes, *, tls13: bool = True) -> HandshakeMessage:
    """Parse one whole handshake message (header included); every byte of `raw` must belong to it."""
    size = len(raw)
    if size < HANDSHAKE_HEADER_SIZE:
        raise DecodeError(f"handshake message of {size} bytes is shorter than its 4-byte header")
    msg_type = raw[0]
    length = raw[1] << 16 | raw[2] << 8 | raw[3]
    if length != size - HANDSHAKE_HEADER_SIZE:
        raise DecodeError(f"handshake header announces {length} bytes, {size - HANDSHAKE_HEADER_SIZE} present")
    cls = (_TLS13_CLASSES if tls13 else _TLS12_CLASSES).get(msg_type)
    if cls is None:
        return UnknownHandshake(msg_type, bytes(raw[HANDSHAKE_HEADER_SIZE:]))
    repeating = msg_type in _REPEATING_TYPES and size <= _DECODED_MAX_SIZE and type(raw) is bytes
    if repeating:
        msg = _DECODED.get((raw, tls13))
        if msg is not None:
            return msg
    buf = Buffer(raw, HANDSHAKE_HEADER_SIZE)
    try:
        msg = cls.pull_body(buf)
        if not buf.eof():
            raise DecodeError(f"{buf.remaining} bytes after the end of the message at offset {buf.tell()}")
    except DecodeError as exc:
        raise DecodeError(f"{cls.__name__}: {exc.description}") from None
    if repeating:
        if len(_DECODED) >= _DECODED_LIMIT:
            try:
                del _DECODED[next(iter(_DECODED))]          # the oldest entry
            except (StopIteration, KeyError, RuntimeError):
                pass                                        # another thread changed the cache meanwhile
        _DECODED[(raw, tls13)] = msg
    return msg


class HandshakeReassembler:
    """Handshake messages out of handshake record fragments (RFC 8446 5.1: a message may span
    records, and a record may hold several messages).

    A header announcing more than `max_message_size` bytes (header included) raises DecodeError
    as soon as its 4 bytes have arrived, so a peer cannot make us buffer without limit.
    """

    # Drop consumed bytes from the front once this many have piled up.
    _COMPACT_AT = 1 << 16

    def __init__(self, max_message_size: int = 65536 + 4):
        self.max_message_size = max_message_size
        # While nothing is left over, `_buf` is the fed fragment itself and messages are sliced
        # straight out of it (one copy, not two); once a message straddles two fragments it
        # becomes a bytearray that accumulates.
        self._buf: bytes | bytearray = b""
        self._read = 0    # start of the next message pop() returns
        self._scan = 0    # start of the first message whose header feed() has not checked yet

    def feed(self, fragment: bytes) -> None:
        buf = self._buf
        if self._read >= len(buf):
            buf = self._buf = fragment if type(fragment) is bytes else bytes(fragment)
            self._scan -= self._read
            self._read = 0
        else:
            if type(buf) is bytes:
                buf = self._buf = bytearray(buf)
            buf += fragment
        # Walk the headers that became readable: a header at a time, never a byte at a time.
        pos = self._scan
        available = len(buf)
        limit = self.max_message_size
        while pos + HANDSHAKE_HEADER_SIZE <= available:
            size = HANDSHAKE_HEADER_SIZE + (buf[pos + 1] << 16 | buf[pos + 2] << 8 | buf[pos + 3])
            if size > limit:
                raise DecodeError(f"handshake message of type {buf[pos]} announces {size} bytes, "
                                  f"more than the limit of {limit}")
            pos += size
        self._scan = pos

    def pop(self) -> Optional[bytes]:
        """The next complete message (header + body), or None until more fragments arrive."""
        buf = self._buf
        start = self._read
        if len(buf) - start < HANDSHAKE_HEADER_SIZE:
            return None
        end = start + HANDSHAKE_HEADER_SIZE + (buf[start + 1] << 16 | buf[start + 2] << 8 | buf[start + 3])
        if end > len(buf):
            return None
        if type(buf) is bytes:
            message = buf if start == 0 and end == len(buf) else buf[start:end]
            self._read = end
            return message
        message = bytes(buf[start:end])
        if end == len(buf):
            self._buf = b""
            self._scan -= end
            self._read = 0
        elif end >= self._COMPACT_AT:
            del buf[:end]
            self._scan -= end
            self._read = 0
        else:
            self._read = end
        return message

    @property
    def has_partial(self) -> bool:
        """True while part of a message is buffered (it straddles a record boundary)."""
        return self._scan != len(self._buf)

    @property
    def pending_bytes(self) -> int:
        """Bytes fed and not yet returned by pop()."""
        return len(self._buf) - self._read
