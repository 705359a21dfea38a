"""TLS extensions: one frozen dataclass per extension, decoded in the context of the message that carries it.

The same extension type has different bodies in different messages (key_share is a list
in ClientHello, one entry in ServerHello, a bare group in HelloRetryRequest), so
`decode_extensions` takes an `ExtensionContext`. A type we do not parse, or a known type
in a context where we do not parse it, is kept as `UnknownExtension(type, data)`, so a
decoded message always encodes back to the same bytes.

The codec accepts whatever it can parse (duplicates, empty lists, an extension in the
wrong message); deciding what is legal is the state machine's job.
"""
from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Callable, ClassVar, Iterable, Optional, TypeVar, Union

from .buffer import Buffer
from .enums import ExtensionType
from .errors import DecodeError, UsageError
from .frozen import fast_frozen_init


class ExtensionContext(enum.Enum):
    """The message an extension block belongs to (RFC 8446 section 4.2 table)."""
    CLIENT_HELLO = "client_hello"
    SERVER_HELLO = "server_hello"
    HELLO_RETRY_REQUEST = "hello_retry_request"
    ENCRYPTED_EXTENSIONS = "encrypted_extensions"
    CERTIFICATE = "certificate"
    CERTIFICATE_REQUEST = "certificate_request"
    NEW_SESSION_TICKET = "new_session_ticket"
    SERVER_HELLO_TLS12 = "server_hello_tls12"   # a ServerHello that does not select TLS 1.3


_HOST_NAME_LIST_HEAD = struct.Struct(">HBH")     # ServerName: list length, name type, name length


def _expect_empty(length: int, name: str) -> None:
    if length:
        raise DecodeError(f"{name} extension must have an empty body, got {length} bytes")


# ----- extensions with the same body everywhere ------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerName:
    """server_name (RFC 6066): a one-name list in ClientHello; None is the server's empty acknowledgement."""
    TYPE: ClassVar[int] = ExtensionType.SERVER_NAME
    HOST_NAME: ClassVar[int] = 0
    host_name: Optional[str] = None

    def push_body(self, buf: Buffer) -> None:
        if self.host_name is None:
            return
        try:
            name = self.host_name.encode("ascii")
        except UnicodeEncodeError:
            raise UsageError(f"host name {self.host_name!r} is not ASCII: give its IDNA A-label form") from None
        # The one-name list in one push (every ClientHello has it): its length, the type, the name's length, the name.
        size = len(name)
        if size > 0xFFFF - 3:
            raise UsageError(f"{size + 3!r} does not fit uint16")
        buf.push_bytes(_HOST_NAME_LIST_HEAD.pack(size + 3, self.HOST_NAME, size) + name)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "ServerName":
        if length == 0:
            return cls(None)
        body = buf.pull_bytes(length)
        # The usual body, one host_name filling the list, read straight from the bytes: the
        # list's length, the name type, the name's length, the name.
        if length >= 5 and body[2] == cls.HOST_NAME and (body[0] << 8 | body[1]) == length - 2 \
                and (body[3] << 8 | body[4]) == length - 5:
            name = body[5:]
        else:
            # Anything else (several names, other types, a malformed list) through the generic reader,
            # for its errors. Several names are forbidden (RFC 6066 section 3) but parseable: keep the
            # first host_name.
            buf.seek(buf.tell() - length)
            names = buf.pull_list(2, lambda b: (b.pull_uint8(), b.pull_opaque(2)))
            host_names = [name for name_type, name in names if name_type == cls.HOST_NAME]
            if not host_names:
                raise DecodeError("server_name list holds no host_name")
            name = host_names[0]
        try:
            return cls(name.decode("ascii"))
        except UnicodeDecodeError:
            raise DecodeError(f"server_name host_name is not ASCII: {name[:64]!r}") from None


@dataclass(frozen=True, slots=True)
class SupportedGroups:
    TYPE: ClassVar[int] = ExtensionType.SUPPORTED_GROUPS
    groups: tuple[int, ...]

    def push_body(self, buf: Buffer) -> None:
        buf.push_uint16_tuple(2, self.groups)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "SupportedGroups":
        return cls(buf.pull_uint16_tuple(2))


@dataclass(frozen=True, slots=True)
class ECPointFormats:
    """ec_point_formats (RFC 8422), TLS 1.2 only."""
    TYPE: ClassVar[int] = ExtensionType.EC_POINT_FORMATS
    formats: tuple[int, ...]

    def push_body(self, buf: Buffer) -> None:
        buf.push_uint8_tuple(1, self.formats)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "ECPointFormats":
        return cls(buf.pull_uint8_tuple(1))


