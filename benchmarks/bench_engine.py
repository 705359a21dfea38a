"""Engine speed against Python's ssl module, in the same run, for TLS 1.3, TLS 1.2 or both.

TLS 1.3: ECDSA P-256 certificates, X25519 and TLS_AES_128_GCM_SHA256; TLS 1.2: ECDSA P-256
certificates, ECDHE over X25519, extended master secret and ECDHE-ECDSA-AES128-GCM-SHA256.
Certificate chain and host name verification on, events on. Measured:
  - full handshakes per second, in process (client and server in one thread);
  - TLS 1.3 only: resumed handshakes per second (psk_dhe_ke with a stateless ticket; the server
    issues one ticket per connection and the client offers each ticket once, on both sides);
  - bulk throughput with 16 KiB records (encrypt on one side, decrypt on the other).
The anchor is Python's ssl module driven through a MemoryBIO pair. Figures are printed as
ratios (ours / ssl); docs/benchmarks.md keeps the recorded ones.

Fairness: Python < 3.13 cannot restrict TLS 1.3 cipher suites in process, so the anchor runs in
a worker subprocess whose OPENSSL_CONF names a temporary openssl.cnf with
Ciphersuites = TLS_AES_128_GCM_SHA256 and Groups = X25519 (TLS 1.2: X25519:P-256, since there
the list also names the certificate curves accepted; its suite is set in process, with set_ciphers); the worker checks the negotiated suite and version with SSLObject.cipher()
before it measures anything. Both sides use one shared context/config (a parsed trust store), no
session tickets in the full handshakes, and the same certificate. For TLS 1.2 the anchor's server
keeps OpenSSL's session cache, which Python cannot turn off; ours keeps each connection's session.
Measurements alternate between ours and the anchor for several rounds (the order flips every
round); the medians are reported, because a small machine is noisy.

    .venv/bin/python benchmarks/bench_engine.py [--version 1.3|1.2|both] [--rounds 5] [--seconds 1.5]
                                                [--clock cpu|wall] [--json]
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
from typing import Callable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

RECORD = 16 * 1024
BATCH = 64                       # records per timed bulk call
TLS13, TLS12 = 0x0304, 0x0303


@dataclasses.dataclass(frozen=True)
class Version:
    """What one protocol version's benchmark negotiates, and which measurements it makes."""
    name: str                    # "1.3", the --version value
    code: int
    ssl_version: ssl.TLSVersion
    suite: int                   # our code point
    suite_name: str              # OpenSSL's name, as SSLObject.cipher() reports it
    title: str                   # the first line of the report
    measurements: tuple[str, ...]
    anchor_groups: str           # the anchor's Groups (openssl.cnf)


VERSIONS = {
    "1.3": Version("1.3", TLS13, ssl.TLSVersion.TLSv1_3, 0x1301, "TLS_AES_128_GCM_SHA256",
                   "TLS 1.3, ECDSA P-256, X25519", ("handshake", "resumed", "bulk"), "X25519"),
    "1.2": Version("1.2", TLS12, ssl.TLSVersion.TLSv1_2, 0xC02B, "ECDHE-ECDSA-AES128-GCM-SHA256",
                   "TLS 1.2, ECDSA P-256, X25519, EMS", ("handshake", "bulk"),
                   # TLS 1.2 also takes the curve of an ECDSA certificate from this list (RFC 8422):
                   # P-256 must be there, after X25519, which both clients list first and so is the one used.
                   "X25519:P-256"),
}

OPENSSL_CNF = """\
openssl_conf = openssl_init

[openssl_init]
ssl_conf = ssl_sect

[ssl_sect]
system_default = system_default_sect

[system_default_sect]
Ciphersuites = {suite}
Groups = {groups}
"""


# --- timing ------------------------------------------------------------------

