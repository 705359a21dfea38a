import socket

import pytest

from workbench.peers import free_port


def test_free_port_can_be_bound_on_loopback():
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_free_port_on_ipv6_loopback():
    try:
        port = free_port("::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", port))