@dataclass(frozen=True, slots=True)
class SignatureAlgorithms:
    TYPE: ClassVar[int] = ExtensionType.SIGNATURE_ALGORITHMS
    schemes: tuple[int, ...]

    def push_body(self, buf: Buffer) -> None:
        buf.push_uint16_tuple(2, self.schemes)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "SignatureAlgorithms":
        return cls(buf.pull_uint16_tuple(2))


@dataclass(frozen=True, slots=True)
class SignatureAlgorithmsCert:
    TYPE: ClassVar[int] = ExtensionType.SIGNATURE_ALGORITHMS_CERT
    schemes: tuple[int, ...]

    def push_body(self, buf: Buffer) -> None:
        buf.push_uint16_tuple(2, self.schemes)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "SignatureAlgorithmsCert":
        return cls(buf.pull_uint16_tuple(2))


@dataclass(frozen=True, slots=True)
class ALPN:
    """application_layer_protocol_negotiation (RFC 7301); the server's list has exactly one name."""
    TYPE: ClassVar[int] = ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION
    protocols: tuple[bytes, ...]

    def push_body(self, buf: Buffer) -> None:
        start = buf.reserve_length(2)            # push_block without a context manager, as everywhere in the codec
        for protocol in self.protocols:
            buf.push_opaque(1, protocol)
        buf.fill_length(start, 2)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "ALPN":
        return cls(tuple(buf.pull_list(2, lambda b: b.pull_opaque(1))))


@dataclass(frozen=True, slots=True)
class EncryptThenMac:
    """encrypt_then_mac (RFC 7366), TLS 1.2 only."""
    TYPE: ClassVar[int] = ExtensionType.ENCRYPT_THEN_MAC

    def push_body(self, buf: Buffer) -> None:
        pass

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "EncryptThenMac":
        _expect_empty(length, "encrypt_then_mac")
        return cls()


@dataclass(frozen=True, slots=True)
class ExtendedMasterSecret:
    """extended_master_secret (RFC 7627)."""
    TYPE: ClassVar[int] = ExtensionType.EXTENDED_MASTER_SECRET

    def push_body(self, buf: Buffer) -> None:
        pass

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "ExtendedMasterSecret":
        _expect_empty(length, "extended_master_secret")
        return cls()


@dataclass(frozen=True, slots=True)
class RecordSizeLimit:
    """record_size_limit (RFC 8449)."""
    TYPE: ClassVar[int] = ExtensionType.RECORD_SIZE_LIMIT
    limit: int

    def push_body(self, buf: Buffer) -> None:
        buf.push_uint16(self.limit)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "RecordSizeLimit":
        return cls(buf.pull_uint16())


@dataclass(frozen=True, slots=True)
class SessionTicket:
    """SessionTicket (RFC 5077): the whole body is the ticket; empty asks for / acknowledges a new one."""
    TYPE: ClassVar[int] = ExtensionType.SESSION_TICKET
    ticket: bytes = b""

    def push_body(self, buf: Buffer) -> None:
        buf.push_bytes(self.ticket)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "SessionTicket":
        return cls(buf.pull_bytes(length))


@dataclass(frozen=True, slots=True)
class Cookie:
    TYPE: ClassVar[int] = ExtensionType.COOKIE
    cookie: bytes

    def push_body(self, buf: Buffer) -> None:
        buf.push_opaque(2, self.cookie)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "Cookie":
        return cls(buf.pull_opaque(2))


@dataclass(frozen=True, slots=True)
class PskKeyExchangeModes:
    TYPE: ClassVar[int] = ExtensionType.PSK_KEY_EXCHANGE_MODES
    modes: tuple[int, ...]

    def push_body(self, buf: Buffer) -> None:
        buf.push_uint8_tuple(1, self.modes)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "PskKeyExchangeModes":
        return cls(buf.pull_uint8_tuple(1))


@dataclass(frozen=True, slots=True)
class PostHandshakeAuth:
    TYPE: ClassVar[int] = ExtensionType.POST_HANDSHAKE_AUTH

    def push_body(self, buf: Buffer) -> None:
        pass

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "PostHandshakeAuth":
        _expect_empty(length, "post_handshake_auth")
        return cls()


