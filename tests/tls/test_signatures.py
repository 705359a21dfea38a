"""Signatures: the RFC 8448 CertificateVerify signatures, real TLS 1.2 ServerKeyExchange signatures,
and the TLS 1.3 / 1.2 rules on which scheme fits which key."""
from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.tls.capture_records import CAPTURES, first_certificate_of, split_handshake, split_records, tcp_streams
from tests.tls.rfc8448_vectors import load_trace
from workbench.tls.enums import SignatureScheme as S
from workbench.tls.errors import DecryptError, IllegalParameter
from workbench.tls.signatures import (
    TLS13_SIGNATURE_SCHEMES, certificate_verify_content, schemes_for_key, schemes_for_key12, sign, verify,
)


@pytest.fixture(scope="module")
def trace():
    return load_trace()


@pytest.fixture(scope="module")
def rfc8448_private_key(trace):
    f = trace.private_key_field
    public = rsa.RSAPublicNumbers(f("public exponent"), f("modulus"))
    return rsa.RSAPrivateNumbers(p=f("prime1"), q=f("prime2"), d=f("private exponent"), dmp1=f("exponent1"),
                                 dmq1=f("exponent2"), iqmp=f("coefficient"), public_numbers=public).private_key()


def transcript_hash(messages) -> bytes:
    h = hashes.Hash(hashes.SHA256())
    for m in messages:
        h.update(m)
    return h.finalize()


def certificate_verify_parts(message: bytes) -> tuple[int, bytes]:
    scheme = int.from_bytes(message[4:6], "big")
    length = int.from_bytes(message[6:8], "big")
    assert len(message) == 8 + length
    return scheme, message[8:]


# --- RFC 8448 ---------------------------------------------------------------------------------

def test_rfc8448_server_certificate_verify(trace):
    messages = trace.handshake_messages(3)
    raw = [m for _, _, m in messages]
    names = [n for _, n, _ in messages]
    before_cv = raw[:names.index("CertificateVerify")]
    scheme, signature = certificate_verify_parts(raw[names.index("CertificateVerify")])
    assert scheme == S.RSA_PSS_RSAE_SHA256
    # The public key is the modulus of section 2, the one in the server's certificate.
    public = rsa.RSAPublicNumbers(65537, trace.private_key_field("modulus")).public_key()
    assert first_certificate_of(raw[names.index("Certificate")]).public_key() == public
    content = certificate_verify_content(transcript_hash(before_cv), server=True)
    verify(public, scheme, signature, content)
    with pytest.raises(DecryptError):
        verify(public, scheme, signature, certificate_verify_content(transcript_hash(before_cv), server=False))
    with pytest.raises(DecryptError):
        verify(public, scheme, bytes([signature[0] ^ 1]) + signature[1:], content)
    with pytest.raises(IllegalParameter):
        verify(public, S.ECDSA_SECP256R1_SHA256, signature, content)


def test_rfc8448_client_certificate_verify(trace):
    messages = trace.handshake_messages(6)
    client_cv = next(i for i, (actor, name, _) in enumerate(messages)
                     if (actor, name) == ("client", "CertificateVerify"))
    client_certificate = [m for actor, name, m in messages if (actor, name) == ("client", "Certificate")][0]
    scheme, signature = certificate_verify_parts(messages[client_cv][2])
    content = certificate_verify_content(transcript_hash(m for _, _, m in messages[:client_cv]), server=False)
    verify(first_certificate_of(client_certificate).public_key(), scheme, signature, content)


def test_rsa_pss_sign_and_verify_with_the_rfc8448_key(rfc8448_private_key):
    key = rfc8448_private_key
    # A 1024-bit key is too small for PSS with SHA-512 and a 64-byte salt.
    assert schemes_for_key(key) == (S.RSA_PSS_RSAE_SHA256, S.RSA_PSS_RSAE_SHA384)
    for scheme in schemes_for_key(key):
        signature = sign(key, scheme, b"content")
        verify(key.public_key(), scheme, signature, b"content")
        with pytest.raises(DecryptError):
            verify(key.public_key(), scheme, signature, b"other content")


