"""Version negotiation between TLS 1.3 and 1.2, both ways: which version each pair of configs gets,
the downgrade sentinel, TLS_FALLBACK_SCSV, and the configuration rules for versions and suites."""
from __future__ import annotations

import dataclasses

import pytest

from workbench.tls import Connection, errors, events
from workbench.tls.config import DEFAULT_CIPHER_SUITES, DEFAULT_CIPHER_SUITES_12
from workbench.tls.enums import AlertDescription
from workbench.tls.extensions import (ECPointFormats, ExtendedMasterSecret, RenegotiationInfo,
                                      SupportedVersionsClientHello)
from workbench.tls.handshake12 import (DOWNGRADE_TLS11, DOWNGRADE_TLS12, SCSV_FALLBACK, check_downgrade_sentinel,
                                       server_random12)
from workbench.tls.messages import ClientHello, ServerHello

from .pair import drain, make_client_config, make_server_config, pump, replace_extension, rewrite_messages
from .tls12_pairs import BOTH, TLS12, TLS13, of_type, sent_messages

AD = AlertDescription


def handshake(client_versions, server_versions):
    client = Connection(make_client_config(versions=client_versions))
    server = Connection(make_server_config(versions=server_versions))
    client.start_handshake()
    pump(client, server)
    return client, server


@pytest.mark.parametrize("client_versions,server_versions,expected", [
    (BOTH, BOTH, TLS13),
    (BOTH, (TLS13,), TLS13),
    (BOTH, (TLS12,), TLS12),
    ((TLS13,), BOTH, TLS13),
    ((TLS12,), BOTH, TLS12),
    ((TLS12,), (TLS12,), TLS12),
])
def test_the_version_each_pair_gets(client_versions, server_versions, expected):
    client, server = handshake(client_versions, server_versions)
    assert client.handshake_complete and server.handshake_complete
    assert client.version == server.version == expected
    client.send(b"data")
    pump(client, server)
    assert not client.closed and not server.closed


def test_a_client_offering_both_sends_one_hello_for_both():
    client, _ = handshake(BOTH, (TLS12,))
    hello = sent_messages(drain(client), ClientHello)[0]
    assert hello.get_extension(SupportedVersionsClientHello).versions == (TLS13, TLS12)
    assert set(hello.cipher_suites) == set(DEFAULT_CIPHER_SUITES + DEFAULT_CIPHER_SUITES_12)
    for ext in (ECPointFormats, ExtendedMasterSecret, RenegotiationInfo):
        assert hello.get_extension(ext) is not None


def test_a_tls13_only_client_hello_is_unchanged():
    client, _ = handshake((TLS13,), (TLS13,))
    hello = sent_messages(drain(client), ClientHello)[0]
    assert hello.get_extension(SupportedVersionsClientHello).versions == (TLS13,)
    assert hello.cipher_suites == DEFAULT_CIPHER_SUITES
    assert hello.get_extension(ExtendedMasterSecret) is None and hello.get_extension(ECPointFormats) is None


@pytest.mark.parametrize("client_versions,server_versions", [((TLS12,), (TLS13,)), ((TLS13,), (TLS12,))])
def test_no_version_in_common_is_protocol_version(client_versions, server_versions):
    client = Connection(make_client_config(versions=client_versions))
    server = Connection(make_server_config(versions=server_versions))
    client.start_handshake()
    with pytest.raises(errors.ProtocolVersionError) as info:
        pump(client, server)
    assert info.value.alert == AD.protocol_version


def test_a_downgraded_connection_is_detected_by_the_sentinel():
    """Someone strips supported_versions on the way: the 1.3 server answers in 1.2 and says so in its random."""
    client = Connection(make_client_config(versions=BOTH))
    server = Connection(make_server_config(versions=BOTH))
    rewrite_messages(client, lambda m: dataclasses.replace(
        m, extensions=replace_extension(m.extensions, SupportedVersionsClientHello))
        if isinstance(m, ClientHello) else None)
    client.start_handshake()
    with pytest.raises(errors.IllegalParameter) as info:
        pump(client, server)
    assert "downgrade sentinel" in str(info.value) and info.value.alert == AD.illegal_parameter
    assert sent_messages(drain(server), ServerHello)[0].random.endswith(DOWNGRADE_TLS12)


