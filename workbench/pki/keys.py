"""Key types the test CA can make, and the signature hash each one uses.

The names are the ones a person types in a notebook ("ecdsa-p256", "rsa-2048", ...).
"""
from __future__ import annotations

import enum
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


class KeyType(enum.StrEnum):
    ECDSA_P256 = "ecdsa-p256"
    ECDSA_P384 = "ecdsa-p384"
    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"
    ED25519 = "ed25519"

    @classmethod
    def parse(cls, value: str | KeyType) -> KeyType:
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(member.value for member in cls)
            raise ValueError(f"unknown key type {value!r}; known: {known}") from None


_CURVES = {KeyType.ECDSA_P256: ec.SECP256R1, KeyType.ECDSA_P384: ec.SECP384R1}
_RSA_BITS = {KeyType.RSA_2048: 2048, KeyType.RSA_3072: 3072}


def generate_private_key(key_type: str | KeyType) -> PrivateKey:
    """A fresh private key of the given type."""
    key_type = KeyType.parse(key_type)
    if key_type in _CURVES:
        return ec.generate_private_key(_CURVES[key_type]())
    if key_type in _RSA_BITS:
        return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS[key_type])
    return ed25519.Ed25519PrivateKey.generate()


def key_type_of(key: PrivateKey | PublicKey) -> KeyType:
    """The KeyType of an existing key (private or public)."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        for key_type, curve in _CURVES.items():
            if isinstance(key.curve, curve):
                return key_type
        raise ValueError(f"unsupported curve {key.curve.name}")
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        for key_type, bits in _RSA_BITS.items():
            if key.key_size == bits:
                return key_type
        raise ValueError(f"unsupported RSA key size {key.key_size}")
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return KeyType.ED25519
    raise TypeError(f"unsupported key {type(key).__name__}")


def signature_hash(signing_key: PrivateKey) -> hashes.HashAlgorithm | None:
    """The hash to sign certificates with: matched to the curve, None for Ed25519 (it hashes itself)."""
    key_type = key_type_of(signing_key)
    if key_type is KeyType.ED25519:
        return None
    if key_type is KeyType.ECDSA_P384:
        return hashes.SHA384()
    return hashes.SHA256()
