"""Synthetic TLS 1.2 captures with their key log: full and abbreviated (session id) handshakes, session tickets,
client- or server-initiated renegotiation, AEAD and AES-CBC suites (MAC-then-encrypt or encrypt-then-MAC).
Records are really protected (cryptography AES-GCM / ChaCha20-Poly1305 / AES-CBC + HMAC); the handshake
messages are well-formed but carry no real key exchange or signature (a decoder with the key log does not
need them)."""
from __future__ import annotations

import random
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from workbench.tls import messages as m
from workbench.tls.extensions import EncryptThenMac, RenegotiationInfo, SessionTicket
from workbench.tls.key_schedule import key_block12, prf12

from .pcap_io import LINKTYPE_ETHERNET, PcapWriter
from .record_ciphers import make_aead
from .suites import CBCSuite, lookup_suite
from .synthetic import CLIENT, SERVER, _TCPFlow

_X25519 = 0x001D


class _Record12Writer:
    """TLS 1.2 records of one direction: plaintext until keys are set, then AEAD or CBC protected."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.protect = None
        self.seq = 0

    def plaintext(self, ctype: int, payload: bytes) -> bytes:
        return struct.pack("!BHH", ctype, 0x0303, len(payload)) + payload

    def record(self, ctype: int, payload: bytes) -> bytes:
        if self.protect is None:
            return self.plaintext(ctype, payload)
        body = self.protect(ctype, payload, self.seq)
        self.seq += 1
        return struct.pack("!BHH", ctype, 0x0303, len(body)) + body

    def keys_aead(self, suite, key: bytes, iv: bytes) -> None:
        aead = make_aead(suite, key)
        explicit = suite.explicit_nonce_length
        iv_int = int.from_bytes(iv, "big")

        def protect(ctype, payload, seq):
            aad = seq.to_bytes(8, "big") + bytes((ctype, 3, 3)) + len(payload).to_bytes(2, "big")
            if explicit:
                nonce_explicit = seq.to_bytes(8, "big")
                return nonce_explicit + aead.encrypt(iv + nonce_explicit, payload, aad)
            return aead.encrypt((iv_int ^ seq).to_bytes(12, "big"), payload, aad)

        self.protect, self.seq = protect, 0

    def keys_cbc(self, suite: CBCSuite, key: bytes, mac_key: bytes, etm: bool) -> None:
        def mac(data: bytes) -> bytes:
            h = hmac.HMAC(mac_key, suite.mac_hash())
            h.update(data)
            return h.finalize()

        def cbc(data: bytes) -> bytes:
            iv = bytes(self.rng.getrandbits(8) for _ in range(16))
            pad = 15 - len(data) % 16
            e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
            return iv + e.update(data + bytes([pad]) * (pad + 1)) + e.finalize()

        def protect(ctype, payload, seq):
            prefix = seq.to_bytes(8, "big") + bytes((ctype, 3, 3))
            if etm:
                body = cbc(payload)
                return body + mac(prefix + len(body).to_bytes(2, "big") + body)
            return cbc(payload + mac(prefix + len(payload).to_bytes(2, "big") + payload))

        self.protect, self.seq = protect, 0


@dataclass
class Tls12Options:
    suite: int = 0xC02F
    encrypt_then_mac: bool = False      # CBC suites: negotiate RFC 7366
    records: int = 6                    # application data records per connection
    renegotiate: str | None = None      # None, "client" (ClientHello under encryption), "server" (HelloRequest)
    log_renegotiation: bool = True      # the key log has the renegotiated handshake's CLIENT_RANDOM
    resume: bool = False                # a second connection resumes the first by session id
    log_resumed: bool = True            # the key log has a CLIENT_RANDOM line for the resumed connection
    ticket: bool = False                # the server issues a session ticket (NewSessionTicket)
    seed: int = 0
    mss: int = 1448


def write_tls12_capture(path, options: Tls12Options | None = None, **overrides) -> str:
    """Write a synthetic TLS 1.2 capture as pcap; returns the key log text."""
    opts = options or Tls12Options()
    for key, value in overrides.items():
        setattr(opts, key, value)
    rng = random.Random(opts.seed)
    keylog: list[str] = []
    clock = [1_700_000_000.0]
    with open(path, "wb") as f:
        sink = PcapWriter(f, LINKTYPE_ETHERNET)
        session = _connection(sink, rng, opts, 0, keylog, clock, resume=None)
        if opts.resume:
            _connection(sink, rng, opts, 1, keylog, clock, resume=session)
    return "".join(keylog)


class _Conn:
    def __init__(self, sink, rng, opts, index, keylog, clock):
        self.rng = rng
        self.opts = opts
        self.keylog = keylog
        self.suite = lookup_suite(opts.suite)
        self.flow = _TCPFlow(sink, (f"10.2.0.{index + 1}", 50000 + index), ("10.3.0.1", 443), opts.mss, clock)
        self.out = (_Record12Writer(rng), _Record12Writer(rng))

    def rnd(self, n: int) -> bytes:
        return bytes(self.rng.getrandbits(8) for _ in range(n))

    def send(self, side: int, *records: tuple[int, bytes]) -> None:
        self.flow.send(side, b"".join(self.out[side].record(t, p) for t, p in records))

    def pending_keys(self, master: bytes, cr: bytes, sr: bytes):
        suite = self.suite
        if isinstance(suite, CBCSuite):
            mac, key = suite.mac_length, suite.key_length
            kb = prf12(suite.hash, master, b"key expansion", sr + cr, 2 * (mac + key))
            cmac, smac, ckey, skey = kb[:mac], kb[mac:2 * mac], kb[2 * mac:2 * mac + key], kb[2 * mac + key:]
            etm = self.opts.encrypt_then_mac
            return (lambda w: w.keys_cbc(suite, ckey, cmac, etm)), (lambda w: w.keys_cbc(suite, skey, smac, etm))
        ckey, skey, civ, siv = key_block12(suite, master, cr, sr)
        return (lambda w: w.keys_aead(suite, ckey, civ)), (lambda w: w.keys_aead(suite, skey, siv))

    def hello(self, session_id: bytes = b""):
        """Send the ClientHello; returns (client random, server random, ServerHello to send, new master secret
        (None when resuming), session id)."""
        cr = self.rnd(32)
        ext = [RenegotiationInfo(b"")]
        if self.opts.encrypt_then_mac:
            ext.append(EncryptThenMac())
        if self.opts.ticket:
            ext.append(SessionTicket(b""))
        ch = m.ClientHello(cr, session_id, (self.opts.suite,), tuple(ext))
        self.send(CLIENT, (22, m.encode_handshake(ch)))
        sr = self.rnd(32)
        resumed = bool(session_id)
        sid = session_id or self.rnd(32)
        sh_ext = [RenegotiationInfo(b"")]
        if self.opts.encrypt_then_mac:
            sh_ext.append(EncryptThenMac())
        if self.opts.ticket and not resumed:
            sh_ext.append(SessionTicket(b""))
        sh = m.ServerHello(sr, sid, self.opts.suite, tuple(sh_ext))
        master = None if resumed else self.rnd(48)
        return cr, sr, sh, master, sid

    def full_handshake(self, *, log: bool = True) -> tuple[bytes, bytes]:
        cr, sr, sh, master, sid = self.hello()
        self.send(SERVER, (22, m.encode_handshake(sh)), (22, m.encode_handshake(m.Certificate12(()))),
                  (22, m.encode_handshake(m.ServerKeyExchangeECDHE(3, _X25519, self.rnd(32), 0x0403, self.rnd(70)))),
                  (22, m.encode_handshake(m.ServerHelloDone())))
        if log:
            self.keylog.append(f"CLIENT_RANDOM {cr.hex()} {master.hex()}\n")
        client_keys, server_keys = self.pending_keys(master, cr, sr)
        self.send(CLIENT, (22, m.encode_handshake(m.ClientKeyExchangeECDHE(self.rnd(32)))), (20, b"\x01"))
        client_keys(self.out[CLIENT])
        self.send(CLIENT, (22, m.encode_handshake(m.Finished(self.rnd(12)))))
        server_records = []
        if self.opts.ticket:
            server_records.append((22, m.encode_handshake(m.NewSessionTicket12(7200, self.rnd(96)))))
        self.send(SERVER, *server_records, (20, b"\x01"))
        server_keys(self.out[SERVER])
        self.send(SERVER, (22, m.encode_handshake(m.Finished(self.rnd(12)))))
        return sid, master

    def abbreviated_handshake(self, session_id: bytes, master: bytes, *, log: bool) -> None:
        cr, sr, sh, _, _ = self.hello(session_id)
        if log:
            self.keylog.append(f"CLIENT_RANDOM {cr.hex()} {master.hex()}\n")
        client_keys, server_keys = self.pending_keys(master, cr, sr)
        self.send(SERVER, (22, m.encode_handshake(sh)), (20, b"\x01"))
        server_keys(self.out[SERVER])
        self.send(SERVER, (22, m.encode_handshake(m.Finished(self.rnd(12)))))
        self.send(CLIENT, (20, b"\x01"))
        client_keys(self.out[CLIENT])
        self.send(CLIENT, (22, m.encode_handshake(m.Finished(self.rnd(12)))))

    def data(self, n: int) -> None:
        for i in range(n):
            side = CLIENT if i % 2 == 0 else SERVER
            self.send(side, (23, f"record {i} ".encode() * self.rng.randint(1, 40)))

    def close(self) -> None:
        self.send(CLIENT, (21, b"\x01\x00"))
        self.send(SERVER, (21, b"\x01\x00"))
        self.flow.close()


def _connection(sink, rng, opts: Tls12Options, index: int, keylog: list[str], clock, resume):
    conn = _Conn(sink, rng, opts, index, keylog, clock)
    conn.flow.open()
    if resume is None:
        session = conn.full_handshake()
    else:
        conn.abbreviated_handshake(*resume, log=opts.log_resumed)
        session = resume
    conn.data(opts.records // 2)
    if opts.renegotiate and resume is None:
        if opts.renegotiate == "server":
            conn.send(SERVER, (22, m.encode_handshake(m.HelloRequest())))
        conn.full_handshake(log=opts.log_renegotiation)
    conn.data(opts.records - opts.records // 2)
    conn.close()
    return session
