"""Property tests: whatever bytes a peer sends, at any point of the handshake, the engine answers
with its own protocol errors only, and every error it raises has put an alert on the wire.

Each case replays a real handshake up to a chosen point, then hands one side arbitrary bytes or a
mutated copy of what the other side really sent next. Allowed outcomes: the bytes are accepted (or
buffered as an incomplete record), the engine raises ProtocolError after queueing an alert, or it
raises AlertReceived because the bytes happened to be a well-formed alert from the peer.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.tls import Connection
from workbench.tls.enums import AlertDescription, ContentType
from workbench.tls.errors import AlertReceived, ProtocolError

from .pair import make_client_config, make_server_config, seeded_rng, split_records

SETTINGS = settings(max_examples=int(os.environ.get("WORKBENCH_FUZZ_EXAMPLES", 150)), deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

# Where a side is when the hostile bytes arrive (the script of a real handshake, step by step).
STAGES = ("server-fresh", "client-after-client-hello", "server-after-server-flight",
          "client-connected", "server-connected")
POINTS = tuple((version, stage) for version in (0x0304, 0x0303) for stage in STAGES)


def _script(point: tuple[int, str], seed: int):
    """Run a real handshake (TLS 1.3 or 1.2) to `point`; returns (victim, genuine next bytes for it)."""
    version, point = point
    client = Connection(make_client_config(rng=seeded_rng(seed), versions=(version,)))
    server = Connection(make_server_config(rng=seeded_rng(seed + 1), versions=(version,)))
    if point == "server-fresh":
        client.start_handshake()
        return server, client.data_to_send()
    client.start_handshake()
    hello = client.data_to_send()
    if point == "client-after-client-hello":
        server.receive_data(hello)
        return client, server.data_to_send()
    server.receive_data(hello)
    client.receive_data(server.data_to_send())
    client_flight = client.data_to_send()
    if point == "server-after-server-flight":
        return server, client_flight
    server.receive_data(client_flight)
    client.receive_data(server.data_to_send())     # TLS 1.3 tickets; TLS 1.2 the server's Finished
    assert client.handshake_complete and server.handshake_complete
    if point == "client-connected":
        server.send(b"application data from the server")
        return client, server.data_to_send()
    client.send(b"application data from the client")
    return server, client.data_to_send()


def _assert_answered_properly(victim: Connection, data: bytes) -> None:
    try:
        victim.receive_data(data)
    except AlertReceived:
        return                                   # the bytes were a valid alert from the peer
    except ProtocolError as error:
        # internal_error would mean the engine tripped over the input instead of judging it
        assert error.alert != AlertDescription.internal_error, repr(error)
        sent = victim.data_to_send()
        assert sent, f"{error!r} raised with no alert queued"
        last = split_records(sent)[-1]
        # a plaintext alert, or (once keys are in place) a protected record carrying it
        assert last[0] in (ContentType.ALERT, ContentType.APPLICATION_DATA), last[:5].hex()
        assert victim.closed, "the connection must be closed after a fatal protocol error"
        return
    # accepted: whatever the engine queued must still be well-formed records
    for record in split_records(victim.data_to_send()):
        assert record[0] in (20, 21, 22, 23)


@SETTINGS
@given(point=st.sampled_from(POINTS), seed=st.integers(0, 3), data=st.binary(max_size=600))
def test_arbitrary_bytes_at_any_point(point, seed, data):
    victim, _ = _script(point, seed)
    _assert_answered_properly(victim, data)


@SETTINGS
@given(point=st.sampled_from(POINTS), seed=st.integers(0, 3), data=st.data())
def test_mutated_genuine_bytes_at_any_point(point, seed, data):
    victim, genuine = _script(point, seed)
    mutated = bytearray(genuine)
    for _ in range(data.draw(st.integers(1, 4), label="flips")):
        position = data.draw(st.integers(0, len(mutated) - 1), label="position")
        mutated[position] ^= data.draw(st.integers(1, 255), label="xor")
    cut = data.draw(st.integers(0, len(mutated)), label="cut")
    _assert_answered_properly(victim, bytes(mutated[:cut]) if data.draw(st.booleans(), label="truncate")
                              else bytes(mutated))


@SETTINGS
@given(point=st.sampled_from(POINTS), seed=st.integers(0, 3), data=st.data())
def test_genuine_records_spliced_with_garbage(point, seed, data):
    """A real record followed or preceded by a hostile one, as a middlebox might inject."""
    victim, genuine = _script(point, seed)
    records = split_records(genuine)
    hostile = bytes([data.draw(st.integers(0, 255), label="type"), 3, 3]) + \
        data.draw(st.binary(min_size=2, max_size=40), label="rest")
    at = data.draw(st.integers(0, len(records)), label="at")
    _assert_answered_properly(victim, b"".join(records[:at]) + hostile + b"".join(records[at:]))
