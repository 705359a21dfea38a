"""TLS 1.3 with real programs on 127.0.0.1: our client against `openssl s_server` and `gnutls-serv`,
our server against `openssl s_client`, `gnutls-cli` and Python's ssl module over real sockets.

Across the matrix every cipher suite, every group and every certificate type (ECDSA P-256 and
P-384, RSA, Ed25519) is used at least once with each peer and role. Each peer and role also
forces a HelloRetryRequest, authenticates a client, echoes data both ways, and refuses a wrong
host name and an untrusted CA with the alert the peer then prints.

gnutls-serv binds every interface, so it runs in a private network namespace and our client
connects from inside it (engine_connect(..., netns=...)).
"""
from __future__ import annotations

import re
import socket
import ssl

import pytest

from workbench.peers import GnuTLSClient, OpenSSLClient, PeerError
from workbench.tls import errors
from workbench.tls.enums import AlertDescription, CipherSuite, NamedGroup, SignatureScheme

from .engine_endpoints import IO_TIMEOUT, close_gracefully, engine_connect

pytestmark = pytest.mark.interop

AD = AlertDescription
X25519, P256, P384 = NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1

# (suite, group, certificate key type): each suite, group and certificate type once per peer and role.
MATRIX = [
    pytest.param(0x1301, X25519, "ecdsa-p256", id="AES128-x25519-ecdsa"),
    pytest.param(0x1302, P256, "rsa-2048", id="AES256-p256-rsa"),
    pytest.param(0x1303, P384, "ed25519", id="CHACHA20-p384-ed25519"),
]
SCHEME_FOR_KEY = {
    "ecdsa-p256": SignatureScheme.ECDSA_SECP256R1_SHA256,
    "ecdsa-p384": SignatureScheme.ECDSA_SECP384R1_SHA384,
    "rsa-2048": SignatureScheme.RSA_PSS_RSAE_SHA256,
    "ed25519": SignatureScheme.ED25519,
}
OPENSSL_GROUP = {X25519: "X25519", P256: "P-256", P384: "P-384"}
OPENSSL_GROUP_SHOWN = {X25519: "x25519", P256: "secp256r1", P384: "secp384r1"}
GNUTLS_GROUP = {X25519: "X25519", P256: "SECP256R1", P384: "SECP384R1"}
GNUTLS_CIPHER = {0x1301: "AES-128-GCM", 0x1302: "AES-256-GCM", 0x1303: "CHACHA20-POLY1305"}

# What each peer prints on receiving an alert, by alert.
OPENSSL_ALERT_TEXT = {AD.bad_certificate: "alert bad certificate", AD.unknown_ca: "alert unknown ca"}
# gnutls-serv's own "Received alert" line sits in its buffered standard output until the next
# successful handshake; its debug log (-d 5) reports the alert on standard error as it arrives.
GNUTLS_SERV_ALERT_LOG = {AD.bad_certificate: r"Alert\[2\|42\] - Certificate is bad - was received",
                         AD.unknown_ca: r"Alert\[2\|48\] - CA is unknown - was received"}


def suite_name(code: int) -> str:
    return CipherSuite(code).name


def gnutls_priority(group: int) -> str:
    return f"NORMAL:-GROUP-ALL:+GROUP-{GNUTLS_GROUP[group]}"


def receive_exactly(tls, expected: bytes) -> bytes:
    """Read from our TLS socket until len(expected) bytes arrived (or the stream ended)."""
    got = b""
    while len(got) < len(expected):
        chunk = tls.recv()
        if not chunk:
            break
        got += chunk
    assert got == expected
    return got


def check_our_handshake(handshake, suite: int, group: int, key_type: str | None = None) -> None:
    assert handshake is not None
    assert handshake.version == 0x0304
    assert handshake.cipher_suite == suite and handshake.group == group
    if key_type is not None:
        assert handshake.signature_scheme == SCHEME_FOR_KEY[key_type]


# === our client ======================================================================================

# --- against openssl s_server ---------------------------------------------------------------------------