@dataclass(frozen=True, slots=True)
class CertificateAuthorities:
    """certificate_authorities: DER-encoded distinguished names."""
    TYPE: ClassVar[int] = ExtensionType.CERTIFICATE_AUTHORITIES
    authorities: tuple[bytes, ...]

    def push_body(self, buf: Buffer) -> None:
        start = buf.reserve_length(2)
        for name in self.authorities:
            buf.push_opaque(2, name)
        buf.fill_length(start, 2)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "CertificateAuthorities":
        return cls(tuple(buf.pull_list(2, lambda b: b.pull_opaque(2))))


@dataclass(frozen=True, slots=True)
class RenegotiationInfo:
    """renegotiation_info (RFC 5746): empty on a first handshake, the previous verify_data after."""
    TYPE: ClassVar[int] = ExtensionType.RENEGOTIATION_INFO
    renegotiated_connection: bytes = b""

    def push_body(self, buf: Buffer) -> None:
        buf.push_opaque(1, self.renegotiated_connection)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "RenegotiationInfo":
        return cls(buf.pull_opaque(1))


@dataclass(frozen=True, slots=True)
class Padding:
    """padding (RFC 7685): `length` zero bytes."""
    TYPE: ClassVar[int] = ExtensionType.PADDING
    length: int

    def push_body(self, buf: Buffer) -> None:
        buf.push_bytes(bytes(self.length))

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> Union["Padding", "UnknownExtension"]:
        data = buf.pull_bytes(length)
        if data.count(0) != length:
            # Not representable as Padding(length); keep the bytes so the message still round-trips.
            return UnknownExtension(cls.TYPE, data)
        return cls(length)


# ----- extensions whose body depends on the message ---------------------------------------


@dataclass(frozen=True, slots=True)
class KeyShareEntry:
    """One (group, key_exchange) pair; part of the key_share extension, not an extension itself."""
    group: int
    key_exchange: bytes

    def push(self, buf: Buffer) -> None:
        buf.push_uint16(self.group)
        buf.push_opaque(2, self.key_exchange)

    @classmethod
    def pull(cls, buf: Buffer) -> "KeyShareEntry":
        return cls(buf.pull_uint16(), buf.pull_opaque(2))


@dataclass(frozen=True, slots=True)
class KeyShareClientHello:
    TYPE: ClassVar[int] = ExtensionType.KEY_SHARE
    shares: tuple[KeyShareEntry, ...]

    def push_body(self, buf: Buffer) -> None:
        start = buf.reserve_length(2)            # push_block without a context manager: a hot path
        for share in self.shares:
            share.push(buf)
        buf.fill_length(start, 2)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "KeyShareClientHello":
        return cls(tuple(buf.pull_list(2, KeyShareEntry.pull)))


@dataclass(frozen=True, slots=True)
class KeyShareServerHello:
    TYPE: ClassVar[int] = ExtensionType.KEY_SHARE
    share: KeyShareEntry

    def push_body(self, buf: Buffer) -> None:
        self.share.push(buf)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "KeyShareServerHello":
        return cls(KeyShareEntry.pull(buf))


@dataclass(frozen=True, slots=True)
class KeyShareHelloRetryRequest:
    TYPE: ClassVar[int] = ExtensionType.KEY_SHARE
    selected_group: int

    def push_body(self, buf: Buffer) -> None:
        buf.push_uint16(self.selected_group)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "KeyShareHelloRetryRequest":
        return cls(buf.pull_uint16())


@dataclass(frozen=True, slots=True)
class SupportedVersionsClientHello:
    TYPE: ClassVar[int] = ExtensionType.SUPPORTED_VERSIONS
    versions: tuple[int, ...]

    def push_body(self, buf: Buffer) -> None:
        buf.push_uint16_tuple(1, self.versions)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "SupportedVersionsClientHello":
        return cls(buf.pull_uint16_tuple(1))


@dataclass(frozen=True, slots=True)
class SupportedVersionsServerHello:
    TYPE: ClassVar[int] = ExtensionType.SUPPORTED_VERSIONS
    version: int

    def push_body(self, buf: Buffer) -> None:
        buf.push_uint16(self.version)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "SupportedVersionsServerHello":
        return cls(buf.pull_uint16())


@dataclass(frozen=True, slots=True)
class PskIdentity:
    """One offered PSK; part of pre_shared_key, not an extension itself."""
    identity: bytes
    obfuscated_ticket_age: int

    def push(self, buf: Buffer) -> None:
        buf.push_opaque(2, self.identity)
        buf.push_uint32(self.obfuscated_ticket_age)

    @classmethod
    def pull(cls, buf: Buffer) -> "PskIdentity":
        return cls(buf.pull_opaque(2), buf.pull_uint32())


