"""What a ticket or session ID stands for on the server, and its byte form (sealed in a stateless ticket).

    uint8   format (1)        uint16 tls_version     uint16 cipher_suite
    opaque  secret<1..255>    (1.3: the ticket's PSK; 1.2: the master secret)
    uint64  issued_at_ms      uint32 lifetime        uint32 age_add     uint32 max_early_data
    uint8   flags             (bit 0: extended master secret)
    opaque  server_name<0..2^16-1>   uint8 has_alpn + opaque alpn<0..255>
    opaque  peer_certificates<0..2^24-1>  (each: opaque cert<1..2^24-1>)
"""
from __future__ import annotations

from dataclasses import dataclass

from .buffer import Buffer
from .errors import DecodeError

_FORMAT = 1
_EMS = 0x01


@dataclass(frozen=True, slots=True)
class ServerSession:
    tls_version: int
    cipher_suite: int
    secret: bytes
    issued_at: float                 # server clock, seconds
    lifetime: int                    # seconds
    age_add: int = 0
    max_early_data: int = 0
    server_name: str | None = None
    alpn: bytes | None = None
    extended_master_secret: bool = False
    peer_certificates: tuple[bytes, ...] = ()

    def expires_at(self) -> float:
        return self.issued_at + self.lifetime

    def expired(self, now: float) -> bool:
        return now >= self.expires_at()

    def age_ms(self, now: float) -> int:
        """The ticket's age as this server sees it."""
        return int(round((now - self.issued_at) * 1000))

    def encode(self) -> bytes:
        buf = Buffer()
        buf.push_uint8(_FORMAT)
        buf.push_uint16(self.tls_version)
        buf.push_uint16(self.cipher_suite)
        buf.push_opaque(1, self.secret)
        buf.push_bytes(int(round(self.issued_at * 1000)).to_bytes(8, "big"))
        buf.push_uint32(self.lifetime)
        buf.push_uint32(self.age_add)
        buf.push_uint32(self.max_early_data)
        buf.push_uint8(_EMS if self.extended_master_secret else 0)
        buf.push_opaque(2, (self.server_name or "").encode("ascii"))
        buf.push_uint8(self.alpn is not None)
        buf.push_opaque(1, self.alpn or b"")
        with buf.push_block(3):
            for cert in self.peer_certificates:
                buf.push_opaque(3, cert)
        return buf.data

    @classmethod
    def decode(cls, data: bytes) -> "ServerSession":
        buf = Buffer(data)
        if buf.pull_uint8() != _FORMAT:
            raise DecodeError("unknown server session format")
        tls_version = buf.pull_uint16()
        suite = buf.pull_uint16()
        secret = buf.pull_opaque(1)
        issued_at = int.from_bytes(buf.pull_bytes(8), "big") / 1000
        lifetime = buf.pull_uint32()
        age_add = buf.pull_uint32()
        max_early_data = buf.pull_uint32()
        flags = buf.pull_uint8()
        try:
            server_name = buf.pull_opaque(2).decode("ascii") or None
        except UnicodeDecodeError:
            raise DecodeError("server session name is not ASCII") from None
        has_alpn = buf.pull_uint8()
        alpn = buf.pull_opaque(1)
        certificates = tuple(buf.pull_list(3, lambda b: b.pull_opaque(3)))
        if not buf.eof():
            raise DecodeError("trailing bytes after the server session")
        return cls(tls_version, suite, secret, issued_at, lifetime, age_add, max_early_data, server_name,
                   alpn if has_alpn else None, bool(flags & _EMS), certificates)
