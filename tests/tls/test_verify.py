"""Certificate chain verification: a CA and leaves made here (ECDSA P-256), each failure's alert."""
from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from workbench.tls.enums import AlertDescription
from workbench.tls.errors import BadCertificate, ProtocolError, UsageError
from workbench.tls import verify as verify_module
from workbench.tls.verify import verify_certificate_chain

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                         encipher_only=False, decipher_only=False)


def make_ca(common_name: str, issuer=None, not_before=NOW - 30 * DAY, not_after=NOW + 365 * DAY):
    """A self-signed root, or an intermediate when issuer=(key, certificate) is given."""
    key = ec.generate_private_key(ec.SECP256R1())
    signer_key, signer_cert = issuer if issuer else (key, None)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(common_name))
               .issuer_name(signer_cert.subject if signer_cert else _name(common_name))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=True, path_length=None if not issuer else 0), critical=True)
               .add_extension(_ca_key_usage(), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), critical=False)
    return key, builder.sign(signer_key, hashes.SHA256())


def make_leaf(issuer, names=("server.test",), ips=(), not_before=NOW - DAY, not_after=NOW + 90 * DAY,
              usage=ExtendedKeyUsageOID.SERVER_AUTH):
    issuer_key, issuer_cert = issuer
    key = ec.generate_private_key(ec.SECP256R1())
    san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    cert = (x509.CertificateBuilder()
            .subject_name(_name(names[0] if names else "leaf")).issuer_name(issuer_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256()))
    return key, cert


def der(*certificates) -> list[bytes]:
    return [c.public_bytes(Encoding.DER) for c in certificates]


@pytest.fixture(scope="module")
def ca():
    return make_ca("Workbench Test Root")


@pytest.fixture(scope="module")
def leaf(ca):
    return make_leaf(ca, names=("server.test", "*.wild.test"), ips=("127.0.0.1", "::1"))


def check(chain, ca, server_name, now=NOW, **kwargs):
    return verify_certificate_chain(chain, trust_anchors=[ca[1]], server_name=server_name, now=now, **kwargs)


def alert_of(call) -> AlertDescription:
    return alert_error(call).alert


def alert_error(call) -> ProtocolError:
    with pytest.raises(ProtocolError) as error:
        call()
    return error.value


def test_good_chain_returns_the_leaf(ca, leaf):
    assert check(der(leaf[1]), ca, "server.test") == leaf[1]


def test_wildcard_name(ca, leaf):
    assert check(der(leaf[1]), ca, "any.wild.test") == leaf[1]


def test_ip_address_san(ca, leaf):
    assert check(der(leaf[1]), ca, "127.0.0.1") == leaf[1]
    assert check(der(leaf[1]), ca, "::1") == leaf[1]
    assert alert_of(lambda: check(der(leaf[1]), ca, "127.0.0.2")) == AlertDescription.bad_certificate


def test_wrong_host_is_bad_certificate_and_says_for_whom(ca, leaf):
    with pytest.raises(ProtocolError) as error:
        check(der(leaf[1]), ca, "other.test")
    assert error.value.alert == AlertDescription.bad_certificate
    assert "certificate is for server.test, *.wild.test, 127.0.0.1, ::1, not other.test" in str(error.value)


def test_unknown_ca(ca, leaf):
    stranger = make_ca("Somebody Else")
    assert alert_of(lambda: check(der(leaf[1]), stranger, "server.test")) == AlertDescription.unknown_ca


def test_self_signed_leaf_is_unknown_ca(ca):
    own = make_ca("server.test")
    _, cert = make_leaf(own)
    assert alert_of(lambda: check(der(cert), ca, "server.test")) == AlertDescription.unknown_ca


@pytest.mark.parametrize("now", [NOW + 91 * DAY, NOW - 2 * DAY])
def test_expired_or_not_yet_valid_leaf_is_certificate_expired(ca, leaf, now):
    assert alert_of(lambda: check(der(leaf[1]), ca, "server.test", now=now)) == AlertDescription.certificate_expired


def test_expired_intermediate_is_certificate_expired(ca):
    intermediate = make_ca("Expired Intermediate", issuer=ca, not_before=NOW - 30 * DAY, not_after=NOW - DAY)
    _, cert = make_leaf(intermediate)
    alert = alert_of(lambda: check(der(cert, intermediate[1]), ca, "server.test"))
    assert alert == AlertDescription.certificate_expired


def test_chain_through_an_intermediate(ca):
    intermediate = make_ca("Intermediate", issuer=ca)
    _, cert = make_leaf(intermediate)
    assert check(der(cert, intermediate[1]), ca, "server.test") == cert
    # Without the intermediate the path cannot be built.
    assert alert_of(lambda: check(der(cert), ca, "server.test")) == AlertDescription.unknown_ca


def test_garbage_der_is_bad_certificate(ca, leaf):
    with pytest.raises(BadCertificate):
        check([b"\x30\x03\x02\x01\x00"], ca, "server.test")
    with pytest.raises(BadCertificate):
        check(der(leaf[1]) + [b"not a certificate"], ca, "server.test")
    with pytest.raises(BadCertificate):
        check([], ca, "server.test")


def test_no_server_name_checks_everything_but_the_name(ca, leaf):
    assert check(der(leaf[1]), ca, None) == leaf[1]
    stranger = make_ca("Somebody Else")
    assert alert_of(lambda: check(der(leaf[1]), stranger, None)) == AlertDescription.unknown_ca