@pytest.mark.parametrize("suite, group, key_type", MATRIX)
def test_client_against_openssl_server(interop_pki, peer_servers, suite, group, key_type):
    server = peer_servers.openssl(key_type)
    mark = server.mark()
    config = interop_pki.client_config(cipher_suites=(suite,), supported_groups=(group,))
    with engine_connect(server.port, config) as tls:
        check_our_handshake(tls.handshake, suite, group, key_type)
        assert not tls.connection.negotiated.hello_retry
        assert tls.connection.peer_certificates[0] == interop_pki.server(key_type).der
        server.wait_for_output(f"^CIPHER is {suite_name(suite)}$", since=mark)
        server.wait_for_output(f"^Shared groups: {OPENSSL_GROUP_SHOWN[group]}$", since=mark)
        tls.sendall(b"from the engine to openssl\n")
        server.wait_for_output("^from the engine to openssl$", since=mark)
        server.send_line("from openssl to the engine")
        receive_exactly(tls, b"from openssl to the engine\n")
        assert close_gracefully(tls) == b""
    server.wait_for_output("^DONE$", since=mark)       # s_server saw our close_notify


def test_client_hello_retry_forced_by_openssl_server(interop_pki, peer_servers):
    # Our client sends an X25519 share only; this s_server accepts P-384 only.
    server = peer_servers.openssl("ecdsa-p384", "-groups", "P-384")
    mark = server.mark()
    with engine_connect(server.port, interop_pki.client_config()) as tls:
        assert tls.connection.negotiated.hello_retry
        check_our_handshake(tls.handshake, 0x1301, P384, "ecdsa-p384")       # s_server follows our preference
        server.wait_for_output("^Shared groups: secp384r1$", since=mark)
        tls.sendall(b"after a retry\n")
        server.wait_for_output("^after a retry$", since=mark)
        server.send_line("retry answered")
        receive_exactly(tls, b"retry answered\n")
        assert close_gracefully(tls) == b""
    server.wait_for_output("^DONE$", since=mark)


def test_client_authenticates_to_openssl_server(interop_pki, peer_servers):
    server = peer_servers.openssl("ecdsa-p256", "-Verify", "1", client_ca=interop_pki.ca_pem)
    mark = server.mark()
    with engine_connect(server.port, interop_pki.client_config(client_key_type="rsa-2048")) as tls:
        assert tls.connection.negotiated.client_certificate_scheme == SignatureScheme.RSA_PSS_RSAE_SHA256
        tls.sendall(b"authenticated\n")
        server.wait_for_output("^authenticated$", since=mark)
        assert close_gracefully(tls) == b""
    output = server.output[mark:]
    assert re.search(r"^depth=0 O = TLS Workbench, CN = client\.test\nverify return:1$", output, re.MULTILINE)
    assert re.search(r"^Peer signature type: RSA-PSS$", output, re.MULTILINE)
    server.wait_for_output("^DONE$", since=mark)


@pytest.mark.parametrize("case", ["wrong-host-name", "untrusted-ca"])
def test_client_refuses_openssl_server(interop_pki, untrusted_pki, peer_servers, case):
    server = peer_servers.openssl("ecdsa-p256")
    mark = server.mark()
    if case == "wrong-host-name":
        config, alert = interop_pki.client_config(server_name="www.example.com"), AD.bad_certificate
    else:
        config, alert = untrusted_pki.client_config(), AD.unknown_ca
    with pytest.raises(errors.ProtocolError) as refused:
        engine_connect(server.port, config)
    assert refused.value.alert == alert
    server.wait_for_output(rf"{OPENSSL_ALERT_TEXT[alert]}.*SSL alert number {int(alert)}$", since=mark)


# --- against gnutls-serv (in a private network namespace) ---------------------------------------------

