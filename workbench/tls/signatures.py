"""Handshake signatures: sign and verify for each SignatureScheme, and the CertificateVerify content.

TLS 1.3 (RFC 8446 4.2.3, 4.4.3) ties an ECDSA scheme to one curve and allows RSA only with PSS;
TLS 1.2 (RFC 5246 7.4.1.4.1) lets ECDSA use any curve with any hash and allows PKCS#1 v1.5.
`sign` and `verify` take `tls13=False` for the 1.2 rules.

ECDSA signatures are deterministic (RFC 6979) so that a run with fixed randomness reproduces the
same bytes. RSA-PSS uses a salt as long as the hash, as TLS requires. rsa_pss_pss_* schemes are
accepted for any RSA key: a key object does not tell whether its certificate used the RSASSA-PSS
OID, so that check belongs to whoever read the certificate.
"""
from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

from .enums import SignatureScheme as S
from .enums import name_of
from .errors import DecryptError, IllegalParameter

_ECDSA: dict[int, tuple[type, type]] = {        # scheme -> (hash, curve required in TLS 1.3)
    S.ECDSA_SECP256R1_SHA256: (hashes.SHA256, ec.SECP256R1),
    S.ECDSA_SECP384R1_SHA384: (hashes.SHA384, ec.SECP384R1),
    S.ECDSA_SECP521R1_SHA512: (hashes.SHA512, ec.SECP521R1),
    S.ECDSA_SHA1: (hashes.SHA1, None),
}
_RSA_PSS: dict[int, type] = {
    S.RSA_PSS_RSAE_SHA256: hashes.SHA256, S.RSA_PSS_RSAE_SHA384: hashes.SHA384, S.RSA_PSS_RSAE_SHA512: hashes.SHA512,
    S.RSA_PSS_PSS_SHA256: hashes.SHA256, S.RSA_PSS_PSS_SHA384: hashes.SHA384, S.RSA_PSS_PSS_SHA512: hashes.SHA512,
}
_RSA_PKCS1: dict[int, type] = {
    S.RSA_PKCS1_SHA256: hashes.SHA256, S.RSA_PKCS1_SHA384: hashes.SHA384, S.RSA_PKCS1_SHA512: hashes.SHA512,
    S.RSA_PKCS1_SHA1: hashes.SHA1,
}
_SHA1_SCHEMES = (S.RSA_PKCS1_SHA1, S.ECDSA_SHA1)

# What a client or server offers by default: the CertificateVerify schemes first, then the
# PKCS#1 v1.5 ones, which TLS 1.3 allows for signatures in certificates only.
TLS13_SIGNATURE_SCHEMES: tuple[int, ...] = (
    S.ECDSA_SECP256R1_SHA256, S.ECDSA_SECP384R1_SHA384, S.ED25519,
    S.RSA_PSS_RSAE_SHA256, S.RSA_PSS_RSAE_SHA384, S.RSA_PSS_RSAE_SHA512,
    S.RSA_PKCS1_SHA256, S.RSA_PKCS1_SHA384, S.RSA_PKCS1_SHA512,
)

# What a TLS 1.3 CertificateVerify signs before the transcript hash (RFC 8446 4.4.3): 64 spaces,
# the context string and a zero byte, made once for both roles.
_PREFIX_SERVER = b" " * 64 + b"TLS 1.3, server CertificateVerify" + b"\x00"
_PREFIX_CLIENT = b" " * 64 + b"TLS 1.3, client CertificateVerify" + b"\x00"


def certificate_verify_content(transcript_hash: bytes, server: bool) -> bytes:
    """What a TLS 1.3 CertificateVerify signs (RFC 8446 4.4.3)."""
    return (_PREFIX_SERVER if server else _PREFIX_CLIENT) + transcript_hash


def _pss(hash_cls: type) -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=hash_cls.digest_size)


def _public(key):
    return key.public_key() if hasattr(key, "public_key") else key


def _mismatch(scheme: int, key) -> IllegalParameter:
    return IllegalParameter(f"signature scheme {name_of(S, scheme)} does not fit a {_describe(key)} key")


def _describe(key) -> str:
    key = _public(key)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECDSA {key.curve.name}"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA-{key.key_size}"
    return type(key).__name__


def _family(key) -> str:
    """The family of a private or public key: "ec", "rsa", "ed25519", "ed448" or "" (remembered per class)."""
    cls = type(key)
    family = _FAMILIES.get(cls)
    if family is None:
        if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
            family = "ec"
        elif isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
            family = "rsa"
        elif isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
            family = "ed25519"
        elif isinstance(key, (ed448.Ed448PrivateKey, ed448.Ed448PublicKey)):
            family = "ed448"
        else:
            family = ""
        if isinstance(key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey, ed25519.Ed25519PublicKey,
                            ed448.Ed448PublicKey)):
            _PUBLIC_KEY_TYPES.add(cls)
        _FAMILIES[cls] = family
    return family


