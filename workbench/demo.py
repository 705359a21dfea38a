"""`tls-workbench demo`: a headless walk-through of what the workbench shows.

Our client and our server run in-process with fixed randomness: a TLS 1.3 handshake, data both ways,
the server's tickets, a requested KeyUpdate, a saved session resumed on a second connection (with 0-RTT
data), then a TLS 1.2 connection renegotiated twice. The timeline is printed as text (sequence, key
schedule, ticket wallet) and the run is written to captures/ as a pcapng whose Decryption Secrets Block
holds the key log, so Wireshark shows it decrypted.

Whatever the engine cannot do yet is skipped with a line saying so; nothing is imitated.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_output() -> Path:
    """captures/demo-<time>.pcapng in the repository (or in the current folder for an installed package)."""
    folder = REPO_ROOT / "captures" if (REPO_ROOT / "pyproject.toml").exists() else Path.cwd() / "captures"
    return folder / time.strftime("demo-%Y%m%d-%H%M%S.pcapng")


class Walkthrough:
    """The demo's steps, printed as they happen; `skipped` lists what the engine could not do."""

    def __init__(self, out: TextIO, seed: int = 1) -> None:
        from workbench.ui.options import Credentials, EngineFeatures
        self.out = out
        self.seed = seed
        self.features = EngineFeatures.detect()
        self.credentials = Credentials()
        self.skipped: list[str] = []
        self.runs: list = []

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def skip(self, what: str, reason: str) -> None:
        self.skipped.append(f"{what}: {reason}")
        self.say(f"   skipped {what}: {reason}")

    def missing(self, *names: str) -> str | None:
        for name in names:
            reason = self.features.missing(name)
            if reason:
                return reason
        return None

    def _run(self, **options):
        from workbench.ui.options import RunOptions
        from workbench.ui.runs.inprocess import InProcessRun
        from workbench.ui.options import workbench_epoch
        # each run's clock starts a minute after the previous one's: the capture keeps them apart in time
        epoch = workbench_epoch() + 60 * len(self.runs)
        run = InProcessRun(RunOptions(step_mode=False, seed=self.seed, **options), self.features, self.credentials,
                           epoch=epoch)
        self.runs.append(run)
        return run

    def _check(self, run, what: str) -> bool:
        if run.problems:
            for problem in run.problems:
                self.say(f"   problem during {what}: {problem}")
            run.problems.clear()
            return False
        return True

    # -- the story --------------------------------------------------------------------------------------------
    def tls13(self):
        self.say("1. TLS 1.3: our client and our server, in-process")
        early = not self.missing("early_data", "resume")
        run = self._run(version="1.3", tickets=2, early_data=early)
        run.connect()
        conn = run.timeline.connections[0]
        self.say(f"   handshake: {len(conn)} records, {len(conn.secrets)} secrets derived")
        run.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        run.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", side="server")
        self._check(run, "the data exchange")
        tickets = [t for t in run.timeline.tickets if t.issued_by == 0]
        if self.features.tickets:
            self.say(f"   the server issued {len(tickets)} ticket(s): " + ", ".join(t.id for t in tickets))
        else:
            self.skip("tickets", self.features.missing("tickets"))
        reason = self.missing("key_update")
        if reason:
            self.skip("KeyUpdate", reason)
        else:
            run.key_update(requested=True)
            run.send(b"after the key update")
            run.send(b"and an answer under the server's new keys", side="server")
            if self._check(run, "the KeyUpdate"):
                updates = ", ".join(f"{m.direction} -> application-{m.generation}" for m in conn.key_updates)
                self.say(f"   KeyUpdate (update_requested): {updates}")
        reason = self.missing("session_data", "resume")
        if reason:
            self.skip("resumption", reason)
        elif not tickets:
            self.skip("resumption", "the server issued no ticket")
        else:
            saved = run.save_session()
            self.say(f"   saved the session data: {len(saved.data)} bytes")
            run.resume()
            if self._check(run, "the resumption"):
                second = run.timeline.connections[1]
                self.say(f"   connection 1 resumed: {second.resumed} (ticket {second.resumed_with})"
                         + (f", 0-RTT early data accepted: {second.early_data_accepted}" if early else ""))
                run.send(b"GET /again HTTP/1.1\r\n\r\n")
        if not early:
            self.skip("0-RTT early data", self.missing("early_data", "resume"))
        run.close_connection()
        return run

    def tls12(self):
        self.say("2. TLS 1.2: a handshake, then renegotiations")
        reason = self.missing("tls12")
        if reason:
            self.skip("TLS 1.2", reason)
            return None
        run = self._run(version="1.2")
        run.connect()
        run.send(b"hello over TLS 1.2")
        if not self._check(run, "the TLS 1.2 handshake"):
            return run
        conn = run.timeline.connections[0]
        reason = self.missing("renegotiate", "renegotiate_abbreviated")
        if reason:
            self.skip("renegotiation", reason)
        else:
            run.renegotiate(abbreviated=False)
            run.renegotiate(abbreviated=True, side="server")
            run.send(b"after two renegotiations")
            if self._check(run, "the renegotiations"):
                stages = ", ".join(f"by the {m.initiator}: {m.stage}" for m in conn.renegotiations)
                self.say(f"   renegotiations {stages}")
        run.close_connection()
        return run

    def print_timeline(self, run, title: str) -> None:
        from workbench.timeline import iter_key_schedule, render_text
        self.say()
        self.say(f"== {title}")
        self.say(render_text(run.timeline, width=150).rstrip())
        for conn in run.timeline.connections.values():
            self.say()
            for line in iter_key_schedule(conn):
                self.say(line)

    def write_capture(self, path: Path) -> int:
        from workbench.ui.pcapng_export import WireRecord, write_run_pcapng
        connections, lines = [], []
        offset = 0
        for run in self.runs:
            for decoder in run.records.decoders.values():
                records = [WireRecord(*item) for item in decoder.wire_records()]
                client = _with_port(decoder.client, offset)
                connections.append((client, decoder.server, records))
                lines.extend(decoder.keylog_lines())
                offset += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_run_pcapng(path, connections, lines)


