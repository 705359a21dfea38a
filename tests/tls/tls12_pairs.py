"""Helpers for the TLS 1.2, renegotiation and KeyUpdate tests: configs that enable TLS 1.2, pairs
stepped in memory, and readers for the event stream."""
from __future__ import annotations

from workbench.tls import Connection, events
from workbench.tls.enums import ContentType

from .pair import connected_pair, drain, make_client_config, make_server_config

TLS12 = 0x0303
TLS13 = 0x0304
BOTH = (TLS13, TLS12)
# Every TLS 1.2 suite of the engine, with a certificate key type that can serve it.
SUITES = [(0xC02B, "ecdsa-p256"), (0xC02C, "ecdsa-p384"), (0xCCA9, "ecdsa-p256"),
          (0xC02F, "rsa-2048"), (0xC030, "rsa-2048"), (0xCCA8, "rsa-2048")]


def client12(**overrides):
    """A client offering TLS 1.2 only."""
    overrides.setdefault("versions", (TLS12,))
    return make_client_config(**overrides)


def server12(key_type: str = "ecdsa-p256", **overrides):
    """A server speaking TLS 1.2 only."""
    overrides.setdefault("versions", (TLS12,))
    return make_server_config(key_type, **overrides)


def pair12(client_overrides: dict | None = None, server_overrides: dict | None = None,
           key_type: str = "ecdsa-p256") -> tuple[Connection, Connection]:
    """A TLS 1.2 client and server after their handshake, events drained."""
    client, server = connected_pair(client12(**(client_overrides or {})),
                                    server12(key_type, **(server_overrides or {})))
    drain(client), drain(server)
    return client, server


def of_type(evs, cls) -> list:
    return [e for e in evs if isinstance(e, cls)]


def app_data(evs) -> bytes:
    return b"".join(e.data for e in evs if isinstance(e, events.ApplicationData))


def app_data_epochs(evs) -> list[tuple[bytes, str]]:
    return [(e.data, e.epoch) for e in evs if isinstance(e, events.ApplicationData)]


def sent_messages(evs, cls) -> list:
    return [e.message for e in evs if isinstance(e, events.HandshakeMessageSent) and isinstance(e.message, cls)]


def received_messages(evs, cls) -> list:
    return [e.message for e in evs if isinstance(e, events.HandshakeMessageReceived) and isinstance(e.message, cls)]


def record_epochs(evs, cls=events.RecordSent, inner=ContentType.APPLICATION_DATA) -> list[tuple[str, int]]:
    """(epoch, sequence) of each protected record of one inner type, in order."""
    return [(e.epoch, e.sequence) for e in evs if isinstance(e, cls) and e.inner_type == inner]
