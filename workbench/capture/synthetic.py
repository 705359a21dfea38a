"""Synthetic TLS 1.3 captures with their key log: any number of connections and records, KeyUpdates, record
padding, 0-RTT early data, TCP segmentation by MSS. For benchmarks, demos and tests that need traffic no
public capture has (the records are real AEAD records; the handshake messages are well-formed but carry no
real key exchange, which a decoder with the key log does not need).
"""
from __future__ import annotations

import random
import struct
from dataclasses import dataclass


from workbench.tls import messages as m
from workbench.tls.cipher_suites import CIPHER_SUITES
from workbench.tls.extensions import (
    EarlyData, KeyShareClientHello, KeyShareEntry, KeyShareHelloRetryRequest, KeyShareServerHello,
    PreSharedKeyClientHello,
    PreSharedKeyServerHello, PskIdentity, PskKeyExchangeModes, SignatureAlgorithms, SupportedGroups,
    SupportedVersionsClientHello, SupportedVersionsServerHello,
)
from workbench.tls.key_schedule import next_traffic_secret, traffic_keys

from .pcap_io import LINKTYPE_ETHERNET, PcapNgWriter, PcapWriter
from .record_ciphers import make_aead

CLIENT, SERVER = 0, 1
_X25519 = 0x001D


class _TCPFlow:
    """Ethernet/IPv4/TCP framing of one connection's two byte streams into packets."""

    def __init__(self, sink, client: tuple[str, int], server: tuple[str, int], mss: int, clock: list[float]):
        self.sink = sink
        self.addrs = (bytes(map(int, client[0].split("."))), bytes(map(int, server[0].split("."))))
        self.ports = (client[1], server[1])
        self.seq = [1000, 500_000]
        self.mss = mss
        self.clock = clock
        self.ident = 0

    def _packet(self, side: int, flags: int, payload: bytes = b"") -> None:
        src, dst = self.addrs[side], self.addrs[1 - side]
        sport, dport = self.ports[side], self.ports[1 - side]
        ack = self.seq[1 - side]
        tcp = struct.pack("!HHIIBBHHH", sport, dport, self.seq[side], ack, 5 << 4, flags, 65535, 0, 0)
        self.ident = (self.ident + 1) & 0xFFFF
        total = 20 + len(tcp) + len(payload)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, self.ident, 0x4000, 64, 6, 0, src, dst)
        checksum = sum(struct.unpack("!10H", ip))
        checksum = (checksum & 0xFFFF) + (checksum >> 16)
        checksum = ~((checksum & 0xFFFF) + (checksum >> 16)) & 0xFFFF
        ip = ip[:10] + struct.pack("!H", checksum) + ip[12:]
        eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
        if side == SERVER:
            eth = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00"
        self.clock[0] += 1e-5
        self.sink.write(eth + ip + tcp + payload, self.clock[0])
        self.seq[side] = (self.seq[side] + len(payload) + (1 if flags & 0x03 else 0)) & 0xFFFFFFFF

    def open(self) -> None:
        self._packet(CLIENT, 0x02)
        self._packet(SERVER, 0x12)
        self._packet(CLIENT, 0x10)

    def send(self, side: int, data: bytes) -> None:
        for i in range(0, len(data), self.mss):
            self._packet(side, 0x18, data[i:i + self.mss])

    def close(self) -> None:
        self._packet(CLIENT, 0x11)
        self._packet(SERVER, 0x11)
        self._packet(CLIENT, 0x10)


class _RecordWriter:
    """TLS 1.3 records of one direction: plaintext or AEAD-protected with the current traffic secret."""

    def __init__(self, suite):
        self.suite = suite
        self.aead = None
        self.iv = 0
        self.seq = 0
        self.secret: bytes | None = None

    def keys(self, secret: bytes) -> None:
        key, iv = traffic_keys(self.suite, secret)
        self.aead = make_aead(self.suite, key)
        self.iv = int.from_bytes(iv, "big")
        self.seq = 0
        self.secret = secret

    def plaintext(self, ctype: int, payload: bytes, version: int = 0x0303) -> bytes:
        return struct.pack("!BHH", ctype, version, len(payload)) + payload

    def protected(self, inner_type: int, payload: bytes, padding: int = 0) -> bytes:
        inner = payload + bytes((inner_type,)) + bytes(padding)
        header = struct.pack("!BHH", 23, 0x0303, len(inner) + self.suite.tag_length)
        nonce = (self.iv ^ self.seq).to_bytes(12, "big")
        self.seq += 1
        return header + self.aead.encrypt(nonce, inner, header)


