"""RFC 8448 reproduced by the engine byte for byte, in both roles: section 3 (simple 1-RTT) and
section 5 (HelloRetryRequest).

Our client is fed the trace's server records and must answer with the trace's client records;
our server is fed the trace's client records and must answer with the trace's server records.
Every handshake message (sent and received), every secret of the key schedule, the key log
lines, the traffic keys and IVs, and every record are compared with the trace.

What the trace fixes and the engine draws at random is injected:
- the randoms and the ephemeral private keys, through the config's `rng` (`TraceRandom`);
- the server's RSA-PSS signature in CertificateVerify, which is randomised: the test checks that
  the trace's signature verifies over exactly the content our server asks to sign, then hands
  that signature back (`trace_signature`);
- the HelloRetryRequest cookie, which is NSS's own opaque format: the test checks that our server
  binds its cookie to the hash of the first ClientHello, then hands back the trace's cookie
  (`trace_cookie`).

The one record not reproduced: the section 3 server's NewSessionTicket, right after the client's
Finished. Its ticket is NSS's own sealed format, and session tickets are outside this
reproduction, so the comparison of that record is skipped: our server (ticket_count=1) sends one
NewSessionTicket of its own in one record, which keeps the sequence numbers of the records after
it equal to the trace's, and those (application data, close_notify) are compared byte for byte
again. The section 5 server sends no ticket (ticket_count=0): every record of it is reproduced.
"""
from __future__ import annotations

import hashlib
import hmac
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from workbench.tls import ClientConfig, Connection, ServerConfig, events, server13, signatures
from workbench.tls.cipher_suites import suite_info
from workbench.tls.enums import CipherSuite, NamedGroup, SignatureScheme
from workbench.tls.extensions import Cookie
from workbench.tls.key_schedule import traffic_keys
from workbench.tls.messages import decode_handshake

from .rfc8448_vectors import load_trace

SIMPLE, RETRY = 3, 5
SUITE = suite_info(CipherSuite.TLS_AES_128_GCM_SHA256)      # both traces
# NSS's ClientHello of the traces: its cipher suite order, groups and signature schemes.
TRACE_SUITES = (0x1301, 0x1303, 0x1302)
TRACE_GROUPS = (0x1d, 0x17, 0x18, 0x19, 0x100, 0x101, 0x102, 0x103, 0x104)
TRACE_SCHEMES = (0x0403, 0x0503, 0x0603, 0x0203, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201,
                 0x0402, 0x0502, 0x0602, 0x0202)
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

# Engine secret name -> (trace step, label). Every secret of the full handshakes' key schedules.
TRACE_SECRETS = {
    "early secret": ('extract secret "early"', "secret"),
    "handshake secret": ('extract secret "handshake"', "secret"),
    "c hs traffic": ('derive secret "tls13 c hs traffic"', "expanded"),
    "s hs traffic": ('derive secret "tls13 s hs traffic"', "expanded"),
    "master secret": ('extract secret "master"', "secret"),
    "c ap traffic": ('derive secret "tls13 c ap traffic"', "expanded"),
    "s ap traffic": ('derive secret "tls13 s ap traffic"', "expanded"),
    "exp master": ('derive secret "tls13 exp master"', "expanded"),
    "res master": ('derive secret "tls13 res master"', "expanded"),
}
BEFORE_CLIENT_FINISHED = [name for name in TRACE_SECRETS if name != "res master"]
KEY_LOG_LABELS = {
    "c hs traffic": "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "s hs traffic": "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "c ap traffic": "CLIENT_TRAFFIC_SECRET_0", "s ap traffic": "SERVER_TRAFFIC_SECRET_0",
    "exp master": "EXPORTER_SECRET",
}
# Secret -> the trace step that expands its traffic key and IV (the trace shows each once).
TRACE_TRAFFIC_KEYS = {
    "s hs traffic": ("server", "derive write traffic keys for handshake data"),
    "c hs traffic": ("server", "derive read traffic keys for handshake data"),
    "s ap traffic": ("server", "derive write traffic keys for application data"),
    "c ap traffic": ("client", "derive write traffic keys for application data"),
}


# --- reading the trace --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trace():
    return load_trace()


def record(trace, section: int, actor: str, kind: str, index: int = 0) -> bytes:
    """The `index`-th "send <kind> record" of `actor`, header included."""
    return trace.value(section, actor, f"send {kind} record", "complete record", index)


