"""TLS 1.2 engine speed against Python's ssl module, in the same run (bench_engine.py's TLS 1.2 sibling).

Measures, for TLS 1.2 with ECDSA P-256 certificates, ECDHE over X25519, extended master secret and
ECDHE-ECDSA-AES128-GCM-SHA256 (certificate chain and host name verification on, events on):
  - full handshakes per second, in process (client and server in one thread);
  - bulk throughput with 16 KiB records (encrypt on one side, decrypt on the other).
The anchor is Python's ssl module through a MemoryBIO pair, restricted to the same suite (TLS 1.2
suites can be chosen in process), without session tickets, as ours (its server keeps OpenSSL's
session cache, which Python cannot turn off; ours keeps each connection's session); X25519 is
OpenSSL's first default group, and the anchor checks suite and version before measuring.
Rounds alternate between ours and the anchor (the order flips each round); medians are reported.

    .venv/bin/python benchmarks/bench_engine12.py [--rounds 5] [--seconds 1.5] [--clock cpu|wall] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import ssl
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import bench_engine  # noqa: E402  (the shared timing and pumping helpers)
from bench_engine import BATCH, CLOCKS, RECORD, drain, pump  # noqa: E402

TLS12 = 0x0303
SUITE = 0xC02B
SUITE_NAME = "ECDHE-ECDSA-AES128-GCM-SHA256"


def rate(fn, seconds: float) -> float:
    return bench_engine.rate(fn, seconds)


class Ours:
    def __init__(self, ca, leaf):
        from workbench.tls import ClientConfig, ServerConfig
        from workbench.tls.enums import NamedGroup
        common = dict(versions=(TLS12,), cipher_suites=(SUITE,), supported_groups=(NamedGroup.X25519,))
        self.client_config = ClientConfig(server_name="localhost", trust_anchors=(ca.certificate,), **common)
        self.server_config = ServerConfig(certificate_chain=(leaf.certificate,), private_key=leaf.private_key,
                                          **common)
        self.payload = os.urandom(RECORD)
        self.check()
        self.bulk_pair = self.handshake()

    def handshake(self):
        from workbench.tls import Connection
        client, server = Connection(self.client_config), Connection(self.server_config)
        client.start_handshake()
        pump(client, server)
        assert client.handshake_complete and server.handshake_complete
        drain(client)
        drain(server)
        return client, server

    def check(self) -> None:
        """Outside the timing: the handshake is the one we claim to measure, and data arrives intact."""
        from workbench.tls.enums import NamedGroup, SignatureScheme
        from workbench.tls.events import ApplicationData
        client, server = self.handshake()
        assert client.version == TLS12 and client.cipher_suite == SUITE, (client.version, client.cipher_suite)
        assert client.group == NamedGroup.X25519 and client.negotiated.extended_master_secret
        assert client.negotiated.signature_scheme == SignatureScheme.ECDSA_SECP256R1_SHA256
        client.send(self.payload)
        server.receive_data(client.data_to_send())
        data = [e.data for e in server.events() if isinstance(e, ApplicationData)]
        assert data == [self.payload], "bulk data did not arrive intact"

    def bulk(self) -> None:
        client, server = self.bulk_pair
        payload = self.payload
        for _ in range(BATCH):
            client.send(payload)
            server.receive_data(client.data_to_send())
            drain(server)
            drain(client)


class Anchor:
    def __init__(self, ca_path: str, cert_path: str, key_path: str):
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.minimum_version = server.maximum_version = ssl.TLSVersion.TLSv1_2
        server.set_ciphers(SUITE_NAME)
        server.options |= ssl.OP_NO_TICKET
        server.load_cert_chain(cert_path, key_path)
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.minimum_version = client.maximum_version = ssl.TLSVersion.TLSv1_2
        client.set_ciphers(SUITE_NAME)
        client.load_verify_locations(ca_path)
        assert client.verify_mode == ssl.CERT_REQUIRED and client.check_hostname
        self.client_ctx, self.server_ctx = client, server
        self.payload = os.urandom(RECORD)
        self.check()
        self.bulk_pair = self.handshake()

    def handshake(self):
        c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
        client = self.client_ctx.wrap_bio(c_in, c_out, server_hostname="localhost")
        server = self.server_ctx.wrap_bio(s_in, s_out, server_side=True)
        done_c = done_s = False
        while not (done_c and done_s):
            if not done_c:
                try:
                    client.do_handshake()
                    done_c = True
                except ssl.SSLWantReadError:
                    pass
            s_in.write(c_out.read())
            if not done_s:
                try:
                    server.do_handshake()
                    done_s = True
                except ssl.SSLWantReadError:
                    pass
            c_in.write(s_out.read())
        return client, server, (c_in, c_out, s_in, s_out)

    def check(self) -> None:
        client, server, (c_in, c_out, s_in, s_out) = self.handshake()
        name, version, _ = client.cipher()
        if name != SUITE_NAME or version != "TLSv1.2":
            raise RuntimeError(f"the anchor negotiated {name} / {version}, not {SUITE_NAME} / TLSv1.2")
        client.write(self.payload)
        s_in.write(c_out.read())
        received = b""
        while len(received) < RECORD:
            received += server.read(RECORD)
        assert received == self.payload, "bulk data did not arrive intact"

    def bulk(self) -> None:
        client, server, (c_in, c_out, s_in, s_out) = self.bulk_pair
        payload = self.payload
        for _ in range(BATCH):
            client.write(payload)
            s_in.write(c_out.read())
            remaining = RECORD
            while remaining:
                remaining -= len(server.read(remaining))


def measure(rounds: int, seconds: float, clock_name: str) -> dict:
    from workbench.pki import TestCA
    bench_engine.clock = CLOCKS[clock_name]
    ca = TestCA.create(key_type="ecdsa-p256")
    leaf = ca.issue(hostnames=("localhost",), key_type="ecdsa-p256")
    ours = Ours(ca, leaf)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, name) for name in ("ca.pem", "leaf.pem", "leaf.key")]
        ca.write_pem(paths[0])
        leaf.write_pem(paths[1], paths[2])
        anchor = Anchor(*paths)
    samples: dict[str, list[float]] = {"ours_hs": [], "ssl_hs": [], "ours_bulk": [], "ssl_bulk": []}
    to_mb = BATCH * RECORD / 1e6
    for i in range(rounds):
        steps = [
            ("ours_hs", lambda: rate(ours.handshake, seconds)),
            ("ssl_hs", lambda: rate(anchor.handshake, seconds)),
            ("ours_bulk", lambda: rate(ours.bulk, seconds) * to_mb),
            ("ssl_bulk", lambda: rate(anchor.bulk, seconds) * to_mb),
        ]
        if i % 2:
            steps = [steps[1], steps[0], steps[3], steps[2]]
        for key, run in steps:
            samples[key].append(run())

    def summary(ours_key: str, ssl_key: str) -> dict:
        ours_median, ssl_median = statistics.median(samples[ours_key]), statistics.median(samples[ssl_key])
        return {"ours": round(ours_median, 1), "ssl": round(ssl_median, 1), "ratio": round(ours_median / ssl_median, 2),
                "round_ratios": [round(o / s, 2) for o, s in zip(samples[ours_key], samples[ssl_key])]}

    return {"suite": SUITE_NAME, "version": "TLSv1.2", "openssl": ssl.OPENSSL_VERSION,
            "python": sys.version.split()[0], "rounds": rounds, "seconds_per_measurement": seconds,
            "clock": clock_name, "handshakes_per_s": summary("ours_hs", "ssl_hs"),
            "bulk_MB_per_s": summary("ours_bulk", "ssl_bulk")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.5, help="per measurement")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.rounds, args.seconds, args.clock)
    if args.json:
        print(json.dumps(result))
        return
    hs, bulk = result["handshakes_per_s"], result["bulk_MB_per_s"]
    print(f"TLS 1.2, ECDSA P-256, X25519, {result['suite']}, EMS ({result['openssl']}, Python {result['python']})")
    print(f"medians of {result['rounds']} alternating rounds of {result['seconds_per_measurement']} s "
          f"({result['clock']} time)")
    print(f"full handshakes/s  ours {hs['ours']:8.1f}   ssl {hs['ssl']:8.1f}   ratio {hs['ratio']:.2f}x"
          f"   (rounds {', '.join(f'{r:.2f}' for r in hs['round_ratios'])})")
    print(f"bulk MB/s (16 KiB) ours {bulk['ours']:8.1f}   ssl {bulk['ssl']:8.1f}   ratio {bulk['ratio']:.2f}x"
          f"   (rounds {', '.join(f'{r:.2f}' for r in bulk['round_ratios'])})")


if __name__ == "__main__":
    main()
