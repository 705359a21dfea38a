"""What a replayed capture is made of: one DecodedRecord per TLS record, one ConnectionSummary per connection."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True, eq=False)
class DecodedRecord:
    """One TLS record as it crossed the wire, decrypted when the keys allow.

    frame: the 1-based number of the frame that completed the record (tshark's numbering).
    epoch: "plaintext", "early" (0-RTT), "handshake", "application-N" (TLS 1.3: N = KeyUpdates so far in this
        direction; TLS 1.2: N = renegotiations so far, 0 for the keys of the first handshake).
    inner_type: the content type under protection (TLS 1.3 inner type; TLS 1.2: the record's own type), None
        when the record was protected and could not be decrypted, or was never protected.
    handshake: types of the handshake messages that this record completed.
    note: why a protected record was not decrypted (e.g. which key log line is missing), or a decode problem.
    """

    connection: int
    src: str
    dst: str
    direction: str                  # "client" (towards the server) or "server"
    frame: int
    time: float
    outer_type: int
    version: int                    # record-layer version field
    length: int                     # fragment length on the wire
    offset: int                     # stream offset of the record's first byte, in its direction
    epoch: str = "plaintext"
    protected: bool = False         # the record was encrypted on the wire
    tls13: bool = False             # protected under TLS 1.3 (outer type is the opaque 23)
    decrypted: bool = False
    inner_type: int | None = None
    plaintext_length: int | None = None
    sequence: int | None = None     # record sequence number in its epoch
    handshake: list[int] = field(default_factory=list)
    messages: list[bytes] = field(default_factory=list)   # raw handshake messages completed here
    plaintext: bytes | None = None  # content after decryption (or the fragment of a plaintext record)
    note: str | None = None
    raw: bytes = b""                # the record as framed: header + fragment

    @property
    def content_type(self) -> int | None:
        """The content type a reader sees: inner when decrypted, outer when not protected, None otherwise."""
        if not self.protected or not self.tls13:
            return self.outer_type
        return self.inner_type


@dataclass(slots=True)
class TicketInfo:
    frame: int
    version: int                    # 0x0304 NewSessionTicket, 0x0303 RFC 5077 ticket
    lifetime: int                   # seconds (TLS 1.2: the lifetime hint)
    ticket: bytes
    age_add: int | None = None
    nonce: bytes | None = None
    max_early_data: int | None = None
    used_by: list[int] = field(default_factory=list)   # later connections that offered this ticket


@dataclass(slots=True)
class KeyUpdateInfo:
    frame: int
    direction: str
    request_update: bool
    generation: int                 # the application traffic secret generation in force after it


@dataclass(slots=True)
class RenegotiationInfo:
    frame: int
    initiator: str                  # "client" (ClientHello) or "server" (HelloRequest)
    outcome: str = "started"        # "started", "completed", "refused" (no_renegotiation alert), "not decrypted"
    client_random: bytes | None = None


@dataclass(slots=True)
class AlertInfo:
    frame: int
    direction: str
    level: int | None
    description: int | None         # None when the alert stayed encrypted


@dataclass(slots=True)
class ConnectionSummary:
    id: int
    client: str
    server: str
    first_frame: int
    last_frame: int = 0
    is_tls: bool = True
    client_random: bytes | None = None
    server_random: bytes | None = None
    server_name: str | None = None
    offered_versions: list[int] = field(default_factory=list)
    version: int | None = None
    cipher_suite: int | None = None
    cipher_suite_name: str | None = None
    hello_retry: bool = False
    resumed: bool = False
    psk_identities: list[bytes] = field(default_factory=list)
    psk_accepted: int | None = None         # index of the identity the server selected
    resumed_from: tuple[int, int] | None = None   # (connection id, ticket index) of the ticket accepted
    early_data_offered: bool = False
    early_data_accepted: bool | None = None
    tickets: list[TicketInfo] = field(default_factory=list)
    key_updates: list[KeyUpdateInfo] = field(default_factory=list)
    renegotiations: list[RenegotiationInfo] = field(default_factory=list)
    alerts: list[AlertInfo] = field(default_factory=list)
    records: int = 0
    decrypted_records: int = 0
    missing_keys: list[tuple[str, str]] = field(default_factory=list)   # (label, client random hex)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        def enc(v):
            if isinstance(v, bytes):
                return v.hex()
            if isinstance(v, list):
                return [enc(x) for x in v]
            if isinstance(v, tuple):
                return [enc(x) for x in v]
            if hasattr(v, "__dataclass_fields__"):
                return {k: enc(getattr(v, k)) for k in v.__dataclass_fields__}
            return v
        return {k: enc(getattr(self, k)) for k in self.__dataclass_fields__}