# CPU time of this process by default: on a shared machine it leaves out the time other programs
# hold the core, which wall time would charge to whichever side happened to be running.
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def rate(fn: Callable[[], object], seconds: float, clock: Callable[[], float]) -> float:
    """Calls per second of fn over about `seconds` of `clock` (one of CLOCKS), after one warm-up call."""
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
    def __init__(self, version: Version, ca, leaf):
        from workbench.tls import ClientConfig, ServerConfig
        from workbench.tls.enums import NamedGroup
        self.version = version
        common = dict(cipher_suites=(version.suite,), supported_groups=(NamedGroup.X25519,))
        if version.code == TLS12:
            common["versions"] = (TLS12,)
        self.client_config = ClientConfig(server_name="localhost", trust_anchors=(ca.certificate,), **common)
        self.server_config = ServerConfig(certificate_chain=(leaf.certificate,), private_key=leaf.private_key,
                                          ticket_count=0, **common)   # the anchor's server sends no tickets either
        self.payload = os.urandom(RECORD)
        self.check()
        if "resumed" in version.measurements:
            # One ticket per connection, each offered once (the wallet hands out the newest).
            self.resume_client_config = dataclasses.replace(self.client_config, resume_from_wallet=True, wallet=None)
            self.resume_server_config = dataclasses.replace(self.server_config, ticket_count=1, tickets=None,
                                                            anti_replay=None, session_cache=None)
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
        from workbench.tls.enums import HandshakeType, NamedGroup, SignatureScheme
        from workbench.tls.events import ApplicationData, HandshakeComplete, HandshakeMessageReceived
        client, server = Connection(self.client_config), Connection(self.server_config)
        client.start_handshake()
        pump(client, server)
        client_events = list(client.events())
        complete = [e for e in client_events if isinstance(e, HandshakeComplete)]
        assert len(complete) == 1, "no HandshakeComplete event"
        assert not any(isinstance(e, HandshakeMessageReceived) and e.raw[0] == HandshakeType.NEW_SESSION_TICKET
                       for e in client_events), "the server sent session tickets"
        assert client.version == self.version.code, client.version
        assert client.cipher_suite == self.version.suite, client.cipher_suite
        assert client.group == NamedGroup.X25519, client.group
        assert client.negotiated.signature_scheme == SignatureScheme.ECDSA_SECP256R1_SHA256
        assert complete[0].peer_certificates, "the server sent no certificate"
        if self.version.code == TLS12:
            assert client.negotiated.extended_master_secret, "no extended master secret"
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

    def run(self, what: str):
        return {"handshake": self.handshake, "resumed": self.resumed_handshake, "bulk": self.bulk}[what]


# --- the anchor: Python's ssl module over MemoryBIO, in a worker process ------