@pytest.mark.parametrize("suite, group, key_type", MATRIX)
def test_client_against_gnutls_server(interop_pki, peer_servers, suite, group, key_type):
    server = peer_servers.gnutls(key_type)
    mark = server.mark()
    config = interop_pki.client_config(cipher_suites=(suite,), supported_groups=(group,))
    with engine_connect(server.port, config, netns=peer_servers.netns) as tls:
        check_our_handshake(tls.handshake, suite, group, key_type)
        assert not tls.connection.negotiated.hello_retry
        data = b"echo me, gnutls " * 2500 + b"\n"         # several records each way
        tls.sendall(data)
        receive_exactly(tls, data)
        assert close_gracefully(tls) == b""
    description = server.wait_for_output(r"^- Description: (.*)$", since=mark).group(1)
    assert description.startswith("(TLS1.3-X.509)")
    assert f"(ECDHE-{GNUTLS_GROUP[group]})" in description and description.endswith(f"({GNUTLS_CIPHER[suite]})")


def test_client_hello_retry_forced_by_gnutls_server(interop_pki, peer_servers):
    server = peer_servers.gnutls("rsa-2048", "--priority", gnutls_priority(P384))
    mark = server.mark()
    with engine_connect(server.port, interop_pki.client_config(), netns=peer_servers.netns) as tls:
        assert tls.connection.negotiated.hello_retry
        check_our_handshake(tls.handshake, 0x1301, P384, "rsa-2048")         # our first preference
        tls.sendall(b"after a retry\n")
        receive_exactly(tls, b"after a retry\n")
        assert close_gracefully(tls) == b""
    server.wait_for_output(r"^- Description: \(TLS1\.3-X\.509\)-\(ECDHE-SECP384R1\)", since=mark)


def test_client_authenticates_to_gnutls_server(interop_pki, peer_servers):
    server = peer_servers.gnutls("ecdsa-p256", "--require-client-cert", "--verify-client-cert",
                                 client_ca=interop_pki.ca_pem)
    mark = server.mark()
    config = interop_pki.client_config(client_key_type="ed25519")
    with engine_connect(server.port, config, netns=peer_servers.netns) as tls:
        assert tls.connection.negotiated.client_certificate_scheme == SignatureScheme.ED25519
        tls.sendall(b"authenticated\n")
        receive_exactly(tls, b"authenticated\n")
        assert close_gracefully(tls) == b""
    server.wait_for_output(r"^- Client Signature: EdDSA-Ed25519$", since=mark)
    assert "Subject: CN=client.test,O=TLS Workbench" in server.output[mark:]


@pytest.mark.parametrize("case", ["wrong-host-name", "untrusted-ca"])
def test_client_refuses_gnutls_server(interop_pki, untrusted_pki, peer_servers, case):
    server = peer_servers.gnutls("ecdsa-p256", "-d", "5")
    mark = server.mark()
    if case == "wrong-host-name":
        config, alert = interop_pki.client_config(server_name="www.example.com"), AD.bad_certificate
    else:
        config, alert = untrusted_pki.client_config(), AD.unknown_ca
    with pytest.raises(errors.ProtocolError) as refused:
        engine_connect(server.port, config, netns=peer_servers.netns)
    assert refused.value.alert == alert
    server.wait_for_output(GNUTLS_SERV_ALERT_LOG[alert], since=mark)


# === our server ======================================================================================

def check_served(served, suite: int, group: int, *, hello_retry: bool = False, received: bytes | None = None):
    assert served.error is None, served.error
    check_our_handshake(served.handshake, suite, group)
    assert served.connection.negotiated.hello_retry == hello_retry
    assert served.handshake.server_name == "localhost"
    if received is not None:
        assert served.received == received
    assert AD.close_notify in served.alerts_received()


# --- openssl s_client ---------------------------------------------------------------------------------

def openssl_client(launch, port, pki, *args, **kwargs) -> OpenSSLClient:
    return launch(OpenSSLClient(port, ca=pki.ca_pem, args=["-tls1_3", *args], **kwargs))