@dataclass
class SyntheticOptions:
    records: int = 1000                 # application data records per connection (both directions together)
    connections: int = 1
    suite: int = 0x1301
    key_update_every: int = 0           # a KeyUpdate after every N application records of a direction (0: none)
    padding: int = 0                    # zero bytes of record padding added to every protected record
    early_data: bool = False            # second and later connections resume with 0-RTT data
    hello_retry: bool = False           # the server answers the first ClientHello with a HelloRetryRequest
    min_size: int = 16
    max_size: int = 1500
    big_record_every: int = 50          # every Nth record carries 2**14 bytes (0: never)
    mss: int = 1448
    seed: int = 0


def write_tls13_capture(path, options: SyntheticOptions | None = None, *, pcapng: bool = False,
                        secrets_block: bool = False, **overrides) -> str:
    """Write a synthetic TLS 1.3 capture (pcap, or pcapng; secrets_block puts the key log in a Decryption
    Secrets Block); returns the key log text."""
    opts = options or SyntheticOptions()
    for key, value in overrides.items():
        setattr(opts, key, value)
    rng = random.Random(opts.seed)
    suite = CIPHER_SUITES[opts.suite]
    keylog_lines: list[str] = []
    clock = [1_700_000_000.0]
    with open(path, "wb") as f:
        if pcapng:
            writer = _DeferredSecrets(f) if secrets_block else PcapNgWriter(f, LINKTYPE_ETHERNET)
        else:
            writer = PcapWriter(f, LINKTYPE_ETHERNET)
        sink = writer
        for n in range(opts.connections):
            _connection(sink, rng, suite, opts, n, keylog_lines, clock)
        if secrets_block and pcapng:
            writer.finish("".join(keylog_lines))
    return "".join(keylog_lines)


class _DeferredSecrets:
    """Collects packets in memory, then writes a pcapng with the Decryption Secrets Block first (keys are only
    known once the traffic is generated)."""

    def __init__(self, f):
        self.f = f
        self.packets: list[tuple[bytes, float]] = []

    def write(self, data: bytes, time: float) -> None:
        self.packets.append((data, time))

    def finish(self, keylog: str) -> None:
        w = PcapNgWriter(self.f, LINKTYPE_ETHERNET, secrets=keylog)
        for data, time in self.packets:
            w.write(data, time)


