"""PeerProcess with small Python programs standing in for peers: no TLS program needed."""
import signal
import sys
import time

import pytest

from workbench.peers import PeerExited, PeerProcess, PeerTimeout

from .pids import gone

ECHO = "import sys\nfor line in sys.stdin:\n    print('got', line.strip(), flush=True)\n"


def python(code, **kwargs):
    return PeerProcess([sys.executable, "-u", "-c", code], **kwargs)


def test_lines_sent_reach_the_program_and_its_answers_are_seen():
    with python(ECHO) as peer:
        peer.send_line("hello")
        assert peer.wait_for_output(r"^got (\w+)$").group(1) == "hello"
        peer.send_line("again")
        peer.wait_for_output("got again\n")
    assert peer.stdout == "got hello\ngot again\n"


def test_standard_error_is_collected_apart_and_together():
    with python("import sys; print('out', flush=True); print('err', file=sys.stderr, flush=True); input()") as peer:
        peer.wait_for_output("err", stream="stderr")
        peer.wait_for_output("out", stream="stdout")
        assert "out" in peer.output and "err" in peer.output
        assert "err" not in peer.stdout


def test_since_waits_for_new_output_only():
    with python(ECHO) as peer:
        peer.send_line("x")
        peer.wait_for_output("got x")
        mark = peer.mark()
        with pytest.raises(PeerTimeout):
            peer.wait_for_output("got x", 0.3, since=mark)
        peer.send_line("x")
        assert peer.wait_for_output("got x", since=mark).start() >= mark


def test_a_timeout_says_what_was_awaited_and_shows_the_output():
    with python("print('hello there', flush=True); input()") as peer:
        started = time.monotonic()
        with pytest.raises(PeerTimeout) as caught:
            peer.wait_for_output("never", 0.5)
        assert 0.4 < time.monotonic() - started < 5
    message = str(caught.value)
    assert "'never'" in message and "hello there" in message and sys.executable in message
    assert isinstance(caught.value, TimeoutError)


def test_an_early_exit_is_reported_at_once_with_its_code():
    with python("print('bye'); raise SystemExit(3)") as peer:
        with pytest.raises(PeerExited, match="exit code 3"):
            peer.wait_for_output("never", 30)
        assert peer.wait(5) == 3


def test_stop_terminates_by_pid():
    with python("import time; print('up', flush=True); time.sleep(60)") as peer:
        peer.wait_for_output("up")
        pid = peer.pid
    assert peer.returncode == -signal.SIGTERM
    assert gone(pid)


def test_stop_kills_a_program_that_ignores_sigterm():
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    with python(code, stop_grace=0.5) as peer:
        peer.wait_for_output("up")
        started = time.monotonic()
    assert peer.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_stop_also_stops_what_the_program_started():
    code = ("import subprocess, sys, time; child = subprocess.Popen(['sleep', '60']);"
            "print('child', child.pid, flush=True); time.sleep(60)")
    with python(code) as peer:
        child = int(peer.wait_for_output(r"child (\d+)").group(1))
        assert not gone(child)
    deadline = time.monotonic() + 5
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)  # the child is reaped by init once killed
    assert gone(child)


def test_the_lifetime_bounds_a_forgotten_peer():
    with python("import time; print('up', flush=True); time.sleep(60)", lifetime=1.0) as peer:
        peer.wait_for_output("up")
        with pytest.raises(PeerExited, match="lifetime"):
            peer.wait_for_output("never", 30)
        assert peer.expired and peer.returncode == -signal.SIGKILL


def test_sending_to_an_ended_program_raises():
    with python("pass") as peer:
        peer.wait(10)
        with pytest.raises(PeerExited):
            for _ in range(100):  # the pipe may take a write or two before it reports the reader gone
                peer.send_line("anyone?")


def test_closing_standard_input_is_end_of_file_for_the_program():
    with python("import sys; data = sys.stdin.read(); print('read', len(data), flush=True)") as peer:
        peer.send_line("abc")
        peer.close_stdin()
        peer.wait_for_output("read 4")
        assert peer.wait(5) == 0


def test_utf8_split_across_reads_is_decoded_whole():
    code = "import os, time; os.write(1, 'é'.encode()[:1]); time.sleep(0.2); os.write(1, 'é'.encode()[1:] + b'\\n')"
    with python(code) as peer:
        peer.wait(10)
    assert peer.stdout == "é\n"


def test_a_peer_starts_once_and_reports_before_start():
    peer = python("pass")
    with pytest.raises(RuntimeError, match="not started"):
        _ = peer.pid
    with pytest.raises(RuntimeError, match="not started"):
        peer.wait_for_output("x")
    assert peer.stop() is None
    with peer:
        with pytest.raises(RuntimeError, match="already started"):
            peer.start()


def test_environment_is_added_to_the_inherited_one():
    code = "import os; print(os.environ['WB_TEST_VALUE'], 'PATH' in os.environ)"
    with python(code, env={"WB_TEST_VALUE": "v1"}) as peer:
        peer.wait_for_output("v1 True")
