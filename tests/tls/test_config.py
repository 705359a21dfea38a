"""Config validation: mistakes are UsageErrors with a message that names the problem."""
from __future__ import annotations

import pytest

from workbench.tls import ClientConfig, ServerConfig
from workbench.tls.enums import AlertDescription, NamedGroup
from workbench.tls.errors import UsageError

from . import certs

ROOT = certs.root().certificate


def client(**kw) -> ClientConfig:
    base = dict(server_name="localhost", trust_anchors=(ROOT,))
    base.update(kw)
    return ClientConfig(**base)


def server(**kw) -> ServerConfig:
    leaf = certs.server_leaf()
    base = dict(certificate_chain=leaf.chain, private_key=leaf.private_key)
    base.update(kw)
    return ServerConfig(**base)


def test_defaults():
    config = client()
    assert config.cipher_suites == (0x1301, 0x1302, 0x1303)
    assert config.supported_groups == (NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1)
    assert config.key_share_groups == (NamedGroup.X25519,)
    assert not config.compatibility_mode and config.record_size_limit is None
    assert config.sni == "localhost"
    s = server()
    assert len(s.credentials) == 1 and s.hello_retry_cookie and s.send_supported_groups_in_ee


def test_key_share_default_skips_groups_we_cannot_compute():
    config = client(supported_groups=(NamedGroup.SECP521R1, NamedGroup.SECP384R1, NamedGroup.X25519))
    assert config.key_share_groups == (NamedGroup.SECP384R1,)


def test_alpn_strings_become_bytes():
    assert client(alpn_protocols=["h2", b"http/1.1"]).alpn_protocols == (b"h2", b"http/1.1")


def test_server_name_is_normalised_and_ip_addresses_get_no_sni():
    assert client(server_name="LocalHost.").server_name == "localhost"
    assert client(server_name="127.0.0.1").sni is None
    assert client(server_name="::1").sni is None


def test_require_client_certificate_implies_request():
    config = server(require_client_certificate=True, client_trust_anchors=(ROOT,))
    assert config.request_client_certificate


def test_several_certificates():
    rsa_leaf = certs.server_leaf("rsa-2048")
    config = server(certificates=((rsa_leaf.chain, rsa_leaf.private_key),))
    assert [c.schemes[0] for c in config.credentials] == [0x0403, 0x0804]
    only_pairs = ServerConfig(certificates=((rsa_leaf.chain, rsa_leaf.private_key),))
    assert len(only_pairs.credentials) == 1


@pytest.mark.parametrize("kw, fragment", [
    (dict(cipher_suites=()), "must not be empty"),
    (dict(cipher_suites=(0x1301, 0x1301)), "twice"),
    (dict(cipher_suites=(0x9999,)), "0x9999"),
    (dict(cipher_suites=(0xC02B,)), "TLS 1.2"),
    (dict(cipher_suites=("TLS_AES_128_GCM_SHA256",)), "16-bit"),
    (dict(supported_groups=(NamedGroup.X448,)), "can compute"),
    (dict(supported_groups=()), "must not be empty"),
    (dict(key_share_groups=(NamedGroup.SECP384R1,), supported_groups=(NamedGroup.X25519, NamedGroup.SECP256R1)),
     "not in supported_groups"),
    (dict(key_share_groups=(NamedGroup.X448,), supported_groups=(NamedGroup.X448, NamedGroup.X25519)),
     "cannot compute"),
    (dict(alpn_protocols="h2"), "not a single name"),
    (dict(alpn_protocols=(b"",)), "1..255"),
    (dict(alpn_protocols=(b"x" * 256,)), "1..255"),
    (dict(alpn_protocols=("h2", "h2")), "twice"),
    (dict(record_size_limit=63), "64"),
    (dict(record_size_limit=70000), "64"),
    (dict(padding=-1), "padding"),
    (dict(padding=1.5), "padding"),
    (dict(max_handshake_message_size=10), "max_handshake_message_size"),
    (dict(rng=b"not callable"), "rng"),
    (dict(clock=12345), "clock"),
    (dict(trust_anchors=()), "trust_anchors"),
    (dict(trust_anchors=(b"pem bytes",)), "x509.Certificate"),
    (dict(server_name=None), "server_name"),
    (dict(server_name="bücher.example"), "ASCII"),
    (dict(certificate_chain=certs.client_leaf().chain), "private key"),
    (dict(certificate_chain=certs.client_leaf().chain, private_key=certs.server_leaf().private_key), "does not match"),
    (dict(private_key=certs.client_leaf().private_key), "empty"),
])
def test_client_config_mistakes(kw, fragment):
    with pytest.raises(UsageError) as info:
        client(**kw)
    assert fragment in str(info.value)


