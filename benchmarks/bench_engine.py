"""Engine speed against Python's ssl module, in the same run.

Measures, for TLS 1.3 with ECDSA P-256 certificates, X25519 and TLS_AES_128_GCM_SHA256
(certificate chain and host name verification on, events on):
  - full handshakes per second, in process (client and server in one thread);
  - resumed handshakes per second (psk_dhe_ke with a stateless ticket; the server issues one
    ticket per connection and the client offers each ticket once, on both sides);
  - bulk throughput with 16 KiB records (encrypt on one side, decrypt on the other).
The anchor is Python's ssl module driven through a MemoryBIO pair. Figures are printed as
ratios (ours / ssl); docs/benchmarks.md keeps the recorded ones.

Fairness: Python < 3.13 cannot restrict TLS 1.3 cipher suites in process, so the anchor runs in
a worker subprocess whose OPENSSL_CONF names a temporary openssl.cnf with
Ciphersuites = TLS_AES_128_GCM_SHA256 and Groups = X25519; the worker checks the negotiated suite
with SSLObject.cipher() before it measures anything. Both sides use one shared context/config
(a parsed trust store), no session tickets, and the same certificate. Measurements alternate
between ours and the anchor for several rounds (the order flips every round); the medians are
reported, because a small machine is noisy.

    .venv/bin/python benchmarks/bench_engine.py [--rounds 5] [--seconds 1.5] [--clock cpu|wall] [--json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

RECORD = 16 * 1024
BATCH = 64                       # records per timed bulk call
SUITE_NAME = "TLS_AES_128_GCM_SHA256"

OPENSSL_CNF = f"""\
openssl_conf = openssl_init

[openssl_init]
ssl_conf = ssl_sect

[ssl_sect]
system_default = system_default_sect

