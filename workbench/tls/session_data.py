"""The client's session data: what `conn.session_data()` returns and `set_session_data()` takes.

An opaque byte string to its users, but versioned and self-describing (docs/resumption.md):

    "TWSD"              magic: TLS Workbench session data
    uint8               format version (1)
    uint16              length of the fields
    fields              uint8 tag, uint16 length, value; in any order, each at most once
    32 bytes            SHA-256 of everything before: a damaged copy is refused, never half used

Tags are listed in FIELDS. A reader skips tags it does not know (a later format may add
some), and refuses a blob missing a field it needs. The checksum is no MAC: it catches
corruption and truncation, not forgery; the blob holds a secret and must be kept like one.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

from .cipher_suites import CIPHER_SUITES
from .enums import CipherSuite, ProtocolVersion, name_of
from .errors import UsageError

MAGIC = b"TWSD"
FORMAT_VERSION = 1
_CHECKSUM_SIZE = 32
_HEADER_SIZE = len(MAGIC) + 1 + 2
TLS12 = int(ProtocolVersion.TLS12)
TLS13 = int(ProtocolVersion.TLS13)


class SessionDataError(UsageError):
    """Session data that cannot be used: not ours, damaged, expired, or for another server.

    `reason` is the short cause ("truncated", "checksum", "expired", ...) for programs;
    the message says it in words."""

    def __init__(self, message: str, reason: str):
        self.reason = reason
        super().__init__(message)


class NoSessionData(UsageError):
    """session_data() has nothing to return yet (handshake not complete, or no ticket yet)."""


@dataclass(frozen=True)
class SessionData:
    """One resumable session as the client keeps it.

    TLS 1.3: `secret` is the ticket's PSK (RFC 8446 4.6.1: the resumption master secret
    expanded with the ticket nonce), `ticket` the server's opaque ticket.
    TLS 1.2: `secret` is the master secret; `ticket` an RFC 5077 ticket or empty, and
    `session_id` the session ID to offer.
    """
    tls_version: int
    cipher_suite: int
    secret: bytes
    ticket: bytes
    lifetime: int                         # seconds the server allows (ticket_lifetime / lifetime hint)
    received_at: float                    # client clock, seconds since the epoch
    age_add: int = 0
    nonce: bytes = b""
    server_name: str | None = None
    alpn: bytes | None = None
    max_early_data: int = 0
    session_id: bytes = b""
    extended_master_secret: bool = False

    def expires_at(self) -> float:
        return self.received_at + self.lifetime

    def expired(self, now: float) -> bool:
        return now >= self.expires_at()

    def age_ms(self, now: float) -> int:
        # Rounded down: the ticket reached us after the server made it, so our age must never come
        # out above the server's measure of it (GnuTLS refuses 0-RTT when it does, by even 1 ms).
        # The inner round only absorbs float noise (5 ms must not come out as 4.999999).
        return max(0, int(round((now - self.received_at) * 1000, 3)))

    @property
    def allows_early_data(self) -> bool:
        return self.tls_version == TLS13 and self.max_early_data > 0

    @cached_property
    def ticket_fingerprint(self) -> bytes:
        """What identifies the ticket (or TLS 1.2 session ID) without revealing it: 8 bytes of SHA-256."""
        return hashlib.sha256(self.ticket or self.session_id).digest()[:8]

    def encode(self) -> bytes:
        return encode(self)

    def describe(self) -> dict[str, Any]:
        """The fields in readable form (no secret: its length only)."""
        return {
            "format_version": FORMAT_VERSION,
            "tls_version": name_of(ProtocolVersion, self.tls_version),
            "cipher_suite": name_of(CipherSuite, self.cipher_suite),
            "secret": f"{len(self.secret)} bytes",
            "ticket": self.ticket.hex(),
            "ticket_fingerprint": self.ticket_fingerprint.hex(),
            "lifetime": self.lifetime,
            "age_add": self.age_add,
            "nonce": self.nonce.hex(),
            "received_at": self.received_at,
            "server_name": self.server_name,
            "alpn": None if self.alpn is None else self.alpn.decode("latin-1"),
            "max_early_data": self.max_early_data,
            "session_id": self.session_id.hex(),
            "extended_master_secret": self.extended_master_secret,
        }


# tag -> (field name, kind); "u16"/"u32"/"u64ms" fixed sizes, "bytes", "text", "bool".
FIELDS: dict[int, tuple[str, str]] = {
    1: ("tls_version", "u16"),
    2: ("cipher_suite", "u16"),
    3: ("secret", "bytes"),
    4: ("ticket", "bytes"),
    5: ("lifetime", "u32"),
    6: ("age_add", "u32"),
    7: ("nonce", "bytes"),
    8: ("received_at", "u64ms"),
    9: ("server_name", "text"),
    10: ("alpn", "bytes"),
    11: ("max_early_data", "u32"),
    12: ("session_id", "bytes"),
    13: ("extended_master_secret", "bool"),
}
_TAG_OF = {name: tag for tag, (name, _) in FIELDS.items()}
_SIZES = {"u16": 2, "u32": 4, "u64ms": 8, "bool": 1}
_REQUIRED = ("tls_version", "cipher_suite", "secret", "lifetime", "received_at")
_REQUIRED_13 = ("ticket", "age_add", "nonce")
_OPTIONAL_NONE = ("server_name", "alpn")


def _encode_value(kind: str, value: Any) -> bytes:
    if kind == "u64ms":
        return int(round(value * 1000)).to_bytes(8, "big")
    if kind in ("u16", "u32"):
        return int(value).to_bytes(_SIZES[kind], "big")
    if kind == "bool":
        return b"\x01" if value else b"\x00"
    if kind == "text":
        return value.encode("utf-8")
    return bytes(value)


def encode(session: SessionData) -> bytes:
    body = bytearray()
    for f in fields(session):
        value = getattr(session, f.name)
        if value is None:
            continue          # absent server_name / ALPN: the field is left out
        kind = FIELDS[_TAG_OF[f.name]][1]
        data = _encode_value(kind, value)
        if len(data) > 0xFFFF:
            raise UsageError(f"session data field {f.name} is too long ({len(data)} bytes)")
        body += bytes((_TAG_OF[f.name],)) + len(data).to_bytes(2, "big") + data
    if len(body) > 0xFFFF:
        raise UsageError("session data is too long")
    head = MAGIC + bytes((FORMAT_VERSION,)) + len(body).to_bytes(2, "big") + bytes(body)
    return head + hashlib.sha256(head).digest()


def _refuse(message: str, reason: str) -> SessionDataError:
    return SessionDataError(f"session data refused: {message}", reason)


def decode(blob: Any) -> SessionData:
    """Parse and check a blob; SessionDataError says what is wrong with it."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise _refuse(f"expected bytes, got {type(blob).__name__}", "type")
    blob = bytes(blob)
    if len(blob) < len(MAGIC) or blob[:len(MAGIC)] != MAGIC:
        if blob.lstrip().startswith(b"-----BEGIN SSL SESSION"):
            raise _refuse("this is an OpenSSL session (PEM), not TLS Workbench session data", "foreign")
        raise _refuse("not TLS Workbench session data (no TWSD header)", "foreign")
    if len(blob) < _HEADER_SIZE:
        raise _refuse(f"truncated: {len(blob)} bytes, the header alone takes {_HEADER_SIZE}", "truncated")
    version = blob[4]
    if version != FORMAT_VERSION:
        raise _refuse(f"format version {version}; this engine reads version {FORMAT_VERSION}", "version")
    body_length = int.from_bytes(blob[5:7], "big")
    expected_size = _HEADER_SIZE + body_length + _CHECKSUM_SIZE
    if len(blob) < expected_size:
        raise _refuse(f"truncated: {len(blob)} bytes of {expected_size}", "truncated")
    if len(blob) > expected_size:
        raise _refuse(f"{len(blob) - expected_size} unexpected bytes after the end", "corrupt")
    head, checksum = blob[:-_CHECKSUM_SIZE], blob[-_CHECKSUM_SIZE:]
    if hashlib.sha256(head).digest() != checksum:
        raise _refuse("the checksum does not match: the data was damaged", "checksum")
    values = _parse_fields(head[_HEADER_SIZE:])
    missing = [name for name in _REQUIRED if name not in values]
    if missing:
        raise _refuse(f"missing field(s) {', '.join(missing)}", "corrupt")
    tls_version = values["tls_version"]
    if tls_version == TLS13:
        missing = [name for name in _REQUIRED_13 if name not in values]
        if missing:
            raise _refuse(f"TLS 1.3 session without {', '.join(missing)}", "corrupt")
    elif tls_version != TLS12:
        raise _refuse(f"unknown TLS version 0x{tls_version:04x}", "corrupt")
    suite = CIPHER_SUITES.get(values["cipher_suite"])
    if suite is None:
        raise _refuse(f"cipher suite 0x{values['cipher_suite']:04x} is not one this engine implements", "suite")
    if suite.version != tls_version:
        raise _refuse(f"{suite.name} does not belong to {name_of(ProtocolVersion, tls_version)}", "corrupt")
    expected_secret = suite.hash_length if tls_version == TLS13 else 48
    if len(values["secret"]) != expected_secret:
        raise _refuse(f"secret of {len(values['secret'])} bytes, {suite.name} needs {expected_secret}", "corrupt")
    if tls_version == TLS13 and not values["ticket"]:
        raise _refuse("TLS 1.3 session without a ticket", "corrupt")
    if tls_version == TLS12 and not values.get("ticket") and not values.get("session_id"):
        raise _refuse("TLS 1.2 session with neither a ticket nor a session ID", "corrupt")
    return SessionData(**values)