_FAMILIES: dict[type, str] = {}
# Classes known to be public keys: verify() checks this instead of hasattr(), which costs an
# AttributeError for every public key.
_PUBLIC_KEY_TYPES: set[type] = set()
# (scheme, tls13, key family, curve class) -> the arguments: the padding and hash objects are
# immutable, and deciding and building them anew cost more than the check of a handshake needs.
_ARGUMENTS: dict[tuple, tuple] = {}


def _arguments(key, scheme: int, tls13: bool) -> tuple:
    """The arguments after the data of cryptography's sign/verify for this key and scheme."""
    family = _family(key)
    # TLS 1.3 ties each ECDSA scheme to a curve; a private key tells its curve without deriving
    # its public key (which costs as much as a tenth of the signature).
    curve = type(key.curve) if family == "ec" else None
    cache_key = (scheme, tls13, family, curve)
    args = _ARGUMENTS.get(cache_key)
    if args is None:
        args = _ARGUMENTS[cache_key] = _decide_arguments(key, scheme, tls13, family, curve)
    return args


def _decide_arguments(key, scheme: int, tls13: bool, family: str, curve: type | None) -> tuple:
    if tls13 and (scheme in _SHA1_SCHEMES or scheme in _RSA_PKCS1):
        raise IllegalParameter(f"signature scheme {name_of(S, scheme)} is not allowed in TLS 1.3 handshakes")
    if scheme in _ECDSA:
        hash_cls, required_curve = _ECDSA[scheme]
        if family != "ec":
            raise _mismatch(scheme, key)
        if tls13 and not issubclass(curve, required_curve):
            raise _mismatch(scheme, key)
        return (ec.ECDSA(hash_cls(), deterministic_signing=True),)
    if scheme in _RSA_PSS or scheme in _RSA_PKCS1:
        if family != "rsa":
            raise _mismatch(scheme, key)
        if scheme in _RSA_PSS:
            hash_cls = _RSA_PSS[scheme]
            return (_pss(hash_cls), hash_cls())
        hash_cls = _RSA_PKCS1[scheme]
        return (padding.PKCS1v15(), hash_cls())
    if scheme == S.ED25519:
        if family != "ed25519":
            raise _mismatch(scheme, key)
        return ()
    if scheme == S.ED448:
        if family != "ed448":
            raise _mismatch(scheme, key)
        return ()
    raise IllegalParameter(f"unsupported signature scheme {name_of(S, scheme)}")


def sign(private_key, scheme: int, data: bytes, *, tls13: bool = True) -> bytes:
    """Sign `data`; IllegalParameter when the scheme does not fit the key."""
    args = _arguments(private_key, scheme, tls13)
    return private_key.sign(data, *args)


def verify(public_key, scheme: int, signature: bytes, data: bytes, *, tls13: bool = True) -> None:
    """Raises DecryptError for a bad signature, IllegalParameter when the scheme does not fit the key."""
    args = _arguments(public_key, scheme, tls13)
    if type(public_key) not in _PUBLIC_KEY_TYPES:
        public_key = _public(public_key)         # a private key: verify with its public half
    try:
        public_key.verify(signature, data, *args)
    except (InvalidSignature, ValueError):
        raise DecryptError(f"{name_of(S, scheme)} signature does not verify") from None


def _rsa_pss_fits(key_size: int, hash_cls: type) -> bool:
    # EMSA-PSS needs emLen >= hLen + sLen + 2 with sLen = hLen (RFC 8017 9.1.1).
    return (key_size - 1 + 7) // 8 >= 2 * hash_cls.digest_size + 2


def schemes_for_key(key) -> tuple[int, ...]:
    """The schemes a TLS 1.3 CertificateVerify can use with this key, best first."""
    public = _public(key)
    if isinstance(public, rsa.RSAPublicKey):
        return tuple(s for s in (S.RSA_PSS_RSAE_SHA256, S.RSA_PSS_RSAE_SHA384, S.RSA_PSS_RSAE_SHA512)
                     if _rsa_pss_fits(public.key_size, _RSA_PSS[s]))
    if isinstance(public, ec.EllipticCurvePublicKey):
        return tuple(s for s in (S.ECDSA_SECP256R1_SHA256, S.ECDSA_SECP384R1_SHA384, S.ECDSA_SECP521R1_SHA512)
                     if isinstance(public.curve, _ECDSA[s][1]))
    if isinstance(public, ed25519.Ed25519PublicKey):
        return (S.ED25519,)
    if isinstance(public, ed448.Ed448PublicKey):
        return (S.ED448,)
    return ()


def schemes_for_key12(key) -> tuple[int, ...]:
    """The schemes a TLS 1.2 ServerKeyExchange / CertificateVerify can use with this key, best first."""
    public = _public(key)
    if isinstance(public, rsa.RSAPublicKey):
        return schemes_for_key(public) + (S.RSA_PKCS1_SHA256, S.RSA_PKCS1_SHA384, S.RSA_PKCS1_SHA512)
    if isinstance(public, ec.EllipticCurvePublicKey):
        matching = schemes_for_key(public)
        return matching + tuple(s for s in (S.ECDSA_SECP256R1_SHA256, S.ECDSA_SECP384R1_SHA384,
                                            S.ECDSA_SECP521R1_SHA512) if s not in matching)
    return schemes_for_key(public)
