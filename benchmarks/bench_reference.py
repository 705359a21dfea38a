"""Calibration: how fast pure-Python TLS can get on this machine, against bench_engine.py's anchor.

Two reference points, each measured against the same anchor as benchmarks/bench_engine.py (TLS 1.3:
Python's ssl module through a MemoryBIO pair, in a worker subprocess whose OPENSSL_CONF pins
TLS_AES_128_GCM_SHA256 and X25519), with the same clock, alternating rounds and medians. The anchor,
its worker, the clock, the rounds (alternate()), their medians (summary()) and the report's lines
are bench_engine.py's, imported, not copied.

1. aioquic's pure-Python TLS 1.3 handshake (aioquic.tls.Context, the TLS of a QUIC stack): client
   and server in one process, an ECDSA P-256 leaf issued by an ECDSA P-256 CA (workbench.pki.TestCA),
   X25519 only, TLS_AES_128_GCM_SHA256, the client verifies the chain and the host name, no session
   tickets; each flight is handed over whole, in memory (the pattern of aioquic's own tests).
   Handshakes per second and the ratio to the anchor's full handshakes.
2. A bare record loop on cryptography's AESGCM, the least Python a record layer can be: seal 16 KiB
   plus the content type byte with the 5-byte header as associated data, join header and ciphertext,
   open from a memoryview past the header, strip the type byte; nonce = IV xor sequence number.
   MB/s and the ratio to the anchor's bulk (16 KiB records, sealed by one side, opened by the other).

Where these differ from what bench_engine.py measures for our engine (read the ratios with this):
- aioquic's Context has no record layer: in QUIC, packet protection encrypts the handshake, so the
  messages after ServerHello leave Context in the clear. Its handshake therefore skips the AEAD
  seal/open of EncryptedExtensions..Finished and of the client Finished that ours and ssl do (small
  next to the public-key work, but not nothing), and it has no record framing at all.
- aioquic's client re-parses its cadata (PEM -> certificates -> a pyOpenSSL X509Store) in every
  handshake, where ours keeps a parsed trust store in ClientConfig and ssl in its SSLContext: that
  counts against aioquic. Its chain check runs through pyOpenSSL, its host name check through
  service_identity.
- X25519 alone is set through a private attribute, Context._supported_groups (there is no public
  setter; by default the client also sends P-256 and P-384 key shares), on both sides.
- No events, no handshake log and no transcript kept for inspection, unlike our engine.
- The record loop has no framing to parse, no buffers, no events and no limits to check; its AEAD
  runs in the OpenSSL that cryptography bundles, the anchor's in the system OpenSSL that ssl uses.
Before measuring, the flights are parsed (with aioquic's own parsers; they are in the clear) to
check the suite, the group and the signature scheme against our engine's code points, that no
ticket or PSK is involved, and that a wrong server name and an unknown CA are refused.

aioquic is not a project dependency. Without it the handshake reference is skipped (with a line
saying so) and the record loop still runs. To get it: `pip install aioquic` into a separate venv and
run this script there with PYTHONPATH pointing at the repository, or pip install it into .venv by hand.

    .venv/bin/python benchmarks/bench_reference.py [--rounds 5] [--seconds 1.5] [--clock cpu|wall] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
from typing import Callable

# run as a script, the benchmarks folder is on sys.path; bench_engine adds the repo root
from bench_engine import (BATCH, RECORD, REPORT_LABELS, RESULT_KEYS, VERSIONS, add_run_options, against_anchor,
                          report_figures, report_header)

ANCHOR = VERSIONS["1.3"]         # the TLS 1.3 anchor of bench_engine.py: full handshakes and bulk
SERVER_NAME = "localhost"
SKIPPED_HOW_TO = ("aioquic is not a project dependency: `pip install aioquic` into a separate venv and run this "
                  "script there with PYTHONPATH=<repo>, or pip install it into .venv by hand")


def require(condition: bool, message: str) -> None:
    """A check that also holds under python -O."""
    if not condition:
        raise RuntimeError(message)


# --- reference 1: aioquic's handshake ------------------------------------------------------------

def handshake_messages(data: bytes) -> list[bytes]:
    """Split a flight (handshake messages, no record layer) into whole messages."""
    messages = []
    while data:
        end = 4 + int.from_bytes(data[1:4], "big")
        messages.append(data[:end])
        data = data[end:]
    return messages


class AioquicHandshake:
    """aioquic.tls.Context client and server, configured like bench_engine's full handshake."""

    def __init__(self, ca, leaf):
        from cryptography.hazmat.primitives.serialization import Encoding
        self.cadata = ca.certificate_pem()
        self.leaf = leaf
        self.leaf_der = leaf.certificate.public_bytes(Encoding.DER)

    def contexts(self, server_name: str = SERVER_NAME, cadata: bytes | None = None):
        from aioquic.tls import CipherSuite, Context, Group
        suites = [CipherSuite(ANCHOR.suite)]
        client = Context(is_client=True, cadata=cadata or self.cadata, cipher_suites=suites,
                         server_name=server_name, verify_mode=ssl.CERT_REQUIRED)
        server = Context(is_client=False, cipher_suites=suites)
        client._supported_groups = server._supported_groups = [Group.X25519]    # no public setter
        server.certificate = self.leaf.certificate
        server.certificate_chain = list(self.leaf.chain)
        server.certificate_private_key = self.leaf.private_key
        # get_session_ticket_cb and new_session_ticket_cb stay None: no tickets issued, none offered
        return client, server

    def handshake(self, server_name: str = SERVER_NAME, cadata: bytes | None = None):
        """One full handshake; returns both contexts and the four flights, as bytes."""
        client, server = self.contexts(server_name, cadata)
        client_buffers, server_buffers = self._buffers(), self._buffers()
        hello = self._step(client, b"", client_buffers)                       # ClientHello
        server_flight = self._step(server, hello, server_buffers)             # ServerHello .. Finished
        client_finished = self._step(client, server_flight, client_buffers)   # the client verifies here
        after = self._step(server, client_finished, server_buffers)           # nothing (no tickets)
        return client, server, (hello, server_flight, client_finished, after)

    @staticmethod
    def _buffers():
        from aioquic.buffer import Buffer
        from aioquic.tls import Epoch
        return {epoch: Buffer(capacity=8192) for epoch in (Epoch.INITIAL, Epoch.HANDSHAKE, Epoch.ONE_RTT)}

    @staticmethod
    def _step(context, data: bytes, buffers) -> bytes:
        """Feed data to context; return what it wrote (all epochs, in order), emptying its buffers."""
        context.handle_message(data, buffers)
        out = b"".join(buffer.data for buffer in buffers.values())
        for buffer in buffers.values():
            buffer.seek(0)
        return out

    def check(self, stranger_cadata: bytes) -> list[str]:
        """Outside the timing: the handshake is the one we claim to measure, and verification refuses."""
        from aioquic.buffer import Buffer
        from aioquic.tls import (AlertBadCertificate, State, pull_certificate, pull_certificate_verify,
                                 pull_client_hello, pull_server_hello)
        from workbench.tls.enums import HandshakeType as HT
        from workbench.tls.enums import NamedGroup, SignatureScheme
        client, server, (hello, server_flight, client_finished, after) = self.handshake()
        require(client.state == State.CLIENT_POST_HANDSHAKE and server.state == State.SERVER_POST_HANDSHAKE,
                f"the handshake did not complete ({client.state}, {server.state})")
        require(not client.session_resumed, "the handshake was resumed")
        flight = handshake_messages(server_flight)
        require([m[0] for m in flight] == [HT.SERVER_HELLO, HT.ENCRYPTED_EXTENSIONS, HT.CERTIFICATE,
                                           HT.CERTIFICATE_VERIFY, HT.FINISHED],
                f"unexpected server flight {[HT(m[0]).name for m in flight]}")
        require([m[0] for m in handshake_messages(client_finished)] == [HT.FINISHED], "unexpected client flight")
        require(after == b"", "the server sent something after the client's Finished (a ticket?)")
        client_hello = pull_client_hello(Buffer(data=hello))
        require(client_hello.cipher_suites == [ANCHOR.suite], f"offered suites {client_hello.cipher_suites}")
        require(client_hello.supported_groups == [NamedGroup.X25519], f"offered groups {client_hello.supported_groups}")
        require([group for group, _ in client_hello.key_share] == [NamedGroup.X25519], "key shares beyond X25519")
        require(client_hello.pre_shared_key is None, "the client offered a PSK")
        require(client_hello.server_name == SERVER_NAME, f"SNI {client_hello.server_name!r}")
        server_hello = pull_server_hello(Buffer(data=flight[0]))
        require(server_hello.cipher_suite == ANCHOR.suite, f"negotiated suite {server_hello.cipher_suite:#06x}")
        require(server_hello.supported_version == ANCHOR.code, "not TLS 1.3")
        require(server_hello.key_share[0] == NamedGroup.X25519, f"negotiated group {server_hello.key_share[0]:#06x}")
        require(server_hello.pre_shared_key is None, "the server accepted a PSK")
        require(pull_certificate(Buffer(data=flight[2])).certificates[0][0] == self.leaf_der, "not our leaf")
        algorithm = pull_certificate_verify(Buffer(data=flight[3])).algorithm
        require(algorithm == SignatureScheme.ECDSA_SECP256R1_SHA256, f"signature scheme {algorithm:#06x}")
        checks = [f"aioquic negotiated {ANCHOR.suite_name}, x25519, ecdsa_secp256r1_sha256, no ticket, no PSK"]
        for kwargs, what in (({"server_name": "wrong.example"}, "a wrong server name"),
                             ({"cadata": stranger_cadata}, "an unknown CA")):
            try:
                self.handshake(**kwargs)
            except AlertBadCertificate as exc:
                checks.append(f"aioquic refused {what}: {exc}")
            else:
                raise RuntimeError(f"aioquic accepted {what}")
        return checks