def echo_through(client, line: str) -> None:
    """Type a line into a peer client; our server echoes it, and the client prints it back.
    The line is not anchored at its start: s_client writes the data it reads unbuffered, while its
    buffered "read R BLOCK" (after a post-handshake message) may be flushed around it."""
    mark = client.mark()
    client.send_line(line)
    client.wait_for_output(f"{re.escape(line)}$", since=mark)
    client.close_stdin()           # the client sends close_notify and exits
    client.wait(IO_TIMEOUT)


@pytest.mark.parametrize("suite, group, key_type", MATRIX)
def test_server_against_openssl_client(interop_pki, engine_server, launch, suite, group, key_type):
    ours = engine_server(interop_pki.server_config(key_type, cipher_suites=(suite,), supported_groups=(group,)))
    client = openssl_client(launch, ours.port, interop_pki, "-groups", OPENSSL_GROUP[group])
    handshake = client.wait_for_handshake()
    assert (handshake.version, handshake.cipher) == ("1.3", suite_name(suite))
    echo_through(client, "from openssl through the engine")
    served = ours.next_connection()
    check_served(served, suite, group, received=b"from openssl through the engine\n")
    assert served.handshake.signature_scheme == SCHEME_FOR_KEY[key_type]


def test_server_forces_hello_retry_on_openssl_client(interop_pki, engine_server, launch):
    ours = engine_server(interop_pki.server_config("ecdsa-p384", supported_groups=(P384, X25519, P256)))
    client = openssl_client(launch, ours.port, interop_pki)         # s_client sends an X25519 share only
    client.wait_for_handshake()
    client.wait_for_output(r"^Server Temp Key: ECDH, secp384r1, 384 bits$")
    echo_through(client, "after a retry")
    check_served(ours.next_connection(), 0x1301, P384, hello_retry=True, received=b"after a retry\n")


def test_server_authenticates_openssl_client(interop_pki, engine_server, launch):
    ours = engine_server(interop_pki.server_config(require_client_certificate=True,
                                                   client_trust_anchors=(interop_pki.ca_certificate,)))
    leaf = interop_pki.client("ecdsa-p384")
    client = openssl_client(launch, ours.port, interop_pki, cert=leaf.cert, key=leaf.key)
    client.wait_for_handshake()
    echo_through(client, "authenticated")
    served = ours.next_connection()
    check_served(served, 0x1301, X25519, received=b"authenticated\n")
    # OpenSSL completes the chain from its trust store: the root travels too.
    assert served.connection.peer_certificates == (leaf.der, interop_pki.ca_der)
    assert served.connection.negotiated.client_certificate_scheme == SignatureScheme.ECDSA_SECP384R1_SHA384


def test_server_refuses_untrusted_openssl_client(interop_pki, untrusted_pki, engine_server, launch):
    ours = engine_server(interop_pki.server_config(require_client_certificate=True,
                                                   client_trust_anchors=(interop_pki.ca_certificate,)))
    leaf = untrusted_pki.client("ecdsa-p256")
    client = openssl_client(launch, ours.port, interop_pki, cert=leaf.cert, key=leaf.key)
    client.wait_for_handshake()          # in TLS 1.3 the client finishes before the server judges it
    client.wait_for_output(r"alert unknown ca.*SSL alert number 48$")
    served = ours.next_connection()
    assert isinstance(served.error, errors.ProtocolError) and served.alerts_sent() == [AD.unknown_ca]


@pytest.mark.parametrize("case, alert", [("wrong-host-name", AD.bad_certificate), ("untrusted-ca", AD.unknown_ca)])
def test_openssl_client_refuses_our_server(interop_pki, untrusted_pki, engine_server, launch, case, alert):
    ours = engine_server(interop_pki.server_config())
    if case == "wrong-host-name":
        client = openssl_client(launch, ours.port, interop_pki, servername="www.example.com")
    else:
        client = openssl_client(launch, ours.port, untrusted_pki)
    with pytest.raises(PeerError):
        client.wait_for_handshake()
    served = ours.next_connection()
    assert isinstance(served.error, errors.AlertReceived) and served.error.description == alert
    assert served.handshake is None