def test_verification_can_be_turned_off_explicitly():
    ClientConfig(verify_peer=False)
    ClientConfig(trust_anchors=(ROOT,), check_hostname=False)


@pytest.mark.parametrize("kw, fragment", [
    (dict(certificate_chain=(), private_key=None), "needs a certificate"),
    (dict(private_key=certs.client_leaf().private_key), "does not match"),
    (dict(certificate_chain=("not a certificate",)), "x509.Certificate"),
    (dict(private_key="not a key"), "not a private key"),
    (dict(certificates=(certs.server_leaf().chain,)), "pair"),
    (dict(request_client_certificate=True), "client_trust_anchors"),
    (dict(require_client_certificate=True), "client_trust_anchors"),
    (dict(cipher_suites=(0x1305, 0x1306)), "0x1306"),
    (dict(alpn_protocols=(1,)), "1..255"),
])
def test_server_config_mistakes(kw, fragment):
    with pytest.raises(UsageError) as info:
        server(**kw)
    assert fragment in str(info.value)


def test_client_certificate_requested_without_verification_needs_no_anchors():
    config = server(request_client_certificate=True, verify_client_certificate=False)
    assert config.request_client_certificate and config.client_trust_anchors == ()


# --- answers derived from a config's tuples, kept by value -----------------------------------------

def test_suites_of_version_follows_the_tuple_it_is_given(monkeypatch):
    from workbench.tls import config as config_module
    both = (0x1301, 0xC02B, 0x1302)
    assert config_module.suites_of_version(both, 0x0304) == (0x1301, 0x1302)
    assert config_module.suites_of_version(both, 0x0303) == (0xC02B,)
    assert config_module.suites_of_version(both, 0x0304) is config_module.suites_of_version(both, 0x0304)
    assert config_module.suites_of_version([0xC02B, 0x1303], 0x0304) == (0x1303,)     # a list: not kept
    config = client(versions=(0x0304, 0x0303))
    config.cipher_suites = (0x1303, 0xC02F)       # a config changed after construction gets its own answer
    assert config_module.suites_of_version(config.cipher_suites, 0x0304) == (0x1303,)
    monkeypatch.setattr(config_module, "_DERIVED_LIMIT", 2)
    monkeypatch.setattr(config_module, "_SUITES_OF_VERSION", {})
    for suites in [(0x1301,), (0x1302,), (0x1303,), (0x1301, 0x1302)]:
        assert config_module.suites_of_version(suites, 0x0304) == suites
    assert len(config_module._SUITES_OF_VERSION) <= 2


def test_computable_groups_follow_supported_groups():
    config = server(supported_groups=(NamedGroup.SECP521R1, NamedGroup.X25519, NamedGroup.SECP256R1))
    assert config.computable_groups == (NamedGroup.X25519, NamedGroup.SECP256R1)
    config.supported_groups = (NamedGroup.SECP384R1, NamedGroup.X448)
    assert config.computable_groups == (NamedGroup.SECP384R1,)
    config.supported_groups = [NamedGroup.SECP256R1]          # not a tuple: computed, not kept
    assert config.computable_groups == (NamedGroup.SECP256R1,)


def test_draw_random_checks_what_the_rng_returns():
    from workbench.tls.config import draw_random
    drawn = bytes(range(32))
    assert draw_random(client(rng=lambda n: drawn[:n]), 32, "ClientHello.random") is drawn
    assert draw_random(client(rng=lambda n: bytearray(n)), 4, "x") == bytes(4)
    for bad, said in ((lambda n: bytes(n - 1), "31 bytes"), (lambda n: 7, "7")):
        with pytest.raises(UsageError, match=f"rng returned {said} for ClientHello.random, expected 32 bytes"):
            draw_random(client(rng=bad), 32, "ClientHello.random")


def test_a_bad_rng_is_named_on_both_sides():
    from workbench.tls import Connection
    from workbench.tls.errors import ProtocolError
    short = lambda n: bytes(n - 1)          # noqa: E731
    with pytest.raises(UsageError, match="rng returned 31 bytes for ClientHello.random"):
        Connection(client(rng=short)).start_handshake()        # before any byte is sent
    peer = Connection(client())
    peer.start_handshake()
    ours = Connection(server(rng=short))
    # Inside receive_data() it ends the handshake with internal_error, and says why.
    with pytest.raises(ProtocolError, match="rng returned 31 bytes for ServerHello.random") as raised:
        ours.receive_data(peer.data_to_send())
    assert raised.value.alert == AlertDescription.internal_error
