"""Python's ssl module (OpenSSL) as an in-memory TLS 1.2 peer of our engine, through MemoryBIOs.

`SSLPeer` is one end: `exchange(ours)` moves bytes both ways until neither side has more to say,
and the peer's key log (keylog_filename) lets a test compare master secrets.
"""
from __future__ import annotations

import ssl
from pathlib import Path

from workbench.tls import Connection

from . import certs

# OpenSSL's names of the TLS 1.2 suites the engine speaks.
OPENSSL_NAMES = {
    0xC02B: "ECDHE-ECDSA-AES128-GCM-SHA256", 0xC02C: "ECDHE-ECDSA-AES256-GCM-SHA384",
    0xCCA9: "ECDHE-ECDSA-CHACHA20-POLY1305", 0xC02F: "ECDHE-RSA-AES128-GCM-SHA256",
    0xC030: "ECDHE-RSA-AES256-GCM-SHA384", 0xCCA8: "ECDHE-RSA-CHACHA20-POLY1305",
}


class SSLPeer:
    def __init__(self, context: ssl.SSLContext, server_side: bool, keylog: Path):
        self.keylog = keylog
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.sslobj = context.wrap_bio(self.incoming, self.outgoing, server_side=server_side,
                                       server_hostname=None if server_side else "localhost")
        self.handshake_done = False

    def step(self) -> None:
        if not self.handshake_done:
            try:
                self.sslobj.do_handshake()
                self.handshake_done = True
            except ssl.SSLWantReadError:
                pass

    def exchange(self, ours: Connection, rounds: int = 20) -> None:
        for _ in range(rounds):
            data = ours.data_to_send()
            if data:
                self.incoming.write(data)
            self.step()
            reply = self.outgoing.read()
            if reply:
                ours.receive_data(reply)
            if not data and not reply:
                return
        raise AssertionError("the exchange with the ssl peer did not settle")

    def read(self, size: int) -> bytes:
        out = b""
        while len(out) < size:
            out += self.sslobj.read(size - len(out))
        return out

    def write(self, ours: Connection, data: bytes) -> None:
        self.sslobj.write(data)
        ours.receive_data(self.outgoing.read())

    def master_secrets(self) -> dict[str, str]:
        """client_random hex -> master secret hex, from the peer's key log."""
        lines = [line.split() for line in self.keylog.read_text().splitlines() if line.startswith("CLIENT_RANDOM")]
        return {random: secret for _, random, secret in lines}


def _context(protocol: int, tmp_path: Path, suite: int | None) -> ssl.SSLContext:
    context = ssl.SSLContext(protocol)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    if suite is not None:
        context.set_ciphers(OPENSSL_NAMES[suite])
    context.keylog_filename = str(tmp_path / f"ssl-{id(context)}.keys")
    return context


def ssl_server12(tmp_path: Path, key_type: str = "ecdsa-p256", suite: int | None = None) -> SSLPeer:
    context = _context(ssl.PROTOCOL_TLS_SERVER, tmp_path, suite)
    cert_file, key_file = certs.server_leaf(key_type).pem_files(tmp_path)
    context.load_cert_chain(cert_file, key_file)
    return SSLPeer(context, True, Path(context.keylog_filename))


def ssl_client12(tmp_path: Path, suite: int | None = None) -> SSLPeer:
    context = _context(ssl.PROTOCOL_TLS_CLIENT, tmp_path, suite)
    context.load_verify_locations(cadata=certs.root().pem().decode())
    return SSLPeer(context, False, Path(context.keylog_filename))