# --- gnutls-cli ---------------------------------------------------------------------------------------

def gnutls_client(launch, port, pki, *args, **kwargs) -> GnuTLSClient:
    return launch(GnuTLSClient(port, ca=pki.ca_pem, args=list(args), **kwargs))


@pytest.mark.parametrize("suite, group, key_type", MATRIX)
def test_server_against_gnutls_client(interop_pki, engine_server, launch, suite, group, key_type):
    ours = engine_server(interop_pki.server_config(key_type, cipher_suites=(suite,), supported_groups=(group,)))
    client = gnutls_client(launch, ours.port, interop_pki, "--priority", gnutls_priority(group))
    handshake = client.wait_for_handshake()
    assert (handshake.version, handshake.cipher) == ("1.3", GNUTLS_CIPHER[suite])
    assert f"(ECDHE-{GNUTLS_GROUP[group]})" in client.output
    echo_through(client, "from gnutls through the engine")
    served = ours.next_connection()
    check_served(served, suite, group, received=b"from gnutls through the engine\n")
    assert served.handshake.signature_scheme == SCHEME_FOR_KEY[key_type]


def test_server_forces_hello_retry_on_gnutls_client(interop_pki, engine_server, launch):
    ours = engine_server(interop_pki.server_config("rsa-2048", supported_groups=(P384, X25519, P256)))
    client = gnutls_client(launch, ours.port, interop_pki)      # shares for X25519 and P-256, not P-384
    client.wait_for_handshake()
    assert "(ECDHE-SECP384R1)" in client.output
    echo_through(client, "after a retry")
    check_served(ours.next_connection(), 0x1301, P384, hello_retry=True, received=b"after a retry\n")


def test_server_authenticates_gnutls_client(interop_pki, engine_server, launch):
    ours = engine_server(interop_pki.server_config(require_client_certificate=True,
                                                   client_trust_anchors=(interop_pki.ca_certificate,)))
    leaf = interop_pki.client("rsa-2048")
    client = gnutls_client(launch, ours.port, interop_pki, cert=leaf.cert, key=leaf.key)
    client.wait_for_handshake()
    echo_through(client, "authenticated")
    served = ours.next_connection()
    check_served(served, 0x1301, X25519, received=b"authenticated\n")
    assert served.connection.peer_certificates == (leaf.der,)
    assert served.connection.negotiated.client_certificate_scheme == SignatureScheme.RSA_PSS_RSAE_SHA256


def test_server_refuses_untrusted_gnutls_client(interop_pki, untrusted_pki, engine_server, launch):
    ours = engine_server(interop_pki.server_config(require_client_certificate=True,
                                                   client_trust_anchors=(interop_pki.ca_certificate,)))
    leaf = untrusted_pki.client("ecdsa-p256")
    client = gnutls_client(launch, ours.port, interop_pki, cert=leaf.cert, key=leaf.key)
    client.wait_for_output(r"^\*\*\* Received alert \[48\]: CA is unknown$")
    served = ours.next_connection()
    assert isinstance(served.error, errors.ProtocolError) and served.alerts_sent() == [AD.unknown_ca]


# GnuTLS answers a certificate from an unknown issuer with bad_certificate, as it does a wrong name.
@pytest.mark.parametrize("case", ["wrong-host-name", "untrusted-ca"])
def test_gnutls_client_refuses_our_server(interop_pki, untrusted_pki, engine_server, launch, case):
    ours = engine_server(interop_pki.server_config())
    if case == "wrong-host-name":
        client = gnutls_client(launch, ours.port, interop_pki, servername="www.example.com")
    else:
        client = gnutls_client(launch, ours.port, untrusted_pki)
    with pytest.raises(PeerError):
        client.wait_for_handshake()
    served = ours.next_connection()
    assert isinstance(served.error, errors.AlertReceived) and served.error.description == AD.bad_certificate


# --- Python's ssl module over real sockets --------------------------------------------------------------