def test_certificate_verify_content_layout():
    content = certificate_verify_content(b"\xaa" * 32, server=True)
    assert content == b"\x20" * 64 + b"TLS 1.3, server CertificateVerify\x00" + b"\xaa" * 32
    assert certificate_verify_content(b"", server=False)[64:] == b"TLS 1.3, client CertificateVerify\x00"


# --- scheme rules ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def keys():
    return {"p256": ec.generate_private_key(ec.SECP256R1()), "p384": ec.generate_private_key(ec.SECP384R1()),
            "ed25519": ed25519.Ed25519PrivateKey.generate(),
            "rsa2048": rsa.generate_private_key(public_exponent=65537, key_size=2048)}


def test_schemes_for_key(keys):
    assert schemes_for_key(keys["p256"]) == (S.ECDSA_SECP256R1_SHA256,)
    assert schemes_for_key(keys["p384"].public_key()) == (S.ECDSA_SECP384R1_SHA384,)
    assert schemes_for_key(keys["ed25519"]) == (S.ED25519,)
    assert schemes_for_key(keys["rsa2048"]) == (S.RSA_PSS_RSAE_SHA256, S.RSA_PSS_RSAE_SHA384, S.RSA_PSS_RSAE_SHA512)
    assert schemes_for_key12(keys["p384"]) == (S.ECDSA_SECP384R1_SHA384, S.ECDSA_SECP256R1_SHA256,
                                               S.ECDSA_SECP521R1_SHA512)
    assert schemes_for_key12(keys["rsa2048"])[3:] == (S.RSA_PKCS1_SHA256, S.RSA_PKCS1_SHA384, S.RSA_PKCS1_SHA512)
    assert set(TLS13_SIGNATURE_SCHEMES) >= {S.ECDSA_SECP256R1_SHA256, S.ED25519, S.RSA_PSS_RSAE_SHA256}


@pytest.mark.parametrize("name", ["p256", "p384", "ed25519", "rsa2048"])
def test_every_tls13_scheme_of_a_key_signs_and_verifies(keys, name):
    key = keys[name]
    for scheme in schemes_for_key(key):
        signature = sign(key, scheme, b"transcript")
        verify(key.public_key(), scheme, signature, b"transcript")
        with pytest.raises(DecryptError):
            verify(key.public_key(), scheme, signature, b"transcripT")


def test_ecdsa_signatures_are_deterministic(keys):
    first = sign(keys["p256"], S.ECDSA_SECP256R1_SHA256, b"data")
    assert sign(keys["p256"], S.ECDSA_SECP256R1_SHA256, b"data") == first
    assert sign(keys["p256"], S.ECDSA_SECP256R1_SHA256, b"datA") != first


def test_tls13_binds_ecdsa_curve_and_forbids_pkcs1_tls12_does_not(keys):
    with pytest.raises(IllegalParameter):
        sign(keys["p384"], S.ECDSA_SECP256R1_SHA256, b"x")
    signature = sign(keys["p384"], S.ECDSA_SECP256R1_SHA256, b"x", tls13=False)
    verify(keys["p384"].public_key(), S.ECDSA_SECP256R1_SHA256, signature, b"x", tls13=False)
    with pytest.raises(IllegalParameter):
        verify(keys["p384"].public_key(), S.ECDSA_SECP256R1_SHA256, signature, b"x")
    with pytest.raises(IllegalParameter):
        sign(keys["rsa2048"], S.RSA_PKCS1_SHA256, b"x")
    signature = sign(keys["rsa2048"], S.RSA_PKCS1_SHA256, b"x", tls13=False)
    verify(keys["rsa2048"].public_key(), S.RSA_PKCS1_SHA256, signature, b"x", tls13=False)


