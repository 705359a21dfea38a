import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from workbench.pki.keys import generate_private_key, key_type_of, signature_hash


@pytest.mark.parametrize(
    "key_type, check",
    [
        ("ecdsa-p256", lambda k: isinstance(k, ec.EllipticCurvePrivateKey) and k.curve.name == "secp256r1"),
        ("ecdsa-p384", lambda k: isinstance(k, ec.EllipticCurvePrivateKey) and k.curve.name == "secp384r1"),
        ("rsa-2048", lambda k: isinstance(k, rsa.RSAPrivateKey) and k.key_size == 2048),
        ("rsa-3072", lambda k: isinstance(k, rsa.RSAPrivateKey) and k.key_size == 3072),
        ("ed25519", lambda k: isinstance(k, ed25519.Ed25519PrivateKey)),
    ],
)
def test_each_key_type_makes_the_named_key(key_type, check):
    key = generate_private_key(key_type)
    assert check(key)
    assert key_type_of(key) == key_type
    assert key_type_of(key.public_key()) == key_type


def test_keys_are_fresh_each_time():
    a, b = generate_private_key("ecdsa-p256"), generate_private_key("ecdsa-p256")
    assert a.private_numbers() != b.private_numbers()


def test_an_unknown_key_type_names_the_known_ones():
    with pytest.raises(ValueError, match="ecdsa-p256.*ed25519"):
        generate_private_key("dsa-1024")


def test_keys_of_other_sizes_are_not_claimed():
    with pytest.raises(ValueError, match="4096"):
        key_type_of(rsa.generate_private_key(public_exponent=65537, key_size=4096))
    with pytest.raises(ValueError, match="secp521r1"):
        key_type_of(ec.generate_private_key(ec.SECP521R1()))


@pytest.mark.parametrize(
    "key_type, expected",
    [("ecdsa-p256", hashes.SHA256), ("ecdsa-p384", hashes.SHA384), ("rsa-2048", hashes.SHA256),
     ("rsa-3072", hashes.SHA256), ("ed25519", None)],
)
def test_signature_hash_matches_the_key(key_type, expected):
    chosen = signature_hash(generate_private_key(key_type))
    assert chosen is None if expected is None else isinstance(chosen, expected)
