"""The TLS engine: sans-IO TLS 1.3 and 1.2 client and server on the `cryptography` package.

    from workbench.tls import ClientConfig, Connection, events

    conn = Connection(ClientConfig(server_name="localhost", trust_anchors=(ca_cert,)))
    conn.start_handshake()
    ...  # move conn.data_to_send() to the peer, feed its bytes to conn.receive_data()
    for event in conn.events():
        if isinstance(event, events.ApplicationData): ...
"""
from . import enums, errors, events
from .config import ClientConfig, ServerConfig
from .connection import Connection, Negotiated
from .enums import (AlertDescription, AlertLevel, CipherSuite, ContentType, ExtensionType, HandshakeType,
                    KeyUpdateType, NamedGroup, ProtocolVersion, SignatureScheme)
from .errors import AlertReceived, ProtocolError, TLSError, UsageError
from .keylog import KeyLogWriter, events_to_keylog, key_log_line
from .early_data import ReplayRegister
from .enums import PskKeyExchangeMode, SessionFlag
from .session_data import NoSessionData, SessionData, SessionDataError
from .tickets import SessionTickets, TicketKeyRing
from .wallet import TicketWallet

__all__ = [
    "AlertDescription", "AlertLevel", "AlertReceived", "CipherSuite", "ClientConfig", "Connection", "ContentType",
    "ExtensionType", "HandshakeType", "KeyLogWriter", "KeyUpdateType", "NamedGroup", "Negotiated", "ProtocolError", "ProtocolVersion",
    "ServerConfig", "SignatureScheme", "TLSError", "UsageError", "enums", "errors", "events", "events_to_keylog",
    "key_log_line",
    # sessions: resumption, tickets, 0-RTT (docs/resumption.md)
    "NoSessionData", "PskKeyExchangeMode", "ReplayRegister", "SessionData", "SessionDataError", "SessionFlag",
    "SessionTickets", "TicketKeyRing", "TicketWallet",
]