@pytest.mark.parametrize("name,scheme", [("p256", S.RSA_PSS_RSAE_SHA256), ("rsa2048", S.ECDSA_SECP256R1_SHA256),
                                         ("rsa2048", S.ED25519), ("ed25519", S.ECDSA_SECP256R1_SHA256),
                                         ("p256", 0x0A0A)])
def test_scheme_that_does_not_fit_the_key_is_illegal_parameter(keys, name, scheme):
    with pytest.raises(IllegalParameter):
        sign(keys[name], scheme, b"x")
    with pytest.raises(IllegalParameter):
        verify(keys[name].public_key(), scheme, b"\x00" * 64, b"x")


def test_garbage_signature_is_decrypt_error(keys):
    for name in ("p256", "ed25519", "rsa2048"):
        scheme = schemes_for_key(keys[name])[0]
        with pytest.raises(DecryptError):
            verify(keys[name].public_key(), scheme, b"\x30\x02\x00", b"x")


def test_remembered_decisions_never_cross_curves_versions_or_key_types(keys):
    # Warm the cache with accepted combinations, then ask for refused ones: still refused.
    sign(keys["p256"], S.ECDSA_SECP256R1_SHA256, b"x")
    sign(keys["p384"], S.ECDSA_SECP256R1_SHA256, b"x", tls13=False)
    for _ in range(2):
        with pytest.raises(IllegalParameter):
            sign(keys["p384"], S.ECDSA_SECP256R1_SHA256, b"x")
        with pytest.raises(IllegalParameter):
            sign(keys["rsa2048"], S.ECDSA_SECP256R1_SHA256, b"x")
        with pytest.raises(IllegalParameter):
            verify(keys["ed25519"].public_key(), S.ECDSA_SECP256R1_SHA256, b"\x00" * 64, b"x")


def test_verify_accepts_a_private_key_for_its_public_half(keys):
    signature = sign(keys["p256"], S.ECDSA_SECP256R1_SHA256, b"x")
    verify(keys["p256"], S.ECDSA_SECP256R1_SHA256, signature, b"x")
    with pytest.raises(DecryptError):
        verify(keys["p256"], S.ECDSA_SECP256R1_SHA256, signature, b"y")


def test_an_object_that_is_no_key_fits_no_scheme():
    with pytest.raises(IllegalParameter):
        verify(object(), S.ECDSA_SECP256R1_SHA256, b"\x00" * 64, b"x")


# --- real TLS 1.2 ServerKeyExchange signatures (OpenSSL servers) ------------------------------

@pytest.mark.parametrize("capture,port", [
    ("hotplace/tls12_tls12_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.pcapng", 9000),   # ECDSA
    ("scapy/tls_nss_example.pcap", 443),                                             # RSA
])
def test_tls12_server_key_exchange_signature(capture, port):
    streams = tcp_streams(CAPTURES / capture)
    client_port = next(src for (src, dst) in streams if dst == port)
    client_hello = split_records(streams[client_port, port])[0].fragment
    server_records = split_records(streams[port, client_port])
    first_flight = server_records[:[r.content_type for r in server_records].index(20)]     # up to the CCS
    by_type = {m[0]: m for m in split_handshake(b"".join(r.fragment for r in first_flight))}
    server_hello, certificate, key_exchange = by_type[2], by_type[11], by_type[12]
    # Certificate12: header(4) list<3> { cert<3> }
    leaf = x509.load_der_x509_certificate(certificate[10:10 + int.from_bytes(certificate[7:10], "big")])
    body = key_exchange[4:]
    params_length = 4 + body[3]                          # curve_type(1) group(2) public<1>
    params = body[:params_length]
    scheme = int.from_bytes(body[params_length:params_length + 2], "big")
    signature = body[params_length + 4:]
    assert len(signature) == int.from_bytes(body[params_length + 2:params_length + 4], "big")
    signed = client_hello[6:38] + server_hello[6:38] + params
    verify(leaf.public_key(), scheme, signature, signed, tls13=False)
    with pytest.raises(DecryptError):
        verify(leaf.public_key(), scheme, signature, signed[::-1], tls13=False)