def test_the_sentinel_helpers():
    assert server_random12(bytes(32), True).endswith(DOWNGRADE_TLS12)
    assert server_random12(bytes(range(32)), False) == bytes(range(32))
    for tail in (DOWNGRADE_TLS12, DOWNGRADE_TLS11):
        with pytest.raises(errors.IllegalParameter):
            check_downgrade_sentinel(bytes(24) + tail)
    check_downgrade_sentinel(bytes(24) + b"DOWNGRD\x02")


def test_a_fallback_to_tls12_against_a_tls13_server_is_refused():
    client = Connection(make_client_config(versions=(TLS12,)))
    server = Connection(make_server_config(versions=BOTH))
    rewrite_messages(client, lambda m: dataclasses.replace(m, cipher_suites=m.cipher_suites + (SCSV_FALLBACK,))
                     if isinstance(m, ClientHello) else None)
    client.start_handshake()
    with pytest.raises(errors.ProtocolError) as info:
        pump(client, server)
    assert info.value.alert == AD.inappropriate_fallback


def test_fallback_scsv_is_fine_for_a_tls12_only_server():
    client = Connection(make_client_config(versions=(TLS12,)))
    server = Connection(make_server_config(versions=(TLS12,)))
    rewrite_messages(client, lambda m: dataclasses.replace(m, cipher_suites=m.cipher_suites + (SCSV_FALLBACK,))
                     if isinstance(m, ClientHello) else None)
    client.start_handshake()
    pump(client, server)
    assert server.version == TLS12


def test_a_tls13_server_hello_with_a_tls12_suite_is_illegal_parameter():
    client = Connection(make_client_config(versions=BOTH))
    server = Connection(make_server_config(versions=BOTH))
    rewrite_messages(server, lambda m: dataclasses.replace(m, cipher_suite=0xC02B) if isinstance(m, ServerHello)
                     else None)
    client.start_handshake()
    with pytest.raises(errors.IllegalParameter):
        pump(client, server)


def test_a_tls13_server_never_picks_a_tls12_suite_for_tls13():
    client = Connection(make_client_config(versions=BOTH, cipher_suites=(0xC02B, 0x1302)))
    server = Connection(make_server_config(versions=BOTH, cipher_suites=(0xC02B, 0x1301, 0x1302)))
    client.start_handshake()
    pump(client, server)
    assert client.version == TLS13 and client.cipher_suite == 0x1302


def test_events_carry_the_version():
    client, server = handshake(BOTH, (TLS12,))
    complete = of_type(drain(client), events.HandshakeComplete)[0]
    assert complete.version == TLS12 and complete.to_dict()["version"] == "TLS12"


# --- configuration --------------------------------------------------------------------------------

def test_default_versions_and_suites():
    assert make_client_config().versions == (TLS13,)
    assert make_client_config(versions=(TLS12,)).cipher_suites == DEFAULT_CIPHER_SUITES_12
    assert make_server_config(versions=(TLS12, TLS13)).versions == (TLS13, TLS12)        # highest first
    assert make_client_config(versions=BOTH).cipher_suites == DEFAULT_CIPHER_SUITES + DEFAULT_CIPHER_SUITES_12


@pytest.mark.parametrize("overrides,message", [
    (dict(versions=()), "must not be empty"),
    (dict(versions=(0x0302,)), "not a version"),
    (dict(versions=(TLS13,), cipher_suites=(0x1301, 0xC02B)), "TLS 1.2 suite"),
    (dict(versions=(TLS12,), cipher_suites=(0x1301,)), "TLS 1.3 suite"),
    (dict(versions=BOTH, cipher_suites=(0x1301,)), "lists no TLS 1.2 suite"),
    (dict(allow_renegotiation="yes"), "True or False"),
])
def test_configuration_mistakes(overrides, message):
    with pytest.raises(errors.UsageError, match=message):
        make_client_config(**overrides)


@pytest.mark.parametrize("limit", [(1,), (-1, 5.0), (1, 0), ("1", 5.0)])
def test_server_renegotiation_limit_mistakes(limit):
    with pytest.raises(errors.UsageError, match="client_renegotiation_limit"):
        make_server_config(client_renegotiation_limit=limit)