def payload(trace, section: int, actor: str, kind: str, index: int = 0) -> bytes:
    return trace.value(section, actor, f"send {kind} record", "payload", index)


def messages(trace, section: int, actor: str) -> list[bytes]:
    """Every handshake message `actor` sends in the section, in order."""
    return [raw for who, _, raw in trace.handshake_messages(section) if who == actor]


def message(trace, section: int, actor: str, name: str, index: int = 0) -> bytes:
    return [raw for who, n, raw in trace.handshake_messages(section) if who == actor and n == name][index]


def trace_secret(trace, section: int, name: str) -> bytes:
    step, label = TRACE_SECRETS[name]
    for actor in ("server", "client"):      # the trace derives each secret in full once, on one side
        if any(label in s.occurrences for s in trace.steps(section, actor, step)):
            return trace.value(section, actor, step, label)
    raise KeyError(name)


def trace_rsa_key(trace) -> rsa.RSAPrivateKey:
    """The server's RSA key of section 2 (both traces' server certificate holds its public half)."""
    f = trace.private_key_field
    public = rsa.RSAPublicNumbers(f("public exponent"), f("modulus"))
    return rsa.RSAPrivateNumbers(f("prime1"), f("prime2"), f("private exponent"), f("exponent1"), f("exponent2"),
                                 f("coefficient"), public).private_key()


def trace_certificate(trace, section: int) -> x509.Certificate:
    cert = decode_handshake(message(trace, section, "server", "Certificate"))
    return x509.load_der_x509_certificate(cert.certificate_list[0].cert_data)


def p256_draw(private_key: bytes) -> bytes:
    """The 40 bytes key_exchange draws for a P-256 key: it reduces them as d mod (n - 1) + 1."""
    scalar = int.from_bytes(private_key, "big")
    assert 0 < scalar < P256_ORDER
    return (scalar - 1).to_bytes(40, "big")


# --- injecting what the trace fixed -------------------------------------------------------------------

class TraceRandom:
    """An rng that hands out the trace's values in order, checking each size asked for.

    Once they are used up it answers with fixed filler and counts the draw in `extra_draws`,
    so a test can tell "the handshake drew exactly the trace's values" from later draws
    (a session ticket, say) that the trace does not cover.
    """

    def __init__(self, *values: bytes):
        self.pending = list(values)
        self.extra_draws = 0

    def __call__(self, n: int) -> bytes:
        if not self.pending:
            self.extra_draws += 1
            return bytes(n)
        value = self.pending.pop(0)
        assert len(value) == n, f"the engine drew {n} bytes where the trace's next value has {len(value)}"
        return value

    def used_exactly(self) -> bool:
        return not self.pending and self.extra_draws == 0


def trace_signature(monkeypatch, trace, section: int) -> list[bytes]:
    """Make the server's CertificateVerify carry the trace's signature.

    RSA-PSS is randomised, so our server cannot produce the trace's bytes by itself. The
    replacement signer first checks that the trace's signature verifies, with the trace's
    public key, over exactly the content our server asks to sign: so our transcript and the
    CertificateVerify content are the trace's. Returns the list of contents signed.
    """
    cv = decode_handshake(message(trace, section, "server", "CertificateVerify"))
    public_key = trace_rsa_key(trace).public_key()
    verify = signatures.verify
    signed: list[bytes] = []

    def sign(private_key, scheme, data, *, tls13=True):
        assert scheme == cv.algorithm == SignatureScheme.RSA_PSS_RSAE_SHA256
        assert private_key.public_key().public_numbers() == public_key.public_numbers()
        verify(public_key, scheme, cv.signature, data)          # DecryptError if the content differs
        signed.append(data)
        return cv.signature

    monkeypatch.setattr(signatures, "sign", sign)
    return signed


def trace_cookie(monkeypatch, trace, section: int) -> list[bytes]:
    """Make the server's HelloRetryRequest carry the trace's cookie (NSS's opaque format).

    Our server's cookie is an HMAC over the hash of the first ClientHello. The replacement
    checks that this is what it is asked to authenticate, and returns the trace's cookie;
    everything else in server13's `hmac` stays the real module. Returns the messages seen.
    """
    hrr = decode_handshake(message(trace, section, "server", "ServerHello", 0))
    assert hrr.is_hello_retry_request
    cookie = hrr.get_extension(Cookie).cookie
    first_hello_hash = hashlib.sha256(message(trace, section, "client", "ClientHello", 0)).digest()
    seen: list[bytes] = []

    def new(key, msg=None, digestmod=None):
        assert len(key) == 32 and msg == first_hello_hash
        seen.append(msg)
        return SimpleNamespace(digest=lambda: cookie)

    monkeypatch.setattr(server13, "hmac", _HmacWithNew(new))
    return seen


