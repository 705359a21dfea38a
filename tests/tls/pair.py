"""A tiny in-memory pump between two sans-IO connections, for tests.

`pump(a, b)` moves what each side queued into the other until both are quiet. Errors raised by
receive_data propagate (the alert is already queued by then), so a test can assert on them
and then deliver the alert with `deliver(...)`.
"""
from __future__ import annotations

import random
from typing import Callable

from workbench.tls import ClientConfig, Connection, ServerConfig
from workbench.tls.messages import encode_handshake

from . import certs


def make_client_config(**overrides) -> ClientConfig:
    kw = dict(server_name="localhost", trust_anchors=(certs.root().certificate,))
    kw.update(overrides)
    return ClientConfig(**kw)


def make_server_config(key_type: str = "ecdsa-p256", **overrides) -> ServerConfig:
    leaf = certs.server_leaf(key_type)
    kw = dict(certificate_chain=leaf.chain, private_key=leaf.private_key)
    kw.update(overrides)
    return ServerConfig(**kw)


def seeded_rng(seed: int) -> Callable[[int], bytes]:
    """A deterministic rng: the same seed draws the same bytes (for reproducibility tests)."""
    generator = random.Random(seed)
    return lambda n: generator.randbytes(n)


def pump(a: Connection, b: Connection, *, max_rounds: int = 50) -> int:
    """Move data both ways until neither side has anything to send; returns the bytes moved."""
    moved = 0
    for _ in range(max_rounds):
        quiet = True
        for sender, receiver in ((a, b), (b, a)):
            data = sender.data_to_send()
            if data:
                quiet = False
                moved += len(data)
                receiver.receive_data(data)
        if quiet:
            return moved
    raise AssertionError("connections did not go quiet")


def deliver(sender: Connection, receiver: Connection, transform: Callable[[bytes], bytes] | None = None) -> bytes:
    """Move one batch of bytes from sender to receiver (optionally altered); returns what was delivered."""
    data = sender.data_to_send()
    if transform is not None:
        data = transform(data)
    if data:
        receiver.receive_data(data)
    return data


def connected_pair(client_config: ClientConfig | None = None,
                   server_config: ServerConfig | None = None) -> tuple[Connection, Connection]:
    """A client and a server with a completed handshake (events left in place)."""
    client = Connection(client_config or make_client_config())
    server = Connection(server_config or make_server_config())
    client.start_handshake()
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete
    return client, server


def drain(conn: Connection) -> list:
    return list(conn.events())


def split_records(data: bytes) -> list[bytes]:
    """The records of a byte string, each with its header."""
    out = []
    pos = 0
    while pos < len(data):
        length = int.from_bytes(data[pos + 3:pos + 5], "big")
        out.append(data[pos:pos + 5 + length])
        pos += 5 + length
    return out


def rewrite_messages(conn: Connection, rewrite: Callable[[object], object | None]) -> None:
    """Make `conn` send rewrite(message) instead of each handshake message (None keeps it).

    The sender's transcript covers what was actually sent, so its own state stays consistent:
    only the peer sees the change, as with a misbehaving implementation."""
    original = conn.send_handshake_message

    def send(message):
        replacement = rewrite(message)
        return original(message if replacement is None else replacement)

    conn.send_handshake_message = send


def drop_messages(conn: Connection, message_type: type) -> None:
    """Make `conn` skip sending messages of one class (its transcript still includes them)."""
    original = conn.send_handshake_message

    def send(message):
        if isinstance(message, message_type):
            return encode_handshake(message)
        return original(message)

    conn.send_handshake_message = send


def replace_extension(extensions: tuple, cls: type, new=None) -> tuple:
    """The extensions with those of class `cls` replaced by `new` (or removed when new is None)."""
    out = []
    for ext in extensions:
        if isinstance(ext, cls):
            if new is not None:
                out.append(new)
        else:
            out.append(ext)
    return tuple(out)

