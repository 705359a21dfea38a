"""Key shares: the RFC 8448 X25519 and P-256 exchanges, round trips, and invalid peer shares."""
from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.tls.rfc8448_vectors import load_trace
from workbench.tls.enums import NamedGroup
from workbench.tls.errors import IllegalParameter, UsageError
from workbench.tls.key_exchange import _NIST_CURVES, SUPPORTED_GROUPS, KeyShare


@pytest.fixture(scope="module")
def trace():
    return load_trace()


@pytest.mark.parametrize("section,group,curve_name", [(3, NamedGroup.X25519, "x25519"),
                                                      (4, NamedGroup.X25519, "x25519"),
                                                      (5, NamedGroup.SECP256R1, "P-256")])
def test_trace_shared_secret_from_private_keys(trace, section, group, curve_name):
    title = f"create an ephemeral {curve_name} key pair"
    client = KeyShare.from_private_bytes(group, trace.value(section, "client", title, "private key"))
    server = KeyShare.from_private_bytes(group, trace.value(section, "server", title, "private key"))
    assert client.public_bytes == trace.value(section, "client", title, "public key")
    assert server.public_bytes == trace.value(section, "server", title, "public key")
    shared = trace.value(section, "server", 'extract secret "handshake"', "IKM")
    assert client.exchange(server.public_bytes) == shared
    assert server.exchange(client.public_bytes) == shared


@pytest.mark.parametrize("group", SUPPORTED_GROUPS)
def test_generated_shares_agree(group):
    a, b = KeyShare.generate(group, os.urandom), KeyShare.generate(group, os.urandom)
    assert a.group == group
    assert a.exchange(b.public_bytes) == b.exchange(a.public_bytes)
    assert len(a.public_bytes) == {NamedGroup.X25519: 32, NamedGroup.SECP256R1: 65, NamedGroup.SECP384R1: 97}[group]


@pytest.mark.parametrize("group", SUPPORTED_GROUPS)
def test_generation_is_reproducible_from_the_random_source(group):
    counter = iter(range(1000))
    first = KeyShare.generate(group, lambda n: bytes(next(counter) % 256 for _ in range(n)))
    counter = iter(range(1000))
    second = KeyShare.generate(group, lambda n: bytes(next(counter) % 256 for _ in range(n)))
    assert first.public_bytes == second.public_bytes


def test_nist_private_key_is_never_zero():
    share = KeyShare.generate(NamedGroup.SECP256R1, lambda n: bytes(n))     # an all-zero random source
    expected = ec.derive_private_key(1, ec.SECP256R1()).public_key()
    assert share.public_bytes == expected.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def test_unsupported_group_is_a_usage_error():
    with pytest.raises(UsageError):
        KeyShare.generate(NamedGroup.X448, os.urandom)


def invalid_shares():
    p256 = KeyShare.generate(NamedGroup.SECP256R1, os.urandom).public_bytes
    p384 = KeyShare.generate(NamedGroup.SECP384R1, os.urandom).public_bytes
    off_curve = bytearray(p256)
    off_curve[-1] ^= 1
    return [
        (NamedGroup.X25519, bytes(31), "wrong length"),
        (NamedGroup.X25519, bytes(33), "wrong length"),
        (NamedGroup.X25519, bytes(32), "low order: zero"),
        (NamedGroup.X25519, b"\x01" + bytes(31), "low order: one"),
        (NamedGroup.SECP256R1, bytes(off_curve), "not on the curve"),
        (NamedGroup.SECP256R1, b"\x04" + bytes(64), "not on the curve"),
        (NamedGroup.SECP256R1, bytes((2 + (p256[-1] & 1),)) + p256[1:33], "compressed"),
        (NamedGroup.SECP256R1, p256[:-1], "wrong length"),
        (NamedGroup.SECP256R1, p384, "other curve"),
        (NamedGroup.SECP384R1, p256, "other curve"),
        (NamedGroup.SECP384R1, b"\x04" + bytes(96), "not on the curve"),
    ]


@pytest.mark.parametrize("group,peer,why", invalid_shares())
def test_invalid_peer_shares_are_illegal_parameter(group, peer, why):
    share = KeyShare.generate(group, os.urandom)
    with pytest.raises(IllegalParameter) as error:
        share.exchange(peer)
    assert error.value.alert == 47


@pytest.mark.parametrize("group", [NamedGroup.SECP256R1, NamedGroup.SECP384R1])
def test_group_order_constants(group):
    # (order - 1) * G = -G: same x, other y; order * G is the point at infinity.
    curve, _, order = _NIST_CURVES[group]
    g = ec.derive_private_key(1, curve()).public_key().public_numbers()
    minus_g = ec.derive_private_key(order - 1, curve()).public_key().public_numbers()
    assert minus_g.x == g.x and minus_g.y != g.y
    with pytest.raises(ValueError):
        ec.derive_private_key(order, curve())
    # The largest random value still maps into [1, order - 1].
    KeyShare.generate(group, lambda n: b"\xff" * n)