def _parse_fields(body: bytes) -> dict[str, Any]:
    values: dict[str, Any] = {}
    pos = 0
    while pos < len(body):
        if pos + 3 > len(body):
            raise _refuse(f"field header cut at offset {pos}", "corrupt")
        tag = body[pos]
        length = int.from_bytes(body[pos + 1:pos + 3], "big")
        value = body[pos + 3:pos + 3 + length]
        if len(value) != length:
            raise _refuse(f"field {tag} announces {length} bytes, {len(value)} present", "corrupt")
        pos += 3 + length
        known = FIELDS.get(tag)
        if known is None:
            continue          # a field of a later format: skipped
        name, kind = known
        if name in values:
            raise _refuse(f"field {name} appears twice", "corrupt")
        size = _SIZES.get(kind)
        if size is not None and length != size:
            raise _refuse(f"field {name} has {length} bytes, expected {size}", "corrupt")
        if kind == "u64ms":
            values[name] = int.from_bytes(value, "big") / 1000
        elif kind in ("u16", "u32"):
            values[name] = int.from_bytes(value, "big")
        elif kind == "bool":
            if value not in (b"\x00", b"\x01"):
                raise _refuse(f"field {name} is not a boolean", "corrupt")
            values[name] = value == b"\x01"
        elif kind == "text":
            try:
                values[name] = value.decode("utf-8")
            except UnicodeDecodeError:
                raise _refuse(f"field {name} is not UTF-8", "corrupt") from None
        else:
            values[name] = value
    return values