def _with_port(endpoint: str, offset: int) -> str:
    """Distinct client ports for the demo's connections (each run numbers its own from 49152)."""
    host, _, _ = endpoint.rpartition(":")
    return f"{host}:{49152 + offset}"


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    walk = Walkthrough(out if out is not None else sys.stdout, seed=args.seed)
    walk.say("TLS Workbench demo: our own engine on both ends, every record decrypted.")
    walk.say()
    tls13 = walk.tls13()
    tls12 = walk.tls12()
    walk.print_timeline(tls13, "TLS 1.3 timeline")
    if tls12 is not None:
        walk.print_timeline(tls12, "TLS 1.2 timeline")
    output = Path(args.output) if args.output else default_output()
    frames = walk.write_capture(output)
    walk.say()
    walk.say(f"wrote {output} ({frames} frames, key log inside: Wireshark and tshark show it decrypted)")
    walk.say(f"   tshark -r {output} -Y tls")
    walk.say(f"   tls-workbench replay {output}")
    if walk.skipped:
        walk.say()
        walk.say("not shown, because the engine cannot do it yet:")
        for line in walk.skipped:
            walk.say(f"   {line}")
    return 0


def register(subparsers) -> None:
    """Add the `demo` command to the tls-workbench parser."""
    demo = subparsers.add_parser("demo", help="a headless walk-through: handshake, tickets, resumption, key updates",
                                 description=__doc__.split("\n\n")[1].replace("\n", " "))
    demo.add_argument("--output", metavar="FILE", help="the pcapng to write (default: captures/demo-<time>.pcapng)")
    demo.add_argument("--seed", type=int, default=1, help="randomness of the run: the same seed, the same bytes")
    demo.set_defaults(handler=lambda args: run(args))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tls-workbench")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["demo", *(argv or [])])
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