# --- reference 2: a bare AESGCM record loop ------------------------------------------------------

class BareRecordLoop:
    """Seal and open 16 KiB application-data records with nothing around the AEAD calls."""

    def __init__(self):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from workbench.tls.enums import ContentType, ProtocolVersion
        key = os.urandom(16)
        self.sealer, self.opener = AESGCM(key), AESGCM(key)        # one per side, as two peers would
        self.iv = int.from_bytes(os.urandom(12), "big")
        self.sequence = 0
        self.payload = os.urandom(RECORD)
        self.inner_type = bytes([ContentType.APPLICATION_DATA])
        self.header = (bytes([ContentType.APPLICATION_DATA]) + ProtocolVersion.TLS12.to_bytes(2, "big")
                       + (RECORD + 1 + 16).to_bytes(2, "big"))
        self.check()

    def check(self) -> None:
        """Outside the timing: a record made by the loop's steps opens to the payload."""
        nonce = (self.iv ^ self.sequence).to_bytes(12, "big")
        record = self.header + self.sealer.encrypt(nonce, self.payload + self.inner_type, self.header)
        require(len(record) == 5 + RECORD + 1 + 16, f"record of {len(record)} bytes")
        inner = self.opener.decrypt(nonce, memoryview(record)[5:], record[:5])
        require(inner[:-1] == self.payload and inner[-1:] == self.inner_type, "the record did not open intact")
        self.sequence += 1

    def bulk(self) -> None:
        sealer, opener, iv, header = self.sealer, self.opener, self.iv, self.header
        payload, inner_type = self.payload, self.inner_type
        sequence = self.sequence
        for _ in range(BATCH):
            nonce = (iv ^ sequence).to_bytes(12, "big")
            sequence += 1
            # the type byte is joined to each record's data, as a record layer must for fresh data
            record = header + sealer.encrypt(nonce, payload + inner_type, header)
            opener.decrypt(nonce, memoryview(record)[5:], header)[:-1]
        self.sequence = sequence