@dataclass(frozen=True, slots=True)
class PreSharedKeyClientHello:
    """pre_shared_key in ClientHello; it must be the last extension (RFC 8446 4.2.11), which the state machine checks."""
    TYPE: ClassVar[int] = ExtensionType.PRE_SHARED_KEY
    identities: tuple[PskIdentity, ...]
    binders: tuple[bytes, ...]

    def binders_length(self) -> int:
        """Bytes the binders list takes on the wire, its 2-byte length included: what the
        truncated ClientHello of the binder computation (RFC 8446 4.2.11.2) leaves out."""
        return 2 + sum(1 + len(binder) for binder in self.binders)

    def push_body(self, buf: Buffer) -> None:
        # push_block without a context manager: every resumption's ClientHello is encoded twice.
        start = buf.reserve_length(2)
        for identity in self.identities:
            identity.push(buf)
        buf.fill_length(start, 2)
        start = buf.reserve_length(2)
        for binder in self.binders:
            buf.push_opaque(1, binder)
        buf.fill_length(start, 2)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "PreSharedKeyClientHello":
        identities = tuple(buf.pull_list(2, PskIdentity.pull))
        binders = tuple(buf.pull_list(2, lambda b: b.pull_opaque(1)))
        return cls(identities, binders)


@dataclass(frozen=True, slots=True)
class PreSharedKeyServerHello:
    TYPE: ClassVar[int] = ExtensionType.PRE_SHARED_KEY
    selected_identity: int

    def push_body(self, buf: Buffer) -> None:
        buf.push_uint16(self.selected_identity)

    @classmethod
    def pull_body(cls, buf: Buffer, length: int) -> "PreSharedKeyServerHello":
        return cls(buf.pull_uint16())


@dataclass(frozen=True, slots=True)
class EarlyData:
    """early_data: empty in ClientHello / EncryptedExtensions, max_early_data_size in NewSessionTicket."""
    TYPE: ClassVar[int] = ExtensionType.EARLY_DATA
    max_early_data_size: Optional[int] = None

    def push_body(self, buf: Buffer) -> None:
        if self.max_early_data_size is not None:
            buf.push_uint32(self.max_early_data_size)

    @classmethod
    def pull_indication(cls, buf: Buffer, length: int) -> "EarlyData":
        _expect_empty(length, "early_data")
        return cls(None)

    @classmethod
    def pull_ticket_limit(cls, buf: Buffer, length: int) -> "EarlyData":
        return cls(buf.pull_uint32())


@dataclass(frozen=True, slots=True)
class UnknownExtension:
    """Any extension we do not parse here, kept byte for byte."""
    TYPE: ClassVar[None] = None
    type: int
    data: bytes

    def push_body(self, buf: Buffer) -> None:
        buf.push_bytes(self.data)


Extension = Union[
    ServerName, SupportedGroups, ECPointFormats, SignatureAlgorithms, SignatureAlgorithmsCert, ALPN,
    EncryptThenMac, ExtendedMasterSecret, RecordSizeLimit, SessionTicket, Cookie, PskKeyExchangeModes,
    PostHandshakeAuth, CertificateAuthorities, RenegotiationInfo, Padding, KeyShareClientHello,
    KeyShareServerHello, KeyShareHelloRetryRequest, SupportedVersionsClientHello, SupportedVersionsServerHello,
    PreSharedKeyClientHello, PreSharedKeyServerHello, EarlyData, UnknownExtension,
]

_Parser = Callable[[Buffer, int], Extension]

# Types whose body is the same in every message that may carry them.
_PARSERS: dict[int, _Parser] = {cls.TYPE: cls.pull_body for cls in (
    ServerName, SupportedGroups, ECPointFormats, SignatureAlgorithms, SignatureAlgorithmsCert, ALPN,
    EncryptThenMac, ExtendedMasterSecret, RecordSizeLimit, SessionTicket, Cookie, PskKeyExchangeModes,
    PostHandshakeAuth, CertificateAuthorities, RenegotiationInfo, Padding,
)}