def check_usable(session: SessionData, *, now: float, server_name: str | None, cipher_suites: tuple[int, ...],
                 versions: tuple[int, ...] = (TLS13,)) -> None:
    """Refuse a session this client cannot offer now: expired, for another server, or for a
    version or cipher suite it does not offer (RFC 8446 4.6.1: the SNI must match)."""
    if session.tls_version not in versions:
        raise _refuse(f"it is a {name_of(ProtocolVersion, session.tls_version)} session and this client "
                      f"offers {', '.join(name_of(ProtocolVersion, v) for v in versions)}", "version")
    if session.expired(now):
        raise _refuse(f"it expired {now - session.expires_at():.0f} s ago (lifetime {session.lifetime} s)",
                      "expired")
    if session.received_at > now + 60:
        raise _refuse("it was received in the future (clock moved back?)", "clock")
    if session.server_name != server_name:
        raise _refuse(f"it was issued by server {session.server_name!r}, this connection is for {server_name!r}",
                      "server_name")
    suite = CIPHER_SUITES[session.cipher_suite]
    if session.tls_version == TLS13:
        if not any(code in CIPHER_SUITES and CIPHER_SUITES[code].hash is suite.hash for code in cipher_suites):
            raise _refuse(f"no offered cipher suite uses its hash ({suite.hash.name.upper()})", "suite")
    elif session.cipher_suite not in cipher_suites:
        raise _refuse(f"its cipher suite {suite.name} is not offered", "suite")
