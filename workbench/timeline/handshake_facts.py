"""What the timeline needs to know from a handshake message, whoever delivered it.

Engine events carry parsed messages, a decoded capture carries raw bytes; both go through these functions so a
live session and a replayed capture tell the same story (tickets, PSK offers, resumption, early data, key
updates). A message that does not decode gives None: the timeline keeps the record and says less about it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from workbench.tls import messages as m
from workbench.tls.errors import ProtocolError
from workbench.tls.extensions import (ALPN, EarlyData, PreSharedKeyClientHello, PreSharedKeyServerHello,
                                      ServerName, SessionTicket, SupportedVersionsClientHello,
                                      SupportedVersionsServerHello)

TLS13 = 0x0304
TLS12 = 0x0303

# Handshake types the timeline reads (RFC 8446 / RFC 5246 numbering)
HELLO_REQUEST = 0
CLIENT_HELLO = 1
SERVER_HELLO = 2
NEW_SESSION_TICKET = 4
END_OF_EARLY_DATA = 5
ENCRYPTED_EXTENSIONS = 8
FINISHED = 20
KEY_UPDATE = 24


def is_hello_retry(raw: bytes) -> bool:
    """A ServerHello whose random is the HelloRetryRequest constant (bytes 6..38 of the message)."""
    return len(raw) >= 38 and raw[0] == SERVER_HELLO and raw[6:38] == m.HELLO_RETRY_REQUEST_RANDOM


def decode(raw: bytes, parsed: Any = None, *, tls13: bool | None = True) -> Any:
    """The parsed message: `parsed` when the source gave one of the right kind, else decoded from raw
    (tls13=None: the version is not known yet, TLS 1.3 is tried first, then TLS 1.2). None if it does not
    decode."""
    if parsed is not None and not isinstance(parsed, m.UnknownHandshake):
        return parsed
    for version13 in ((True, False) if tls13 is None else (tls13,)):
        try:
            return m.decode_handshake(raw, tls13=version13)
        except ProtocolError:
            continue
    return None


def fingerprint(ticket: bytes) -> str:
    return hashlib.sha256(ticket).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class ClientHelloFacts:
    random: bytes
    session_id: bytes
    versions: tuple[int, ...]
    server_name: str | None
    psk_identities: tuple[bytes, ...]    # TLS 1.3 pre_shared_key identities, in offer order
    session_ticket: bytes                 # TLS 1.2 SessionTicket extension body (empty: none offered)
    early_data: bool


def client_hello_facts(msg: Any) -> ClientHelloFacts | None:
    if not isinstance(msg, m.ClientHello):
        return None
    versions = msg.get_extension(SupportedVersionsClientHello)
    sni = msg.get_extension(ServerName)
    psk = msg.get_extension(PreSharedKeyClientHello)
    ticket = msg.get_extension(SessionTicket)
    return ClientHelloFacts(
        random=msg.random,
        session_id=msg.legacy_session_id,
        versions=tuple(versions.versions) if versions is not None else (msg.legacy_version,),
        server_name=sni.host_name if sni is not None else None,
        psk_identities=tuple(i.identity for i in psk.identities) if psk is not None else (),
        session_ticket=ticket.ticket if ticket is not None else b"",
        early_data=msg.get_extension(EarlyData) is not None)


@dataclass(frozen=True, slots=True)
class ServerHelloFacts:
    random: bytes
    hello_retry: bool
    version: int
    cipher_suite: int
    session_id_echo: bytes
    selected_identity: int | None


def server_hello_facts(msg: Any) -> ServerHelloFacts | None:
    if not isinstance(msg, m.ServerHello):
        return None
    sv = msg.get_extension(SupportedVersionsServerHello)
    psk = msg.get_extension(PreSharedKeyServerHello)
    return ServerHelloFacts(
        random=msg.random,
        hello_retry=msg.is_hello_retry_request,
        version=sv.version if sv is not None else msg.legacy_version,
        cipher_suite=msg.cipher_suite,
        session_id_echo=msg.legacy_session_id_echo,
        selected_identity=psk.selected_identity if psk is not None else None)


@dataclass(frozen=True, slots=True)
class TicketFacts:
    version: int
    lifetime: int
    ticket: bytes
    age_add: int | None
    nonce: bytes | None
    max_early_data: int | None


def ticket_facts(msg: Any) -> TicketFacts | None:
    if isinstance(msg, m.NewSessionTicket):
        early = msg.get_extension(EarlyData)
        return TicketFacts(TLS13, msg.ticket_lifetime, msg.ticket, msg.ticket_age_add, msg.ticket_nonce,
                           early.max_early_data_size if early is not None else None)
    if isinstance(msg, m.NewSessionTicket12):
        return TicketFacts(TLS12, msg.ticket_lifetime_hint, msg.ticket, None, None, None)
    return None


def early_data_accepted(msg: Any) -> bool | None:
    """EncryptedExtensions: True when it carries early_data (the server takes the 0-RTT data)."""
    if not isinstance(msg, m.EncryptedExtensions):
        return None
    return msg.get_extension(EarlyData) is not None


def alpn_selected(msg: Any) -> bytes | None:
    if not isinstance(msg, m.EncryptedExtensions):
        return None
    ext = msg.get_extension(ALPN)
    if ext is None or not ext.protocols:
        return None
    protocol = ext.protocols[0]
    return protocol.encode() if isinstance(protocol, str) else bytes(protocol)


def key_update_requested(raw: bytes) -> bool:
    """KeyUpdate.request_update == update_requested (1)."""
    return len(raw) > 4 and raw[4] == 1
