"""tshark decrypts a session between our client and our server, captured on lo, with the key log
our side wrote: it sees the Finished messages and the application data, plaintext exact.

One session is captured for the module (real sockets, a fixed free port, `tshark -i lo` stopped
with SIGINT); each test reads the capture with one key log: the client's, the server's, none.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.loopback_capture import LoopbackCapture, tshark_session, why_no_capture
from workbench.peers import free_port
from workbench.tls import KeyLogWriter, events_to_keylog
from workbench.tls.enums import ContentType, HandshakeType

from .engine_endpoints import EngineServer, close_gracefully, engine_connect

pytestmark = [pytest.mark.interop, pytest.mark.capture]

# Plain text no heuristic dissector claims (an HTTP request would be shown as HTTP, not as data).
CLIENT_MESSAGES = (b"the client's first plaintext", b"and its second record \x00\x01\x02\xff")
SERVER_PREFIX = b"the server read: "
HT = HandshakeType


@dataclass
class Session:
    port: int
    capture: Path
    client_keylog: Path
    server_keylog: Path
    server_sent: bytes = b""


@pytest.fixture(scope="module")
def captured(interop_pki, tmp_path_factory) -> Session:
    reason = why_no_capture()
    if reason:
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("tshark")
    session = Session(free_port(), directory / "session.pcapng", directory / "client.keys", directory / "server.keys")
    replies = []

    def reply(data: bytes) -> bytes:
        replies.append(SERVER_PREFIX + data)
        return replies[-1]

    with LoopbackCapture(session.port, session.capture) as capture:
        with EngineServer(interop_pki.server_config(), port=session.port, reply=reply) as ours:
            with open(session.client_keylog, "w") as keylog:
                tls = engine_connect(session.port, interop_pki.client_config(), on_event=KeyLogWriter(keylog))
                for message in CLIENT_MESSAGES:
                    tls.sendall(message)
                    expected = SERVER_PREFIX + message
                    got = b""
                    while len(got) < len(expected):
                        got += tls.recv()
                    assert got == expected
                assert close_gracefully(tls) == b""
            served = ours.next_connection()
            assert served.error is None
            session.server_keylog.write_text(events_to_keylog(served.events))
        capture.flush()
    session.server_sent = b"".join(replies)
    return session


@pytest.mark.parametrize("side", ["client", "server"])
def test_tshark_decrypts_with_our_key_log(captured, side):
    keylog = captured.client_keylog if side == "client" else captured.server_keylog
    labels = {line.split()[0] for line in keylog.read_text().splitlines()}
    assert labels == {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                      "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"}
    seen = tshark_session(captured.capture, captured.port, keylog)
    client, server = seen["client"], seen["server"]
    assert client.handshake_types == [HT.CLIENT_HELLO, HT.FINISHED]
    flight = [HT.SERVER_HELLO, HT.ENCRYPTED_EXTENSIONS, HT.CERTIFICATE, HT.CERTIFICATE_VERIFY, HT.FINISHED]
    assert server.handshake_types[:5] == flight
    assert set(server.handshake_types[5:]) <= {HT.NEW_SESSION_TICKET}         # tickets, if the server sends any
    assert client.application_data == b"".join(CLIENT_MESSAGES)
    assert server.application_data == captured.server_sent
    for direction in (client, server):
        assert ContentType.APPLICATION_DATA in direction.content_types
        assert direction.content_types[-1] == ContentType.ALERT               # close_notify, decrypted


def test_without_the_key_log_tshark_sees_only_ciphertext(captured):
    seen = tshark_session(captured.capture, captured.port, None)
    assert seen["client"].handshake_types == [HT.CLIENT_HELLO]
    assert seen["server"].handshake_types == [HT.SERVER_HELLO]
    for direction in seen.values():
        assert direction.application_data == b""
        assert ContentType.ALERT not in direction.content_types             # the alerts are encrypted too