# --- the run ---------------------------------------------------------------------------------------

REFERENCE_NAMES = {"handshake": "aioquic", "bulk": "AESGCM loop"}     # the measurements made, in order


def aioquic_version() -> tuple[str | None, str]:
    """aioquic's version, or None and why it cannot be imported."""
    try:
        import aioquic.tls  # noqa: F401
    except ImportError as exc:
        return None, str(exc)
    import aioquic
    return aioquic.__version__, ""


def measure(rounds: int, seconds: float, clock_name: str) -> dict:
    import cryptography
    from cryptography.hazmat.backends.openssl.backend import backend
    from workbench.pki import TestCA
    aioquic, missing = aioquic_version()
    references: dict[str, Callable[[], None]] = {}
    checks: list[str] = []
    ca = TestCA.create(key_type="ecdsa-p256")
    leaf = ca.issue(hostnames=(SERVER_NAME,), key_type="ecdsa-p256")
    if aioquic:
        aioquic_handshake = AioquicHandshake(ca, leaf)
        checks = aioquic_handshake.check(TestCA.create(key_type="ecdsa-p256").certificate_pem())
        references["handshake"] = aioquic_handshake.handshake
    references["bulk"] = BareRecordLoop().bulk
    result = against_anchor(ANCHOR, ca, leaf, references, rounds, seconds, clock_name, label="reference")
    # the figures last, None for a skipped reference
    figures = {RESULT_KEYS[what]: result.pop(RESULT_KEYS[what], None) for what in REFERENCE_NAMES}
    return {**result, "cryptography": cryptography.__version__,
            "cryptography_openssl": backend.openssl_version_text(), "aioquic": aioquic,
            "aioquic_missing": missing or None, "checks": checks, **figures}


def report(result: dict) -> None:
    versions = (f"aioquic {result['aioquic'] or '(not installed)'}, cryptography {result['cryptography']} "
                f"({result['cryptography_openssl']})")
    report_header(f"reference points against the anchor: {ANCHOR.title}", result,
                  (versions, *(f"check: {check}" for check in result["checks"])))
    for what, name in REFERENCE_NAMES.items():
        figures = result[RESULT_KEYS[what]]
        if figures is None:
            print(f"{REPORT_LABELS[what]:<20} {name}: skipped, {result['aioquic_missing']}; {SKIPPED_HOW_TO}")
        else:
            report_figures(what, figures, label="reference", name=f"{name:<11}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_options(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object on one line")
    args = parser.parse_args()
    result = measure(args.rounds, args.seconds, args.clock)
    if args.json:
        if result["aioquic"] is None:
            print(f"aioquic handshake skipped: {result['aioquic_missing']}; {SKIPPED_HOW_TO}", file=sys.stderr)
        print(json.dumps(result), flush=True)
    else:
        report(result)


if __name__ == "__main__":
    main()