def _connection(sink, rng: random.Random, suite, opts: SyntheticOptions, index: int, keylog: list[str],
                clock: list[float]) -> None:
    rnd = lambda n: bytes(rng.getrandbits(8) for _ in range(n))  # noqa: E731 - reproducible bytes
    hash_len = suite.hash_length
    client_random = rnd(32)
    secrets = {label: rnd(hash_len) for label in (
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0")}
    early = opts.early_data and index > 0
    if early:
        secrets["CLIENT_EARLY_TRAFFIC_SECRET"] = rnd(hash_len)
    for label, secret in secrets.items():
        keylog.append(f"{label} {client_random.hex()} {secret.hex()}\n")

    flow = _TCPFlow(sink, (f"10.0.{index >> 8 & 255}.{index & 255 or 1}", 40000 + index % 20000),
                    ("10.1.0.1", 443), opts.mss, clock)
    flow.open()
    out = (_RecordWriter(suite), _RecordWriter(suite))
    pad = opts.padding

    extensions = [SupportedVersionsClientHello((0x0304,)), SupportedGroups((_X25519,)),
                  SignatureAlgorithms((0x0403, 0x0804)), KeyShareClientHello((KeyShareEntry(_X25519, rnd(32)),))]
    if early:
        extensions += [PskKeyExchangeModes((1,)), EarlyData(),
                       PreSharedKeyClientHello((PskIdentity(rnd(64), rng.getrandbits(32)),), (rnd(hash_len),))]
    ch = m.ClientHello(client_random, rnd(32), (opts.suite,), tuple(extensions))
    if opts.hello_retry and not early:
        flow.send(CLIENT, out[CLIENT].plaintext(22, m.encode_handshake(ch), 0x0301))
        hrr = m.ServerHello(m.HELLO_RETRY_REQUEST_RANDOM, ch.legacy_session_id, opts.suite,
                            (SupportedVersionsServerHello(0x0304), KeyShareHelloRetryRequest(0x0017)))
        flow.send(SERVER, out[SERVER].plaintext(22, m.encode_handshake(hrr)) + out[SERVER].plaintext(20, b"\x01"))
        extensions[3] = KeyShareClientHello((KeyShareEntry(0x0017, b"\x04" + rnd(64)),))
        ch = m.ClientHello(client_random, ch.legacy_session_id, (opts.suite,), tuple(extensions))
        flow.send(CLIENT, out[CLIENT].plaintext(20, b"\x01") + out[CLIENT].plaintext(22, m.encode_handshake(ch)))
    else:
        flow.send(CLIENT, out[CLIENT].plaintext(22, m.encode_handshake(ch), 0x0301))
    if early:
        out[CLIENT].keys(secrets["CLIENT_EARLY_TRAFFIC_SECRET"])
        flow.send(CLIENT, out[CLIENT].protected(23, b"GET /early HTTP/1.1\r\n\r\n", pad)
                  + out[CLIENT].protected(22, m.encode_handshake(m.EndOfEarlyData()), pad))

    sh_ext = [SupportedVersionsServerHello(0x0304), KeyShareServerHello(KeyShareEntry(_X25519, rnd(32)))]
    if early:
        sh_ext.append(PreSharedKeyServerHello(0))
    sh = m.ServerHello(rnd(32), ch.legacy_session_id, opts.suite, tuple(sh_ext))
    server = out[SERVER]
    flight = server.plaintext(22, m.encode_handshake(sh))
    if not (opts.hello_retry and not early):
        flight += server.plaintext(20, b"\x01")
    server.keys(secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"])
    ee = m.EncryptedExtensions((EarlyData(),) if early else ())
    flight += server.protected(22, m.encode_handshake(ee) + m.encode_handshake(m.Finished(rnd(hash_len))), pad)
    flow.send(SERVER, flight)
    server.keys(secrets["SERVER_TRAFFIC_SECRET_0"])

    client = out[CLIENT]
    client.keys(secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"])
    ccs = b"" if opts.hello_retry and not early else client.plaintext(20, b"\x01")
    flow.send(CLIENT, ccs + client.protected(22, m.encode_handshake(m.Finished(rnd(hash_len))), pad))
    client.keys(secrets["CLIENT_TRAFFIC_SECRET_0"])
    nst = m.NewSessionTicket(7200, rng.getrandbits(32), b"\x00", rnd(64), ())
    flow.send(SERVER, server.protected(22, m.encode_handshake(nst), pad))

    payload = rnd(1 << 14)
    sent = [0, 0]
    side = CLIENT
    pending = b""
    for i in range(opts.records):
        if rng.random() < 0.3:                    # a change of direction now and then
            if pending:
                flow.send(side, pending)
                pending = b""
            side = 1 - side
        big = opts.big_record_every and i % opts.big_record_every == opts.big_record_every - 1
        size = (1 << 14) - pad if big else rng.randint(opts.min_size, opts.max_size)
        writer = out[side]
        pending += writer.protected(23, payload[:size], pad)
        sent[side] += 1
        if opts.key_update_every and sent[side] % opts.key_update_every == 0:
            pending += writer.protected(22, m.encode_handshake(m.KeyUpdate(0)), pad)
            writer.keys(next_traffic_secret(suite.hash, writer.secret))
        if len(pending) >= 4 * opts.mss:
            flow.send(side, pending)
            pending = b""
    if pending:
        flow.send(side, pending)
    for side in (CLIENT, SERVER):
        flow.send(side, out[side].protected(21, b"\x01\x00", pad))
    flow.close()