class _HmacWithNew:
    """The hmac module with another `new`."""

    def __init__(self, new):
        self.new = new

    def __getattr__(self, name):
        return getattr(hmac, name)


# --- what the engine did ------------------------------------------------------------------------------

def sent_raw(evs) -> list[bytes]:
    return [e.raw for e in evs if isinstance(e, events.HandshakeMessageSent)]


def received_raw(evs) -> list[bytes]:
    return [e.raw for e in evs if isinstance(e, events.HandshakeMessageReceived)]


def secrets_of(evs) -> dict[str, bytes]:
    return {e.name: e.value for e in evs if isinstance(e, events.SecretDerived)}


def check_secrets(trace, section: int, evs, names) -> None:
    """The secrets derived are exactly `names`, each equal to the trace's."""
    derived = secrets_of(evs)
    assert sorted(derived) == sorted(names)
    for name in names:
        assert derived[name] == trace_secret(trace, section, name), name
    for name, (actor, step) in TRACE_TRAFFIC_KEYS.items():
        if name in derived:
            key, iv = traffic_keys(SUITE, derived[name])
            assert key == trace.value(section, actor, step, "key expanded"), name
            assert iv == trace.value(section, actor, step, "iv expanded"), name


def check_key_log(trace, section: int, conn: Connection) -> None:
    client_random = decode_handshake(message(trace, section, "client", "ClientHello")).random.hex()
    expected = {f"{label} {client_random} {trace_secret(trace, section, name).hex()}"
                for name, label in KEY_LOG_LABELS.items()}
    assert set(conn.key_log_lines()) == expected


def closed_by_peer(evs) -> bool:
    return any(isinstance(e, events.ConnectionClosed) and e.by_peer for e in evs)


# --- our client against the trace's server ------------------------------------------------------------

def trace_client(rng: TraceRandom, **overrides) -> Connection:
    """Our client configured as NSS was in the traces (it does not check the server's test certificate,
    but it does check the CertificateVerify signature with it)."""
    kw = dict(server_name="server", cipher_suites=TRACE_SUITES, supported_groups=TRACE_GROUPS,
              signature_schemes=TRACE_SCHEMES, renegotiation_info=True, session_ticket_extension=True,
              record_size_limit=0x4001, verify_peer=False, rng=rng)
    kw.update(overrides)
    return Connection(ClientConfig(**kw))


def test_client_simple_1rtt(trace):
    hello = message(trace, SIMPLE, "client", "ClientHello")
    rng = TraceRandom(hello[6:38], trace.value(SIMPLE, "client", "create an ephemeral x25519 key pair",
                                               "private key"))
    client = trace_client(rng)
    client.start_handshake()
    assert client.data_to_send() == record(trace, SIMPLE, "client", "handshake", 0)

    client.receive_data(record(trace, SIMPLE, "server", "handshake", 0) + record(trace, SIMPLE, "server",
                                                                                 "handshake", 1))
    assert client.handshake_complete
    assert client.data_to_send() == record(trace, SIMPLE, "client", "handshake", 1)      # the client Finished
    assert rng.used_exactly()
    evs = list(client.events())
    assert sent_raw(evs) == messages(trace, SIMPLE, "client")
    assert received_raw(evs) == messages(trace, SIMPLE, "server")[:5]      # ServerHello .. Finished
    check_secrets(trace, SIMPLE, evs, list(TRACE_SECRETS))
    check_key_log(trace, SIMPLE, client)
    assert client.cipher_suite == SUITE.code and client.group == NamedGroup.X25519
    assert client.negotiated.signature_scheme == SignatureScheme.RSA_PSS_RSAE_SHA256
    assert client.negotiated.peer_record_size_limit == 0x4001

    # The NewSessionTicket arrives in its own record after the handshake.
    client.receive_data(record(trace, SIMPLE, "server", "handshake", 2))
    evs = list(client.events())
    assert received_raw(evs) == [message(trace, SIMPLE, "server", "NewSessionTicket")]
    assert client.data_to_send() == b""

    client.send(payload(trace, SIMPLE, "client", "application_data"))
    assert client.data_to_send() == record(trace, SIMPLE, "client", "application_data")
    client.receive_data(record(trace, SIMPLE, "server", "application_data"))
    data = [e.data for e in client.events() if isinstance(e, events.ApplicationData)]
    assert data == [payload(trace, SIMPLE, "server", "application_data")]

    client.close()
    assert client.data_to_send() == record(trace, SIMPLE, "client", "alert")
    client.receive_data(record(trace, SIMPLE, "server", "alert"))
    assert closed_by_peer(client.events())
    assert client.data_to_send() == b""


