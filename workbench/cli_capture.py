"""`tls-workbench capture`: the TLS records crossing a loopback port, decrypted as they cross, saved on stop.

    tls-workbench capture --port 4433 --keylog client.keys [--output NAME] [--format pcapng|pcap] [--duration S]

Packets are sniffed on lo, so every program on the port is seen (openssl s_client talking to gnutls-serv, say),
decrypted with the key log files those programs write (followed as they grow). That needs root or CAP_NET_RAW:
without it only the traffic of the workbench's own transports can be recorded (through their in-process tap), and
this command has none, so it says so and exits.

Standard output gets one timeline line per record as it is decoded (a header line before each connection's
first record, ticket / KeyUpdate / alert marks under their record) and, at the end, the path of the saved
capture. Ctrl-C, SIGTERM or the end of --duration stops the capture; it is saved under captures/ (see
workbench.capture.capture_file), as pcapng with the key log inside, or as pcap plus a .keys file.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

POLL = 0.2      # seconds between looks at the clock while the capture runs


class RecordPrinter:
    """A LiveCapture listener: each decoded record as the timeline's text line. Called from the capture's
    decoding thread only."""

    def __init__(self, out: TextIO) -> None:
        from workbench.timeline import TimelineBuilder
        self.out = out
        self.builder = TimelineBuilder()
        self._announced: set = set()

    def __call__(self, decoded) -> None:
        from workbench.timeline.render_text import describe_connection, describe_mark, render_record
        rec = self.builder.add_decoded_record(decoded)
        timeline = self.builder.timeline
        conn = timeline.connections[rec.connection]
        lines = []
        if rec.connection not in self._announced:
            self._announced.add(rec.connection)
            lines.append(describe_connection(conn))
        lines.append(render_record(rec, conn.first_time))
        lines += ["    " + describe_mark(mark, timeline) for mark in rec.marks]
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"expected a TCP port (1-65535), got {text!r}")
    return int(text)


def _duration(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


def _name(text: str) -> str:
    from workbench.capture.capture_file import check_name
    try:
        check_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def register(subparsers) -> None:
    """Add the `capture` command to the tls-workbench parser."""
    from workbench.capture.capture_file import FORMATS
    parser = subparsers.add_parser(
        "capture", help="sniff a loopback port: TLS records decrypted as they cross, saved as pcapng on stop",
        description="Sniff TCP PORT on lo (root or CAP_NET_RAW), print each TLS record as it is decoded, and on "
                    "Ctrl-C or after --duration save the capture under captures/ with its key log.")
    parser.add_argument("--port", type=_port, required=True, help="the TCP port to capture on lo")
    parser.add_argument("--keylog", action="append", metavar="FILE",
                        help="a key log file the programs write (read as it grows; repeat for several)")
    parser.add_argument("--output", type=_name, metavar="NAME",
                        help="save as captures/NAME.pcapng (default: live-<date>-<time>)")
    parser.add_argument("--format", choices=FORMATS, default="pcapng",
                        help="pcapng with the key log inside (default), or pcap plus NAME.keys")
    parser.add_argument("--duration", type=_duration, metavar="SECONDS", help="stop after this long (default: Ctrl-C)")
    parser.set_defaults(handler=run)


def run(args, out: TextIO | None = None) -> int:
    from workbench.capture import CapturePermissionError, LiveCapture
    from workbench.cli import EXIT_OK, CommandError, Stopped, report_diagnostics, status, stop_on_signals

    out = out if out is not None else sys.stdout
    try:
        capture = LiveCapture(args.port, keylog=args.keylog or None, method="sniffer", on_record=RecordPrinter(out))
    except CapturePermissionError as exc:
        raise CommandError(_cannot_sniff(str(exc))) from None
    try:
        with stop_on_signals():
            try:
                capture.start()
                if capture.method != "sniffer":          # the sniffer could not open its socket after all
                    raise CommandError(_cannot_sniff(capture.reason))
                until = f"for {args.duration:g} s" if args.duration else "until Ctrl-C"
                status(f"capturing TCP port {args.port} on lo {until} ({capture.reason})")
                _wait(args.duration)
            except Stopped as signal_name:
                status(f"stopping ({signal_name})")
        capture.stop()
        status(capture.describe())
        report_diagnostics(capture.diagnostics)
        if not capture.frames:
            status(f"no packets to or from port {args.port}: nothing saved")
            return EXIT_OK
        try:
            saved = _save(capture, args.output, args.format, status)
        except OSError as exc:
            raise CommandError(f"cannot save the capture: {exc.strerror or exc}") from None
    finally:
        capture.close()
    where = f"{saved.capture}" + (f" and its key log {saved.keylog}" if saved.keylog else "")
    out.write(f"saved {where} ({saved.packets} packets, {saved.secrets} key log lines)\n")
    out.flush()
    return EXIT_OK


def _wait(duration: float | None) -> None:
    deadline = None if duration is None else time.monotonic() + duration
    while deadline is None or time.monotonic() < deadline:
        time.sleep(POLL if deadline is None else min(POLL, max(0.0, deadline - time.monotonic())))


def _save(capture, name: str | None, format: str, status):
    try:
        return capture.save(name, format=format)
    except FileExistsError as exc:
        # never lose what was captured: keep it under a fresh automatic name instead
        status(f"{exc}: saving under a new name instead")
        return capture.save(None, format=format)


def _cannot_sniff(why: str) -> str:
    return (f"{why.removeprefix('cannot sniff: ')}. Capturing other programs' traffic on lo needs root or "
            "CAP_NET_RAW; without it only the workbench's own transports can be recorded (through their "
            "in-process tap, as the notebooks' live runs do), and this command runs none. Run it as root.")
