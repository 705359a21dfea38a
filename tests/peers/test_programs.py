import pytest

from workbench.peers import available, missing_reason, version


def test_available_finds_programs_on_path():
    assert available("sh")
    assert not available("no-such-program-for-the-workbench")


def test_missing_reason_names_the_debian_package():
    assert missing_reason("sh") is None
    reason = missing_reason("sh", "no-such-program-for-the-workbench")
    assert "no-such-program-for-the-workbench" in reason and "sh," not in reason


@pytest.mark.interop
def test_versions_of_the_peer_programs(requires_openssl, requires_gnutls):
    assert version("openssl").startswith("OpenSSL 3")
    assert version("gnutls-cli").startswith("gnutls-cli 3")
