import os
import socket
import sys
import threading

import pytest

from workbench.peers import NetnsUnavailable, PeerProcess, PrivateNetwork, free_port
from workbench.peers import netns as netns_module


def namespace_of_this_thread():
    return os.stat("/proc/thread-self/ns/net").st_ino


def test_only_loopback_is_there_and_it_is_up(private_netns):
    result = private_netns.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    links = [line.split(":")[1].strip() for line in result.stdout.splitlines()]
    assert links == ["lo"]
    assert "UP" in result.stdout.split("<")[1].split(">")[0].split(",")


def test_entered_moves_this_thread_and_back(private_netns):
    outside = namespace_of_this_thread()
    with private_netns.entered():
        inside = namespace_of_this_thread()
    assert inside != outside
    assert inside == os.stat(private_netns.path).st_ino
    assert namespace_of_this_thread() == outside


def test_a_listener_inside_is_reachable_inside_only(private_netns):
    port = free_port()  # free outside; inside everything is free
    with private_netns.entered():
        listener = socket.create_server(("127.0.0.1", port))
        client_inside = socket.create_connection(("127.0.0.1", port), timeout=5)
    with listener, client_inside:
        accepted, _ = listener.accept()
        accepted.close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5)


def test_threads_started_inside_stay_inside(private_netns):
    seen = []
    with private_netns.entered():
        worker = threading.Thread(target=lambda: seen.append(namespace_of_this_thread()))
        worker.start()
    worker.join()
    assert seen == [os.stat(private_netns.path).st_ino]


def test_a_peer_process_runs_inside_with_its_own_pid(private_netns):
    code = "import os; print(os.getpid(), os.stat('/proc/self/ns/net').st_ino, flush=True); input()"
    with PeerProcess([sys.executable, "-c", code], netns=private_netns) as peer:
        pid, inode = map(int, peer.wait_for_output(r"(\d+) (\d+)").groups())
        assert pid == peer.pid  # nsenter execs the program: stopping the PID stops it
        assert inode == os.stat(private_netns.path).st_ino


def test_stop_ends_the_holder(private_netns):
    network = PrivateNetwork().start()
    pid = network.pid
    network.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_command_wraps_in_nsenter(private_netns):
    assert private_netns.command(["gnutls-serv", "-p", "1"]) == [
        "nsenter", f"--net=/proc/{private_netns.pid}/ns/net", "--", "gnutls-serv", "-p", "1"]


def test_without_root_it_says_why(monkeypatch):
    monkeypatch.setattr(netns_module.os, "geteuid", lambda: 1000)
    assert "root" in netns_module.why_netns_unavailable()
    with pytest.raises(NetnsUnavailable, match="root"):
        PrivateNetwork().start()


def test_not_started_is_an_error():
    network = PrivateNetwork()
    with pytest.raises(RuntimeError, match="not started"):
        _ = network.path
    with pytest.raises(RuntimeError, match="not started"):
        with network.entered():
            pass