[system_default_sect]
Ciphersuites = {SUITE_NAME}
Groups = X25519
"""


# --- timing ------------------------------------------------------------------

# CPU time of this process by default: on a shared machine it leaves out the time other programs
# hold the core, which wall time would charge to whichever side happened to be running.
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
clock = CLOCKS["cpu"]


def rate(fn, seconds: float) -> float:
    """Calls per second of fn over about `seconds` of the chosen clock, after one warm-up call."""
    fn()
    n, start = 0, clock()
    while True:
        fn()
        n += 1
        elapsed = clock() - start
        if elapsed >= seconds:
            return n / elapsed


# --- our engine ------------------------------------------------------------

def pump(a, b) -> None:
    """Move bytes both ways until neither side has anything to send."""
    while True:
        moved = False
        data = a.data_to_send()
        if data:
            b.receive_data(data)
            moved = True
        data = b.data_to_send()
        if data:
            a.receive_data(data)
            moved = True
        if not moved:
            return


def drain(conn) -> int:
    n = 0
    while conn.next_event() is not None:
        n += 1
    return n


class Ours:
    def __init__(self, ca, leaf):
        from workbench.tls import ClientConfig, ServerConfig
        from workbench.tls.enums import CipherSuite, NamedGroup
        self.client_config = ClientConfig(server_name="localhost", trust_anchors=(ca.certificate,),
                                          cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,),
                                          supported_groups=(NamedGroup.X25519,))
        server_options = {}
        if "ticket_count" in {f.name for f in dataclasses.fields(ServerConfig)}:
            server_options["ticket_count"] = 0          # the anchor's server sends no tickets either
        self.server_config = ServerConfig(certificate_chain=(leaf.certificate,), private_key=leaf.private_key,
                                          cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,),
                                          supported_groups=(NamedGroup.X25519,), **server_options)
        # Resumption: one ticket per connection, each offered once (the wallet hands out the newest).
        self.resume_client_config = dataclasses.replace(self.client_config, resume_from_wallet=True, wallet=None)
        self.resume_server_config = dataclasses.replace(self.server_config, ticket_count=1, tickets=None,
                                                        anti_replay=None, session_cache=None)
        self.payload = os.urandom(RECORD)
        self.check()
        self.check_resumption()
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

    def resumed_handshake(self):
        from workbench.tls import Connection
        client, server = Connection(self.resume_client_config), Connection(self.resume_server_config)
        client.start_handshake()
        pump(client, server)            # the new ticket travels too, as in the anchor
        drain(client)
        drain(server)
        return client, server

    def check_resumption(self) -> None:
        """Outside the timing: every connection resumes (no Certificate) and brings its next ticket."""
        from workbench.tls.enums import SessionFlag
        for _ in range(3):
            client, server = self.resumed_handshake()
        assert client.negotiated.resumed and server.negotiated.resumed, "the handshake was not resumed"
        assert client.peer_certificates == () and client.negotiated.signature_scheme is None
        assert SessionFlag.SESSION_TICKET in client.session_flags(), "no new ticket arrived"
        assert len(self.resume_client_config.wallet) == 1

    def check(self) -> None:
        """Outside the timing: the handshake is the one we claim to measure, and data arrives intact."""
        from workbench.tls import Connection
        from workbench.tls.enums import CipherSuite, HandshakeType, NamedGroup, SignatureScheme
        from workbench.tls.events import ApplicationData, HandshakeComplete, HandshakeMessageReceived
        client, server = Connection(self.client_config), Connection(self.server_config)
        client.start_handshake()
        pump(client, server)
        client_events = list(client.events())
        complete = [e for e in client_events if isinstance(e, HandshakeComplete)]
        assert len(complete) == 1, "no HandshakeComplete event"
        assert not any(isinstance(e, HandshakeMessageReceived) and e.raw[0] == HandshakeType.NEW_SESSION_TICKET
                       for e in client_events), "the server sent session tickets"
        assert client.cipher_suite == CipherSuite.TLS_AES_128_GCM_SHA256, client.cipher_suite
        assert client.group == NamedGroup.X25519, client.group
        assert client.negotiated.signature_scheme == SignatureScheme.ECDSA_SECP256R1_SHA256
        assert complete[0].peer_certificates, "the server sent no certificate"
        drain(server)
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
            drain(client)       # its RecordSent events: a consumer reads both sides


# --- the anchor: Python's ssl module over MemoryBIO, in a worker process ------

class Anchor:
    def __init__(self, ca_path: str, cert_path: str, key_path: str):
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.minimum_version = ssl.TLSVersion.TLSv1_3
        server.load_cert_chain(cert_path, key_path)
        server.num_tickets = 0               # our server issues no tickets either
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)   # CERT_REQUIRED and check_hostname
        client.minimum_version = ssl.TLSVersion.TLSv1_3
        client.load_verify_locations(ca_path)
        assert client.verify_mode == ssl.CERT_REQUIRED and client.check_hostname
        self.client_ctx, self.server_ctx = client, server
        resume_server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        resume_server.minimum_version = ssl.TLSVersion.TLSv1_3
        resume_server.load_cert_chain(cert_path, key_path)
        resume_server.num_tickets = 1          # as our resumption server
        self.resume_server_ctx = resume_server
        self.session = None
        self.payload = os.urandom(RECORD)
        self.suite = self.check()
        self.check_resumption()
        self.bulk_pair = self.handshake()

    def resumed_handshake(self):
        """Offer the newest ticket, and read the one that follows (as our client's wallet does)."""
        client, server, (c_in, c_out, s_in, s_out) = self.handshake(self.resume_server_ctx, self.session)
        c_in.write(s_out.read())
        try:
            client.read(1)                 # processes the NewSessionTicket
        except ssl.SSLWantReadError:
            pass
        self.session = client.session
        return client

    def check_resumption(self) -> None:
        for _ in range(3):
            client = self.resumed_handshake()
        assert client.session_reused, "the anchor did not resume"
        assert client.getpeercert() == {} or client.session_reused

    def handshake(self, server_ctx=None, session=None):
        c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
        client = self.client_ctx.wrap_bio(c_in, c_out, server_hostname="localhost", session=session)
        server = (server_ctx or self.server_ctx).wrap_bio(s_in, s_out, server_side=True)
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

    def check(self) -> str:
        client, server, (c_in, c_out, s_in, s_out) = self.handshake()
        name, version, _ = client.cipher()
        if name != SUITE_NAME or version != "TLSv1.3":
            raise RuntimeError(f"the anchor negotiated {name} / {version}, not {SUITE_NAME} / TLSv1.3 "
                               f"(is OPENSSL_CONF honoured?)")
        client.write(self.payload)
        s_in.write(c_out.read())
        received = b""
        while len(received) < RECORD:
            received += server.read(RECORD)
        assert received == self.payload, "bulk data did not arrive intact"
        return name

    def bulk(self) -> None:
        client, server, (c_in, c_out, s_in, s_out) = self.bulk_pair
        payload = self.payload
        for _ in range(BATCH):
            client.write(payload)
            s_in.write(c_out.read())
            remaining = RECORD
            while remaining:
                remaining -= len(server.read(remaining))


def anchor_worker(directory: str, clock_name: str) -> None:
    """The subprocess side: build the anchor, say which suite it negotiated, then time on request."""
    global clock
    clock = CLOCKS[clock_name]
    anchor = Anchor(*(os.path.join(directory, name) for name in ("ca.pem", "leaf.pem", "leaf.key")))
    print(json.dumps({"suite": anchor.suite, "openssl": ssl.OPENSSL_VERSION}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        fn = {"handshake": anchor.handshake, "resumed": anchor.resumed_handshake, "bulk": anchor.bulk}[request["what"]]
        print(json.dumps({"rate": rate(fn, request["seconds"])}), flush=True)


class AnchorProcess:
    """The worker, started with OPENSSL_CONF set; it idles on stdin while our side is measured."""

    def __init__(self, directory: str, clock_name: str):
        cnf = os.path.join(directory, "openssl.cnf")
        with open(cnf, "w") as f:
            f.write(OPENSSL_CNF)
        env = dict(os.environ, OPENSSL_CONF=cnf)
        self.process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--anchor-worker", directory,
                                         "--clock", clock_name],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        hello = self._read()
        self.suite, self.openssl = hello["suite"], hello["openssl"]

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the anchor worker exited (status {self.process.wait(timeout=10)})")
        return json.loads(line)

    def rate(self, what: str, seconds: float) -> float:
        self.process.stdin.write(json.dumps({"what": what, "seconds": seconds}) + "\n")
        self.process.stdin.flush()
        return self._read()["rate"]

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- the run -------------------------------------------------------------------

def measure(rounds: int, seconds: float, clock_name: str) -> dict:
    from workbench.pki import TestCA
    ca = TestCA.create(key_type="ecdsa-p256")
    leaf = ca.issue(hostnames=("localhost",), key_type="ecdsa-p256")
    ours = Ours(ca, leaf)
    samples: dict[str, list[float]] = {"ours_hs": [], "ssl_hs": [], "ours_resumed": [], "ssl_resumed": [],
                                       "ours_bulk": [], "ssl_bulk": []}
    to_mb = BATCH * RECORD / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        ca.write_pem(os.path.join(tmp, "ca.pem"))
        leaf.write_pem(os.path.join(tmp, "leaf.pem"), os.path.join(tmp, "leaf.key"))
        anchor = AnchorProcess(tmp, clock_name)
        try:
            for i in range(rounds):
                steps = [
                    ("ours_hs", lambda: rate(ours.handshake, seconds)),
                    ("ssl_hs", lambda: anchor.rate("handshake", seconds)),
                    ("ours_resumed", lambda: rate(ours.resumed_handshake, seconds)),
                    ("ssl_resumed", lambda: anchor.rate("resumed", seconds)),
                    ("ours_bulk", lambda: rate(ours.bulk, seconds) * to_mb),
                    ("ssl_bulk", lambda: anchor.rate("bulk", seconds) * to_mb),
                ]
                if i % 2:        # flip the order every round so neither side always goes first
                    steps = [steps[1], steps[0], steps[3], steps[2], steps[5], steps[4]]
                for key, run in steps:
                    samples[key].append(run())
        finally:
            anchor.stop()

    def summary(ours_key: str, ssl_key: str) -> dict:
        ratios = [o / s for o, s in zip(samples[ours_key], samples[ssl_key])]
        ours_median, ssl_median = statistics.median(samples[ours_key]), statistics.median(samples[ssl_key])
        return {"ours": round(ours_median, 1), "ssl": round(ssl_median, 1),
                "ratio": round(ours_median / ssl_median, 2),
                "round_ratios": [round(r, 2) for r in ratios]}

    return {
        "suite": anchor.suite, "openssl": anchor.openssl, "python": sys.version.split()[0],
        "rounds": rounds, "seconds_per_measurement": seconds, "clock": clock_name,
        "handshakes_per_s": summary("ours_hs", "ssl_hs"),
        "resumed_handshakes_per_s": summary("ours_resumed", "ssl_resumed"),
        "bulk_MB_per_s": summary("ours_bulk", "ssl_bulk"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.5, help="per measurement")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                        help="cpu: process CPU time (default, robust on a shared machine); wall: elapsed time")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--anchor-worker", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.anchor_worker:
        anchor_worker(args.anchor_worker, args.clock)
        return
    global clock
    clock = CLOCKS[args.clock]
    result = measure(args.rounds, args.seconds, args.clock)
    if args.json:
        print(json.dumps(result))
        return
    hs, bulk = result["handshakes_per_s"], result["bulk_MB_per_s"]
    print(f"TLS 1.3, ECDSA P-256, X25519, {result['suite']} ({result['openssl']}, Python {result['python']})")
    print(f"medians of {result['rounds']} alternating rounds of {result['seconds_per_measurement']} s "
          f"({result['clock']} time)")
    print(f"full handshakes/s  ours {hs['ours']:8.1f}   ssl {hs['ssl']:8.1f}   ratio {hs['ratio']:.2f}x"
          f"   (rounds {', '.join(f'{r:.2f}' for r in hs['round_ratios'])})")
    resumed = result["resumed_handshakes_per_s"]
    print(f"resumed handshakes/s ours {resumed['ours']:6.1f}   ssl {resumed['ssl']:8.1f}   ratio "
          f"{resumed['ratio']:.2f}x   (rounds {', '.join(f'{r:.2f}' for r in resumed['round_ratios'])})")
    print(f"bulk MB/s (16 KiB) ours {bulk['ours']:8.1f}   ssl {bulk['ssl']:8.1f}   ratio {bulk['ratio']:.2f}x"
          f"   (rounds {', '.join(f'{r:.2f}' for r in bulk['round_ratios'])})")


if __name__ == "__main__":
    main()