_C = ExtensionContext
# Types whose body depends on the message; absent pairs decode as UnknownExtension.
_CONTEXT_PARSERS: dict[tuple[int, ExtensionContext], _Parser] = {
    (ExtensionType.KEY_SHARE, _C.CLIENT_HELLO): KeyShareClientHello.pull_body,
    (ExtensionType.KEY_SHARE, _C.SERVER_HELLO): KeyShareServerHello.pull_body,
    (ExtensionType.KEY_SHARE, _C.HELLO_RETRY_REQUEST): KeyShareHelloRetryRequest.pull_body,
    (ExtensionType.SUPPORTED_VERSIONS, _C.CLIENT_HELLO): SupportedVersionsClientHello.pull_body,
    (ExtensionType.SUPPORTED_VERSIONS, _C.SERVER_HELLO): SupportedVersionsServerHello.pull_body,
    (ExtensionType.SUPPORTED_VERSIONS, _C.HELLO_RETRY_REQUEST): SupportedVersionsServerHello.pull_body,
    (ExtensionType.SUPPORTED_VERSIONS, _C.SERVER_HELLO_TLS12): SupportedVersionsServerHello.pull_body,
    (ExtensionType.PRE_SHARED_KEY, _C.CLIENT_HELLO): PreSharedKeyClientHello.pull_body,
    (ExtensionType.PRE_SHARED_KEY, _C.SERVER_HELLO): PreSharedKeyServerHello.pull_body,
    (ExtensionType.EARLY_DATA, _C.CLIENT_HELLO): EarlyData.pull_indication,
    (ExtensionType.EARLY_DATA, _C.ENCRYPTED_EXTENSIONS): EarlyData.pull_indication,
    (ExtensionType.EARLY_DATA, _C.NEW_SESSION_TICKET): EarlyData.pull_ticket_limit,
}
del _C

# Per context, every parser in one dict: one lookup per extension on the decode path. Keyed by the
# member's value: hashing an Enum member runs Python code, hashing its string does not.
_PARSERS_IN: dict[str, dict[int, _Parser]] = {
    context._value_: {**_PARSERS, **{t: parser for (t, c), parser in _CONTEXT_PARSERS.items() if c is context}}
    for context in ExtensionContext
}

# Codec objects are made for every extension sent or received (see frozen.py).
for _cls in (ServerName, SupportedGroups, ECPointFormats, SignatureAlgorithms, SignatureAlgorithmsCert, ALPN,
             EncryptThenMac, ExtendedMasterSecret, RecordSizeLimit, SessionTicket, Cookie, PskKeyExchangeModes,
             PostHandshakeAuth, CertificateAuthorities, RenegotiationInfo, Padding, KeyShareEntry,
             KeyShareClientHello, KeyShareServerHello, KeyShareHelloRetryRequest, SupportedVersionsClientHello,
             SupportedVersionsServerHello, PskIdentity, PreSharedKeyClientHello, PreSharedKeyServerHello, EarlyData,
             UnknownExtension):
    fast_frozen_init(_cls)
del _cls


def extension_type(ext: Extension) -> int:
    """The wire type of an extension object."""
    wire_type = ext.TYPE
    return ext.type if wire_type is None else wire_type


def push_extension(buf: Buffer, ext: Extension) -> None:
    buf.push_typed_block(ext.type if ext.TYPE is None else ext.TYPE, ext.push_body)


def encode_extension(ext: Extension) -> bytes:
    """type + length + body."""
    buf = Buffer()
    push_extension(buf, ext)
    return buf.data


def push_extensions(buf: Buffer, extensions: Iterable[Extension]) -> None:
    """The 2-byte length-prefixed extension block."""
    buf.push_typed_blocks(extensions)


def encode_extensions(extensions: Iterable[Extension]) -> bytes:
    buf = Buffer()
    push_extensions(buf, extensions)
    return buf.data


def decode_extensions(buf: Buffer, context: ExtensionContext) -> tuple[Extension, ...]:
    """Read the 2-byte length-prefixed extension block, in wire order."""
    return buf.pull_typed_blocks(_PARSERS_IN.get(getattr(context, "_value_", None), _PARSERS), UnknownExtension)


def peek_extension_body(buf: Buffer, ext_type: int) -> Optional[bytes]:
    """The body of the first `ext_type` in the extension block at the read position, without consuming it.

    None when absent or when the block is malformed (decoding it for real reports that)."""
    return buf.peek_typed_block(ext_type)


E = TypeVar("E")


def find_extension(extensions: Iterable[Extension], cls: type[E]) -> Optional[E]:
    """The first extension of class `cls`, or None."""
    for ext in extensions:
        if isinstance(ext, cls):
            return ext
    return None
