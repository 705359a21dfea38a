"""Our engine over sockets: a remote HOST:PORT, OpenSSL and GnuTLS programs as peers on 127.0.0.1."""
import socket

import pytest

from tests.ui.conftest import require
from workbench.peers import free_port, missing_reason, why_netns_unavailable
from workbench.tls.errors import UsageError
from workbench.ui.options import RunOptions
from workbench.ui.runs.sockets import SocketRun, parse_target


def _run(credentials, features, **options) -> SocketRun:
    return SocketRun(RunOptions(**options), features, credentials)


def _records_of(run, conn_id=0):
    with run.lock:
        conn = run.timeline.connections.get(conn_id)
        return [] if conn is None else conn.records()


def test_parse_target():
    assert parse_target("example.com:443") == ("example.com", 443)
    assert parse_target("[::1]:8443") == ("::1", 8443)
    for bad in ("example.com", ":443", "host:0", "host:99999"):
        with pytest.raises(UsageError):
            parse_target(bad)


def test_nobody_listening_is_a_problem_in_plain_words(credentials, features):
    run = _run(credentials, features, pair="remote", target=f"127.0.0.1:{free_port()}", verify=False)
    run.connect()
    assert run.wait(15)
    assert run.problems[0].headline.endswith("connection refused")
    assert run.current.state == "failed"
    run.close()


def test_a_peer_that_speaks_no_tls(credentials, features):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    import threading

    def answer():
        sock, _ = listener.accept()
        sock.recv(4096)
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        sock.close()
    threading.Thread(target=answer, daemon=True).start()
    run = _run(credentials, features, pair="remote", target=f"127.0.0.1:{port}", verify=False)
    run.connect()
    assert run.wait(15)
    listener.close()
    assert run.problems and run.problems[0].kind in ("protocol", "network")
    run.close()


def _wait_connected(run, timeout=20):
    assert run.wait_until(lambda: run.current is not None and run.current.state in ("connected", "failed"),
                          timeout), run.problems
    assert run.current.state == "connected", run.problems


@pytest.mark.interop
def test_our_client_against_openssl_live(credentials, features):
    reason = missing_reason("openssl")
    if reason:
        pytest.skip(reason)
    require(features, "key_update", "session_data", "resume")
    run = _run(credentials, features, pair="openssl-server")
    try:
        run.connect()
        _wait_connected(run)
        # live: the handshake is in the timeline while the connection is still open
        assert [r.messages[0].handshake_type for r in _records_of(run)[:2] if r.messages] == [1, 2]
        run.send(b"hello openssl\n")
        run.key_update(requested=True)
        run.send(b"after the update\n")
        assert run.wait_until(lambda: any(r.epoch == "application-1" for r in _records_of(run)))
        assert run.wait_until(lambda: len(run.timeline.tickets) >= 1)       # OpenSSL sends tickets
        run.save_session()
        assert run.wait_until(lambda: run.saved is not None)
        run.close_connection()
        assert run.wait_until(lambda: run.current.state == "closed")
        run.resume()
        assert run.wait_until(lambda: 1 in run.timeline.connections and run.timeline.connections[1].resumed), \
            run.problems
        assert run.timeline.connections[1].resumed_with is not None
        protected = [r for r in _records_of(run) if r.protected]
        assert all(run.records.decoded(r).decrypted for r in protected)
        assert "ACCEPT" in run.peer_output()
    finally:
        run.close()
    assert not run.peer.running


@pytest.mark.interop
def test_openssl_client_against_our_server(credentials, features):
    reason = missing_reason("openssl")
    if reason:
        pytest.skip(reason)
    run = _run(credentials, features, pair="openssl-client")
    try:
        run.connect()
        _wait_connected(run)
        assert run.action_state("resume") == "only our client can resume (here the peer program is the client)"
        run.send(b"hello from our server\n")
        assert run.wait_until(lambda: "hello from our server" in run.peer_output())
        run.close_connection()
        assert run.wait_until(lambda: run.current.state == "closed")
        assert run.timeline.connections[0].established
    finally:
        run.close()


@pytest.mark.interop
def test_our_client_against_gnutls(credentials, features):
    reason = missing_reason("gnutls-serv") or why_netns_unavailable()
    if reason:
        pytest.skip(reason)
    run = _run(credentials, features, pair="gnutls-server")
    try:
        run.connect()
        _wait_connected(run, 30)
        run.send(b"echo me\n")
        # gnutls-serv --echo sends it back
        assert run.wait_until(lambda: sum(1 for r in _records_of(run) if r.inner_type == 23) >= 2), run.problems
    finally:
        run.close()


@pytest.mark.interop
def test_gnutls_client_against_our_server(credentials, features):
    reason = missing_reason("gnutls-cli")
    if reason:
        pytest.skip(reason)
    run = _run(credentials, features, pair="gnutls-client")
    try:
        run.connect()
        _wait_connected(run, 30)
        assert run.timeline.connections[0].version == 0x0304
    finally:
        run.close()


def test_a_mistyped_target_is_refused_at_once(credentials, features):
    run = _run(credentials, features, pair="remote", target="no-port-here")
    with pytest.raises(UsageError, match="HOST:PORT"):
        run.connect()
    assert run.connections == []
