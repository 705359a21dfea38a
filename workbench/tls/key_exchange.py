"""Ephemeral (EC)DHE key shares: X25519, secp256r1, secp384r1 (RFC 8446 4.2.8, RFC 8422).

The private key comes from the randomness the engine is handed, so a run with a fixed random
source reproduces the same shares (and a test vector's private key can be loaded directly).
"""
from __future__ import annotations

from typing import Callable

from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .enums import NamedGroup, name_of
from .errors import IllegalParameter, UsageError

SUPPORTED_GROUPS: tuple[int, ...] = (NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1)

# Curve, coordinate size in bytes, group order (SEC 2 / FIPS 186-4).
_NIST_CURVES: dict[int, tuple[type, int, int]] = {
    NamedGroup.SECP256R1: (ec.SECP256R1, 32,
                           0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551),
    NamedGroup.SECP384R1: (ec.SECP384R1, 48,
                           int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
                               "C7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16)),
}
_X25519 = int(NamedGroup.X25519)        # a plain int: comparing with an enum member costs an attribute lookup
_X25519_LENGTH = 32
_X25519_ZERO = bytes(_X25519_LENGTH)     # the shared secret of a low-order point
_GROUP_NAMES = {group: name_of(NamedGroup, group) for group in SUPPORTED_GROUPS}


def _check_group(group: int) -> None:
    if group not in SUPPORTED_GROUPS:
        raise UsageError(f"unsupported key exchange group {name_of(NamedGroup, group)}")


class KeyShare:
    """One side's ephemeral key pair for one group."""

    __slots__ = ("group", "public_bytes", "_private")

    def __init__(self, group: int, private_key):
        self.group = group
        self._private = private_key
        if group == _X25519:
            self.public_bytes = private_key.public_key().public_bytes_raw()
        else:
            self.public_bytes = private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    @classmethod
    def generate(cls, group: int, random_bytes: Callable[[int], bytes]) -> KeyShare:
        if group == _X25519:           # the common case first: one comparison, no group check
            return cls(group, x25519.X25519PrivateKey.from_private_bytes(random_bytes(_X25519_LENGTH)))
        _check_group(group)
        curve, size, order = _NIST_CURVES[group]
        # 64 extra bits make the bias of the reduction negligible (FIPS 186-4 B.4.1).
        scalar = int.from_bytes(random_bytes(size + 8), "big") % (order - 1) + 1
        return cls(group, ec.derive_private_key(scalar, curve()))

    @classmethod
    def from_private_bytes(cls, group: int, private: bytes) -> KeyShare:
        """A share from a known private key (test vectors, reproducing a trace)."""
        _check_group(group)
        if group == NamedGroup.X25519:
            return cls(group, x25519.X25519PrivateKey.from_private_bytes(private))
        curve, size, order = _NIST_CURVES[group]
        scalar = int.from_bytes(private, "big")
        if len(private) != size or not 0 < scalar < order:
            raise ValueError(f"not a {name_of(NamedGroup, group)} private key")
        return cls(group, ec.derive_private_key(scalar, curve()))

    def exchange(self, peer_public: bytes) -> bytes:
        """The shared secret with the peer's share; a malformed or invalid share is illegal_parameter."""
        if self.group == _X25519:
            if len(peer_public) != _X25519_LENGTH:
                raise IllegalParameter(f"{self._name()} key share of {len(peer_public)} bytes, expected 32")
            try:
                shared = self._private.exchange(x25519.X25519PublicKey.from_public_bytes(peer_public))
            except ValueError:
                shared = None
            # A low-order peer point gives all zeros (RFC 8446 7.4.2, RFC 7748 6.1).
            if not shared or shared == _X25519_ZERO:
                raise IllegalParameter(f"{self._name()} key share is a low-order point (all-zero shared secret)")
            return shared
        curve, size, _ = _NIST_CURVES[self.group]
        if len(peer_public) != 1 + 2 * size or peer_public[0] != 4:
            raise IllegalParameter(f"{self._name()} key share is not an uncompressed point of {1 + 2 * size} bytes")
        try:
            peer = ec.EllipticCurvePublicKey.from_encoded_point(curve(), peer_public)
            return self._private.exchange(ec.ECDH(), peer)
        except ValueError:
            raise IllegalParameter(f"{self._name()} key share is not a point on the curve") from None

    def _name(self) -> str:
        """The group's name, for the errors."""
        return _GROUP_NAMES.get(self.group) or name_of(NamedGroup, self.group)

    def __repr__(self) -> str:
        return f"KeyShare({name_of(NamedGroup, self.group)}, public={self.public_bytes.hex()})"