class Anchor:
    def __init__(self, version: Version, ca_path: str, cert_path: str, key_path: str):
        self.version = version
        client = self._context(ssl.PROTOCOL_TLS_CLIENT)   # CERT_REQUIRED and check_hostname
        client.load_verify_locations(ca_path)
        assert client.verify_mode == ssl.CERT_REQUIRED and client.check_hostname
        server = self._context(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(cert_path, key_path)
        server.num_tickets = 0               # our server issues no tickets either (TLS 1.3)
        if version.code == TLS12:
            server.options |= ssl.OP_NO_TICKET   # nor TLS 1.2 ones (num_tickets counts only 1.3 tickets)
        self.client_ctx, self.server_ctx = client, server
        if "resumed" in version.measurements:
            resume_server = self._context(ssl.PROTOCOL_TLS_SERVER)
            resume_server.load_cert_chain(cert_path, key_path)
            resume_server.num_tickets = 1          # as our resumption server
            self.resume_server_ctx = resume_server
        self.session = None
        self.payload = os.urandom(RECORD)
        self.suite = self.check()
        if "resumed" in version.measurements:
            self.check_resumption()
        self.bulk_pair = self.handshake()

    def _context(self, protocol: int) -> ssl.SSLContext:
        context = ssl.SSLContext(protocol)
        context.minimum_version = self.version.ssl_version
        if self.version.code == TLS12:
            context.maximum_version = ssl.TLSVersion.TLSv1_2
            context.set_ciphers(self.version.suite_name)      # TLS 1.2 suites can be chosen in process
        return context

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
        wanted = self.version.ssl_version.name.replace("_", ".")        # "TLSv1.3"
        if name != self.version.suite_name or version != wanted:
            raise RuntimeError(f"the anchor negotiated {name} / {version}, not {self.version.suite_name} / {wanted} "
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

    def run(self, what: str):
        return {"handshake": self.handshake, "resumed": self.resumed_handshake, "bulk": self.bulk}[what]


def anchor_worker(directory: str, clock_name: str, version_name: str) -> None:
    """The subprocess side: build the anchor, say which suite it negotiated, then time on request."""
    clock = CLOCKS[clock_name]
    anchor = Anchor(VERSIONS[version_name], *(os.path.join(directory, name)
                                              for name in ("ca.pem", "leaf.pem", "leaf.key")))
    print(json.dumps({"suite": anchor.suite, "openssl": ssl.OPENSSL_VERSION}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        print(json.dumps({"rate": rate(anchor.run(request["what"]), request["seconds"], clock)}), flush=True)


class AnchorProcess:
    """The worker, started with OPENSSL_CONF set; it idles on stdin while our side is measured."""

    def __init__(self, directory: str, clock_name: str, version: Version):
        self.clock_name = clock_name
        cnf = os.path.join(directory, "openssl.cnf")
        with open(cnf, "w") as f:
            f.write(OPENSSL_CNF.format(suite=VERSIONS["1.3"].suite_name, groups=version.anchor_groups))
        env = dict(os.environ, OPENSSL_CONF=cnf)
        self.process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--anchor-worker", directory,
                                         "--clock", clock_name, "--version", version.name],
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

RESULT_KEYS = {"handshake": "handshakes_per_s", "resumed": "resumed_handshakes_per_s", "bulk": "bulk_MB_per_s"}
REPORT_LABELS = {"handshake": "full handshakes/s", "resumed": "resumed handshakes/s", "bulk": "bulk MB/s (16 KiB)"}


def alternate(subjects: dict[str, Callable[[], object]], anchor: AnchorProcess, rounds: int,
              seconds: float) -> dict[str, tuple[list[float], list[float]]]:
    """Rates of each subject (by measurement name) and of the anchor doing the same, in turn, for
    several rounds: {what: (subject rates, anchor rates)}, bulk in MB/s."""
    clock = CLOCKS[anchor.clock_name]       # both sides on the same clock
    to_mb = BATCH * RECORD / 1e6
    samples: dict[str, tuple[list[float], list[float]]] = {what: ([], []) for what in subjects}
    for i in range(rounds):
        for what, fn in subjects.items():
            scale = to_mb if what == "bulk" else 1.0
            subject_rates, anchor_rates = samples[what]
            pair = [(subject_rates, lambda: rate(fn, seconds, clock)),
                    (anchor_rates, lambda: anchor.rate(what, seconds))]
            if i % 2:        # flip the order every round so neither side always goes first
                pair.reverse()
            for rates, run in pair:
                rates.append(run() * scale)
    return samples


def summary(subject_rates: list[float], anchor_rates: list[float], label: str = "ours") -> dict:
    """Medians (a small machine is noisy) and their ratio; each round's ratio shows the spread."""
    subject, anchor = statistics.median(subject_rates), statistics.median(anchor_rates)
    return {label: round(subject, 1), "ssl": round(anchor, 1), "ratio": round(subject / anchor, 2),
            "round_ratios": [round(s / a, 2) for s, a in zip(subject_rates, anchor_rates)]}


def against_anchor(version: Version, ca, leaf, subjects: dict[str, Callable[[], object]], rounds: int,
                   seconds: float, clock_name: str, label: str = "ours") -> dict:
    """Start the anchor for `version` with this CA and leaf, alternate `subjects` with it, and return
    the run's description and a summary() per measurement, under RESULT_KEYS."""
    with tempfile.TemporaryDirectory() as tmp:
        ca.write_pem(os.path.join(tmp, "ca.pem"))
        leaf.write_pem(os.path.join(tmp, "leaf.pem"), os.path.join(tmp, "leaf.key"))
        anchor = AnchorProcess(tmp, clock_name, version)
        try:
            samples = alternate(subjects, anchor, rounds, seconds)
        finally:
            anchor.stop()
    result = {"suite": anchor.suite, "version": version.ssl_version.name.replace("_", "."),
              "openssl": anchor.openssl, "python": sys.version.split()[0], "rounds": rounds,
              "seconds_per_measurement": seconds, "clock": clock_name}
    result.update({RESULT_KEYS[what]: summary(*samples[what], label) for what in subjects})
    return result


def measure(version: Version, rounds: int, seconds: float, clock_name: str) -> dict:
    from workbench.pki import TestCA
    ca = TestCA.create(key_type="ecdsa-p256")
    leaf = ca.issue(hostnames=("localhost",), key_type="ecdsa-p256")
    ours = Ours(version, ca, leaf)
    return against_anchor(version, ca, leaf, {what: ours.run(what) for what in version.measurements},
                          rounds, seconds, clock_name)


def report_header(title: str, result: dict, notes: tuple[str, ...] = ()) -> None:
    """What ran against the anchor, any notes, then how the figures were taken."""
    print(f"{title}, {result['suite']} ({result['openssl']}, Python {result['python']})")
    for note in notes:
        print(note)
    print(f"medians of {result['rounds']} alternating rounds of {result['seconds_per_measurement']} s "
          f"({result['clock']} time)")


def report_figures(what: str, figures: dict, label: str = "ours", name: str | None = None) -> None:
    """One measurement's row; label is summary()'s key for the side measured, name what the row calls it."""
    print(f"{REPORT_LABELS[what]:<20} {name or label} {figures[label]:8.1f}   ssl {figures['ssl']:8.1f}   "
          f"ratio {figures['ratio']:.2f}x   (rounds {', '.join(f'{r:.2f}' for r in figures['round_ratios'])})")


def report(version: Version, result: dict) -> None:
    report_header(version.title, result)
    for what in version.measurements:
        report_figures(what, result[RESULT_KEYS[what]])


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """--rounds, --seconds and --clock, shared with bench_reference.py so both default alike."""
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.5, help="per measurement")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                        help="cpu: process CPU time (default, robust on a shared machine); wall: elapsed time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", choices=(*VERSIONS, "both"), default="1.3",
                        help="the protocol version to measure (default 1.3); both: 1.3, then 1.2")
    add_run_options(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per version, one per line")
    parser.add_argument("--anchor-worker", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.anchor_worker:
        anchor_worker(args.anchor_worker, args.clock, args.version)
        return
    versions = [VERSIONS["1.3"], VERSIONS["1.2"]] if args.version == "both" else [VERSIONS[args.version]]
    for n, version in enumerate(versions):
        result = measure(version, args.rounds, args.seconds, args.clock)
        if args.json:
            print(json.dumps(result), flush=True)
            continue
        if n:
            print()
        report(version, result)


if __name__ == "__main__":
    main()