def test_client_hello_retry_request(trace):
    hello = message(trace, RETRY, "client", "ClientHello", 0)
    x25519 = trace.value(RETRY, "client", "create an ephemeral x25519 key pair", "private key")
    p256 = trace.value(RETRY, "client", "create an ephemeral P-256 key pair", "private key")
    rng = TraceRandom(hello[6:38], x25519, p256_draw(p256))
    client = trace_client(rng, supported_groups=(0x1d, 0x17, 0x18), session_ticket_extension=False,
                          client_hello_padding=True)
    client.start_handshake()
    assert client.data_to_send() == record(trace, RETRY, "client", "handshake", 0)

    client.receive_data(record(trace, RETRY, "server", "handshake", 0))          # HelloRetryRequest
    evs = list(client.events())
    assert [e for e in evs if isinstance(e, events.HelloRetryRequested)] == [
        events.HelloRetryRequested(NamedGroup.SECP256R1, True)]
    # Same random, the P-256 share, the cookie echoed, padded to 512 bytes (RFC 7685).
    assert client.data_to_send() == record(trace, RETRY, "client", "handshake", 1)

    client.receive_data(record(trace, RETRY, "server", "handshake", 1) + record(trace, RETRY, "server",
                                                                                "handshake", 2))
    assert client.handshake_complete
    assert client.data_to_send() == record(trace, RETRY, "client", "handshake", 2)
    assert rng.used_exactly()
    evs += list(client.events())
    assert sent_raw(evs) == messages(trace, RETRY, "client")                # ClientHello x2, Finished
    assert received_raw(evs) == messages(trace, RETRY, "server")            # HelloRetryRequest .. Finished
    check_secrets(trace, RETRY, evs, list(TRACE_SECRETS))
    check_key_log(trace, RETRY, client)
    assert client.negotiated.hello_retry and client.group == NamedGroup.SECP256R1

    client.close()
    assert client.data_to_send() == record(trace, RETRY, "client", "alert")
    client.receive_data(record(trace, RETRY, "server", "alert"))
    assert closed_by_peer(client.events())


# --- our server against the trace's client ------------------------------------------------------------

def trace_server(trace, section: int, rng: TraceRandom, **overrides) -> Connection:
    kw = dict(certificate_chain=(trace_certificate(trace, section),), private_key=trace_rsa_key(trace),
              supported_groups=TRACE_GROUPS, record_size_limit=0x4001, rng=rng)
    kw.update(overrides)
    return Connection(ServerConfig(**kw))


def test_the_trace_signatures_verify(trace):
    """The CertificateVerify signatures the server tests inject are genuine: they verify with the trace's key
    over the transcript of the trace's messages."""
    public_key = trace_rsa_key(trace).public_key()
    for section in (SIMPLE, RETRY):
        raws = [raw for _, name, raw in trace.handshake_messages(section)]
        cv_raw = message(trace, section, "server", "CertificateVerify")
        before = raws[:raws.index(cv_raw)]
        if section == RETRY:
            # RFC 8446 4.4.1: the first ClientHello is replaced by a message_hash message.
            before = [b"\xfe\x00\x00\x20" + hashlib.sha256(before[0]).digest()] + before[1:]
        content = signatures.certificate_verify_content(hashlib.sha256(b"".join(before)).digest(), server=True)
        cv = decode_handshake(cv_raw)
        signatures.verify(public_key, cv.algorithm, cv.signature, content)


