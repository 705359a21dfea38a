import pytest

from workbench.peers.handshake import host_port, is_ip_address, require_loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]"])
def test_loopback_addresses_are_accepted(host):
    assert require_loopback(host) == host


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "localhost", "example.com"])
def test_anything_else_is_refused(host):
    with pytest.raises(ValueError, match="loopback"):
        require_loopback(host)


def test_host_port_brackets_ipv6():
    assert host_port("127.0.0.1", 443) == "127.0.0.1:443"
    assert host_port("::1", 443) == "[::1]:443"
    assert host_port("[::1]", 0) == "[::1]:0"


def test_is_ip_address():
    assert is_ip_address("127.0.0.1") and is_ip_address("::1")
    assert not is_ip_address("localhost")
