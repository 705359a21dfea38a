"""k, K, R and r of the interactive client and server: what each one makes the engine send."""
from __future__ import annotations

from workbench.tls import events
from workbench.tls.enums import KeyUpdateType
from workbench.tls.messages import ClientHello, HelloRequest
from workbench.transport.key_commands import key_commands
from workbench.transport.terminal import Outcome

from tests.tls.pair import connected_pair, drain, make_client_config, make_server_config


class EngineOnly:
    """What a command uses of a Session: tls.call() and notice()."""

    def __init__(self, connection):
        self.tls = self
        self.connection = connection
        self.notices: list[str] = []
        self.notice = self.notices.append

    def call(self, method, *args):
        return getattr(self.connection, method)(*args)


def pair(versions=(0x0304,)):
    client, server = connected_pair(make_client_config(versions=versions), make_server_config(versions=versions))
    drain(client), drain(server)
    return client, server


def test_k_and_K_send_a_key_update_at_once():
    client, server = pair()
    session = EngineOnly(client)
    assert key_commands("client")["k"].run(session) is Outcome.CONTINUE
    assert key_commands("client")["K"].run(session) is Outcome.CONTINUE
    sent = [e.request_update for e in drain(client) if isinstance(e, events.KeyUpdateSent)]
    assert sent == [KeyUpdateType.NOT_REQUESTED, KeyUpdateType.REQUESTED]
    assert client.key_update_type() is KeyUpdateType.NONE and client.data_to_send()
    assert session.notices[0].startswith("KEYUPDATE") and "update_requested" in session.notices[1]


def test_R_and_r_on_a_client():
    client, server = pair((0x0303,))
    session = EngineOnly(client)
    key_commands("client")["R"].run(session)
    hello = [e.message for e in drain(client) if isinstance(e, events.HandshakeMessageSent)
             and isinstance(e.message, ClientHello)]
    assert hello and hello[0].legacy_session_id == b""              # full: no session offered
    assert session.notices == ["RENEGOTIATING: full renegotiation"]
    client, server = pair((0x0303,))
    key_commands("client")["r"].run(EngineOnly(client))
    hello = [e.message for e in drain(client) if isinstance(e, events.HandshakeMessageSent)
             and isinstance(e.message, ClientHello)]
    assert hello[0].legacy_session_id == client.negotiated.session_id   # abbreviated: resumes


def test_R_and_r_on_a_server_send_hello_request():
    for word in ("R", "r"):
        client, server = pair((0x0303,))
        session = EngineOnly(server)
        key_commands("server")[word].run(session)
        assert [e.message for e in drain(server) if isinstance(e, events.HandshakeMessageSent)] == [HelloRequest()]
        assert server.renegotiate_pending() and "HelloRequest" in session.notices[0]


def test_the_wrong_version_is_reported_and_nothing_sent():
    client, server = pair()
    session = EngineOnly(client)
    key_commands("client")["R"].run(session)
    assert session.notices[0].startswith("not done:") and "TLS 1.2 only" in session.notices[0]
    client12, _ = pair((0x0303,))
    session = EngineOnly(client12)
    key_commands("client")["k"].run(session)
    assert "TLS 1.3 only" in session.notices[0]
    assert client.data_to_send() == b"" and client12.data_to_send() == b""