def test_client_certificate(ca, leaf):
    _, client_cert = make_leaf(ca, names=("client.test",), usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    assert check(der(client_cert), ca, None, for_server=False) == client_cert
    # A certificate made for servers only is not a client certificate.
    with pytest.raises(BadCertificate):
        check(der(leaf[1]), ca, None, for_server=False)
    # ... and the other way round.
    with pytest.raises(BadCertificate):
        check(der(client_cert), ca, "client.test")


def test_no_trust_anchors_is_a_usage_error(leaf):
    with pytest.raises(UsageError):
        verify_certificate_chain(der(leaf[1]), trust_anchors=[], server_name="server.test", now=NOW)


def test_naive_time_is_taken_as_utc(ca, leaf):
    assert check(der(leaf[1]), ca, "server.test", now=NOW.replace(tzinfo=None)) == leaf[1]


# --- what is reused across connections, and what is not --------------------------------------

def test_a_certificate_is_parsed_once_per_encoding(leaf):
    encoded = der(leaf[1])[0]
    first = verify_module.parse_certificate(encoded)
    assert verify_module.parse_certificate(bytes(bytearray(encoded))) is first       # equal bytes, same object
    assert verify_module.parse_certificate(memoryview(encoded)) is first
    assert first == leaf[1]
    with pytest.raises(ValueError):
        verify_module.parse_certificate(b"\x30\x03\x02\x01\x00")
    assert b"\x30\x03\x02\x01\x00" not in verify_module._PARSED                        # failures are not kept


def test_the_store_is_reused_for_the_same_anchor_tuple_only(ca, leaf):
    anchors = (ca[1],)
    store = verify_module._store_for(anchors)
    assert verify_module._store_for(anchors) is store
    assert verify_module._store_for((ca[1],)) is not store              # another tuple: its own Store
    assert verify_module._store_for([ca[1]]) is not verify_module._store_for([ca[1]])   # lists may change


def test_every_verification_is_still_made_in_full(ca, leaf):
    anchors = (ca[1],)
    ok = lambda **kw: verify_certificate_chain(der(leaf[1]), trust_anchors=anchors,  # noqa: E731
                                               server_name=kw.get("name", "server.test"), now=kw.get("now", NOW))
    assert ok() == leaf[1]
    # The same leaf, the same anchors (all cached now), other checks failing: each is still made.
    assert alert_of(lambda: ok(name="other.test")) == AlertDescription.bad_certificate
    assert alert_of(lambda: ok(now=NOW + 91 * DAY)) == AlertDescription.certificate_expired
    stranger = make_ca("Somebody Else")
    assert alert_of(lambda: verify_certificate_chain(der(leaf[1]), trust_anchors=(stranger[1],),
                                                     server_name="server.test", now=NOW)) == AlertDescription.unknown_ca
    assert ok() == leaf[1]


def test_the_policy_builder_is_kept_with_its_store(ca, leaf):
    anchors = (ca[1],)
    assert verify_module._builder_for(anchors) is verify_module._builder_for(anchors)
    assert verify_module._builder_for([ca[1]]) is not verify_module._builder_for([ca[1]])
    # Each verification sets its own time on the kept builder: an earlier one does not stick.
    assert verify_certificate_chain(der(leaf[1]), trust_anchors=anchors, server_name="server.test", now=NOW) == leaf[1]
    assert alert_of(lambda: verify_certificate_chain(der(leaf[1]), trust_anchors=anchors, server_name="server.test",
                                                     now=NOW + 91 * DAY)) == AlertDescription.certificate_expired
    assert verify_certificate_chain(der(leaf[1]), trust_anchors=anchors, server_name="server.test", now=NOW) == leaf[1]


def test_subjects_are_kept_per_name_and_bad_names_never(ca, leaf):
    assert verify_module._subject_for("server.test") is verify_module._subject_for("server.test")
    assert isinstance(verify_module._subject_for("127.0.0.1"), verify_module.IPAddress)
    with pytest.raises(UsageError):
        verify_module._subject_for("b\u00fccher.test")
    assert "b\u00fccher.test" not in verify_module._SUBJECTS
    with pytest.raises(UsageError):
        check(der(leaf[1]), ca, "b\u00fccher.test")


def test_validity_dates_are_read_once_per_certificate_and_still_checked(ca):
    _, early = make_leaf(ca, not_before=NOW + DAY, not_after=NOW + 10 * DAY)
    leaf_der = der(early)
    for _ in range(2):                   # the second time from the kept dates
        error = alert_error(lambda: check(leaf_der, ca, "server.test"))
        assert error.alert == AlertDescription.certificate_expired and "not valid before" in str(error)
    parsed = verify_module.parse_certificate(leaf_der[0])
    assert verify_module._validity(parsed) == (early.not_valid_before_utc, early.not_valid_after_utc)
    assert check(leaf_der, ca, "server.test", now=NOW + 2 * DAY) == early


def test_the_caches_are_bounded(monkeypatch):
    monkeypatch.setattr(verify_module, "_CACHE_LIMIT", 3)
    cache: dict = {}
    for i in range(10):
        verify_module._remember(cache, i, str(i))
    assert list(cache) == [7, 8, 9]



def test_a_certificate_damaged_in_a_lazily_parsed_name_is_a_bad_certificate(ca, leaf):
    """cryptography loads a certificate whose issuer name is damaged and fails only when the name is
    first read (here: while explaining why the chain is not trusted). The peer still gets
    bad_certificate, never an internal error."""
    encoded = bytearray(der(leaf[1])[0])
    issuer_cn = b"Workbench Test Root"
    at = encoded.index(issuer_cn)                     # the first occurrence is in the issuer name
    assert encoded[at - 2] in (0x0C, 0x13)            # UTF8String / PrintableString tag
    encoded[at - 2] = 0x0E                            # a tag no name attribute may have
    with pytest.raises(BadCertificate) as error:
        check([bytes(encoded)], ca, "server.test")
    assert error.value.alert == AlertDescription.bad_certificate
    assert "cannot be parsed" in str(error.value)