def python_client(pki, *, client_leaf=None, group: int | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca_pem))
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    if group in (P256, P384):
        context.set_ecdh_curve({P256: "prime256v1", P384: "secp384r1"}[group])   # its only group and share
    if client_leaf is not None:
        context.load_cert_chain(client_leaf.cert, client_leaf.key)
    return context


def python_exchange(context: ssl.SSLContext, port: int, data: bytes, server_hostname: str = "localhost"):
    """Connect, send `data`, read the echo, close with close_notify; returns (version, cipher)."""
    with socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT) as raw:
        with context.wrap_socket(raw, server_hostname=server_hostname) as tls:
            tls.sendall(data)
            echoed = b""
            while len(echoed) < len(data):
                chunk = tls.recv(65536)
                if not chunk:
                    break
                echoed += chunk
            assert echoed == data
            summary = tls.version(), tls.cipher()[0]
            tls.unwrap()
    return summary


@pytest.mark.parametrize("suite, group, key_type", MATRIX)
def test_server_against_python_ssl(interop_pki, engine_server, suite, group, key_type):
    ours = engine_server(interop_pki.server_config(key_type, cipher_suites=(suite,), supported_groups=(group,)))
    data = bytes(range(256)) * 400                # 100 kB: several records each way
    assert python_exchange(python_client(interop_pki, group=group), ours.port, data) == ("TLSv1.3",
                                                                                         suite_name(suite))
    served = ours.next_connection()
    check_served(served, suite, group, received=data)
    assert served.handshake.signature_scheme == SCHEME_FOR_KEY[key_type]


def test_server_forces_hello_retry_on_python_ssl(interop_pki, engine_server):
    ours = engine_server(interop_pki.server_config("ed25519", supported_groups=(P256, X25519)))
    python_exchange(python_client(interop_pki), ours.port, b"after a retry")   # sends an X25519 share only
    check_served(ours.next_connection(), 0x1301, P256, hello_retry=True, received=b"after a retry")


def test_server_authenticates_python_ssl(interop_pki, engine_server):
    ours = engine_server(interop_pki.server_config(require_client_certificate=True,
                                                   client_trust_anchors=(interop_pki.ca_certificate,)))
    leaf = interop_pki.client("ed25519")
    python_exchange(python_client(interop_pki, client_leaf=leaf), ours.port, b"authenticated")
    served = ours.next_connection()
    check_served(served, 0x1301, X25519, received=b"authenticated")
    assert served.connection.peer_certificates == (leaf.der, interop_pki.ca_der)
    assert served.connection.negotiated.client_certificate_scheme == SignatureScheme.ED25519


def test_server_refuses_untrusted_python_ssl(interop_pki, untrusted_pki, engine_server):
    ours = engine_server(interop_pki.server_config(require_client_certificate=True,
                                                   client_trust_anchors=(interop_pki.ca_certificate,)))
    context = python_client(interop_pki, client_leaf=untrusted_pki.client("ecdsa-p256"))
    with pytest.raises(ssl.SSLError, match="TLSV1_ALERT_UNKNOWN_CA"):
        python_exchange(context, ours.port, b"refused")
    served = ours.next_connection()
    assert isinstance(served.error, errors.ProtocolError) and served.alerts_sent() == [AD.unknown_ca]


@pytest.mark.parametrize("case, alert", [("wrong-host-name", AD.bad_certificate), ("untrusted-ca", AD.unknown_ca)])
def test_python_ssl_refuses_our_server(interop_pki, untrusted_pki, engine_server, case, alert):
    ours = engine_server(interop_pki.server_config())
    if case == "wrong-host-name":
        context, hostname = python_client(interop_pki), "www.example.com"
    else:
        context, hostname = python_client(untrusted_pki), "localhost"
    with pytest.raises(ssl.SSLCertVerificationError):
        python_exchange(context, ours.port, b"refused", server_hostname=hostname)
    served = ours.next_connection()
    assert isinstance(served.error, errors.AlertReceived) and served.error.description == alert
