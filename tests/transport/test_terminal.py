import io
import os
import threading

import pytest

from workbench.transport.blocking import connect, listen, serve_one
from workbench.transport.responders import EchoResponder
from workbench.transport.terminal import (Command, Ended, LineInput, Outcome, Session, client_commands,
                                          server_commands)


class Peer:
    """A server thread: `handler(tls)` runs on the one connection it accepts."""

    def __init__(self, server_config, handler):
        self.listener = listen("127.0.0.1", 0)
        self.port = self.listener.getsockname()[1]
        self.result = None
        self.thread = threading.Thread(target=self._run, args=(server_config, handler), daemon=True)
        self.thread.start()

    def _run(self, config, handler):
        try:
            tls = serve_one(self.listener, config, timeout=5)
            tls.settimeout(5)
            with tls:
                self.result = handler(tls)
        finally:
            self.listener.close()

    def join(self):
        self.thread.join(10)
        assert not self.thread.is_alive()


def collect_until_closed(tls):
    received = b""
    while data := tls.recv():
        received += data
    return received, tls.peer_sent_close_notify


@pytest.fixture
def pipe():
    read_fd, write_fd = os.pipe()
    yield LineInput(read_fd), write_fd
    for fd in (read_fd, write_fd):
        try:
            os.close(fd)
        except OSError:
            pass


def test_line_input_joins_partial_reads_and_keeps_the_last_unterminated_line(pipe):
    lines, write_fd = pipe
    os.write(write_fd, b"one\ntw")
    assert lines.read_lines() == [b"one\n"]
    os.write(write_fd, b"o\nthree")
    assert lines.read_lines() == [b"two\n"]
    os.close(write_fd)
    assert lines.read_lines() == [b"three"] and lines.at_eof


def test_input_lines_are_sent_and_q_closes_cleanly(pipe, client_config, server_config):
    lines, write_fd = pipe
    peer = Peer(server_config, collect_until_closed)
    tls = connect("127.0.0.1", peer.port, client_config, timeout=5)
    os.write(write_fd, b"first\nsecond\r\nQ\nnever sent\n")
    ended = Session(tls, io.BytesIO(), client_commands(), input=lines).run()
    peer.join()
    assert ended is Ended.LOCAL_CLOSE
    assert peer.result == (b"first\nsecond\r\n", True)


def test_peer_data_is_written_out_and_its_close_notify_ends_the_session(client_config, server_config):
    def speak_and_close(tls):
        tls.sendall(b"from the peer\n")
        tls.call("close")
        return collect_until_closed(tls)

    peer = Peer(server_config, speak_and_close)
    tls = connect("127.0.0.1", peer.port, client_config, timeout=5)
    output = io.BytesIO()
    assert Session(tls, output, client_commands()).run() is Ended.PEER_CLOSED
    peer.join()
    assert output.getvalue() == b"from the peer\n"


def test_end_of_input_waits_then_closes(pipe, client_config, server_config):
    lines, write_fd = pipe
    peer = Peer(server_config, collect_until_closed)
    tls = connect("127.0.0.1", peer.port, client_config, timeout=5)
    os.write(write_fd, b"no newline at the end")
    os.close(write_fd)
    ended = Session(tls, io.BytesIO(), client_commands(), input=lines, crlf=True).run(wait_after_input=0.2)
    peer.join()
    assert ended is Ended.INPUT_DONE
    assert peer.result == (b"no newline at the end", True)


def test_crlf_mode_and_a_command_added_to_the_table(pipe, client_config, server_config):
    lines, write_fd = pipe
    peer = Peer(server_config, collect_until_closed)
    tls = connect("127.0.0.1", peer.port, client_config, timeout=5)
    seen = []
    commands = client_commands() | {"t": Command(lambda session: seen.append(session.tls) or Outcome.CONTINUE,
                                                 "test command")}
    os.write(write_fd, b"GET / HTTP/1.1\n\nt\nQ\n")
    Session(tls, io.BytesIO(), commands, input=lines, crlf=True).run()
    peer.join()
    assert seen == [tls]
    assert peer.result[0] == b"GET / HTTP/1.1\r\n\r\n"


def test_responder_mode_answers_the_peer_and_keeps_input_for_commands(pipe, client_config, server_config):
    lines, write_fd = pipe
    notices = []

    echoed = threading.Event()

    def talk(tls):
        tls.sendall(b"echo this")
        first = tls.recv()
        echoed.set()
        return first, collect_until_closed(tls)

    peer = Peer(server_config, talk)
    tls = connect("127.0.0.1", peer.port, client_config, timeout=5)
    session = Session(tls, io.BytesIO(), server_commands(), input=lines, responder=EchoResponder(),
                      send_input=False, notice=notices.append)
    worker = threading.Thread(target=lambda: notices.append(session.run()))
    worker.start()
    assert echoed.wait(5)
    os.write(write_fd, b"typed text\nQ\n")
    worker.join(5)
    peer.join()
    assert peer.result == (b"echo this", (b"", True))        # nothing typed was sent; Q closed cleanly
    assert notices[0].startswith("input is not sent in this mode") and notices[-1] is Ended.STOP


def test_command_tables():
    assert set(client_commands()) == {"Q", "k", "K", "R", "r"}
    assert set(server_commands()) == {"q", "Q", "k", "K", "R", "r"}
    assert all(command.help for command in (*client_commands().values(), *server_commands().values()))