def test_server_simple_1rtt(trace, monkeypatch):
    """Every server record but the NewSessionTicket's (see the module docstring)."""
    server_hello = message(trace, SIMPLE, "server", "ServerHello")
    rng = TraceRandom(server_hello[6:38], trace.value(SIMPLE, "server", "create an ephemeral x25519 key pair",
                                                      "private key"))
    signed = trace_signature(monkeypatch, trace, SIMPLE)
    server = trace_server(trace, SIMPLE, rng, ticket_count=1)

    server.receive_data(record(trace, SIMPLE, "client", "handshake", 0))
    assert server.data_to_send() == (record(trace, SIMPLE, "server", "handshake", 0)
                                     + record(trace, SIMPLE, "server", "handshake", 1))
    assert rng.used_exactly() and len(signed) == 1
    evs = list(server.events())
    assert received_raw(evs) == [message(trace, SIMPLE, "client", "ClientHello")]
    assert sent_raw(evs) == messages(trace, SIMPLE, "server")[:5]          # ServerHello .. Finished
    check_secrets(trace, SIMPLE, evs, BEFORE_CLIENT_FINISHED)

    server.receive_data(record(trace, SIMPLE, "client", "handshake", 1))
    assert server.handshake_complete
    evs = list(server.events())
    assert received_raw(evs) == [message(trace, SIMPLE, "client", "Finished")]
    assert secrets_of(evs)["res master"] == trace_secret(trace, SIMPLE, "res master")
    check_key_log(trace, SIMPLE, server)
    # Where the trace's server sends its NewSessionTicket, ours sends one of its own, in one record.
    ticket_record = server.data_to_send()
    assert [type(e.message).__name__ for e in evs if isinstance(e, events.HandshakeMessageSent)] == [
        "NewSessionTicket"]
    assert [(e.epoch, e.sequence) for e in evs if isinstance(e, events.RecordSent)] == [("application-0", 0)]
    assert len(ticket_record) == 5 + int.from_bytes(ticket_record[3:5], "big")

    server.receive_data(record(trace, SIMPLE, "client", "application_data"))
    data = [e.data for e in server.events() if isinstance(e, events.ApplicationData)]
    assert data == [payload(trace, SIMPLE, "client", "application_data")]
    server.send(payload(trace, SIMPLE, "server", "application_data"))
    assert server.data_to_send() == record(trace, SIMPLE, "server", "application_data")
    server.receive_data(record(trace, SIMPLE, "client", "alert"))
    assert closed_by_peer(server.events())
    assert server.data_to_send() == record(trace, SIMPLE, "server", "alert")


def test_server_hello_retry_request(trace, monkeypatch):
    """Every server record of section 5, the answering close_notify included."""
    server_hello = message(trace, RETRY, "server", "ServerHello", 1)
    private = trace.value(RETRY, "server", "create an ephemeral P-256 key pair", "private key")
    # The cookie key is drawn first; the injected cookie does not depend on it.
    rng = TraceRandom(bytes(range(32)), server_hello[6:38], p256_draw(private))
    cookies = trace_cookie(monkeypatch, trace, RETRY)
    signed = trace_signature(monkeypatch, trace, RETRY)
    server = trace_server(trace, RETRY, rng, supported_groups=(0x17, 0x18, 0x1d), ticket_count=0)

    server.receive_data(record(trace, RETRY, "client", "handshake", 0))
    assert server.data_to_send() == record(trace, RETRY, "server", "handshake", 0)      # HelloRetryRequest
    assert len(cookies) == 1
    evs = list(server.events())
    assert [e for e in evs if isinstance(e, events.HelloRetryRequested)] == [
        events.HelloRetryRequested(NamedGroup.SECP256R1, True)]

    server.receive_data(record(trace, RETRY, "client", "handshake", 1))
    assert server.data_to_send() == (record(trace, RETRY, "server", "handshake", 1)
                                     + record(trace, RETRY, "server", "handshake", 2))
    assert rng.used_exactly() and len(signed) == 1
    evs += list(server.events())
    check_secrets(trace, RETRY, evs, BEFORE_CLIENT_FINISHED)

    server.receive_data(record(trace, RETRY, "client", "handshake", 2))
    assert server.handshake_complete and server.negotiated.hello_retry
    assert server.group == NamedGroup.SECP256R1
    evs += list(server.events())
    assert received_raw(evs) == messages(trace, RETRY, "client")
    assert sent_raw(evs) == messages(trace, RETRY, "server")
    check_secrets(trace, RETRY, evs, list(TRACE_SECRETS))
    check_key_log(trace, RETRY, server)
    assert server.data_to_send() == b""

    server.receive_data(record(trace, RETRY, "client", "alert"))
    assert closed_by_peer(server.events())
    assert server.data_to_send() == record(trace, RETRY, "server", "alert")
