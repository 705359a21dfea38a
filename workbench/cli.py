"""The `tls-workbench` command: lab, client, server, replay, capture.

    tls-workbench server --port 4433 [--echo | --http] [--keylog F] [--events F]
    tls-workbench client 127.0.0.1:4433 --cafile ca.pem [--servername localhost]
    tls-workbench replay capture.pcapng --keylog keys.txt
    tls-workbench capture --port 4433 --keylog keys.txt      (root: sniffs lo, see cli_capture.py)
    tls-workbench lab

client and server behave like `openssl s_client` / `s_server`: lines typed are sent, what
arrives is printed on standard output, status goes to standard error, and a command word
alone on a line (`Q`) acts instead of being sent. Peer and network errors end with one line
saying what went wrong and a non-zero exit status, never a traceback.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from workbench.tls import errors

EXIT_OK = 0
EXIT_FAILURE = 1        # peer, network or file error
EXIT_USAGE = 2          # bad arguments (argparse's own status)
EXIT_INTERRUPTED = 130

REPO_ROOT = Path(__file__).resolve().parent.parent


class CommandError(Exception):
    """A failure to report as one line on standard error, with a non-zero exit status."""


class Stopped(Exception):
    """SIGINT or SIGTERM arrived: finish cleanly."""


def status(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- reporting failures --------------------------------------------------------------------------

def describe_failure(exc: BaseException, where: str = "") -> str:
    """One clear line for a peer, network or local error."""
    return " ".join(_describe(exc, where).split())     # one line, whatever the message held


def _describe(exc: BaseException, where: str) -> str:
    from workbench.tls.enums import AlertDescription, name_of
    prefix = f"{where}: " if where else ""
    if isinstance(exc, errors.AlertReceived):
        name = name_of(AlertDescription, exc.description)
        return f"{prefix}the peer sent a fatal alert: {name} ({exc.description})"
    if isinstance(exc, errors.ProtocolError):
        alert = name_of(AlertDescription, exc.alert)
        return f"{prefix}{exc} (we sent alert {alert})"
    if isinstance(exc, errors.UsageError):
        return f"{prefix}{exc}"
    if isinstance(exc, ConnectionRefusedError):
        return f"{prefix}connection refused"
    if isinstance(exc, socket.gaierror):
        return f"{prefix}cannot resolve the host name ({exc.strerror})"
    if isinstance(exc, TimeoutError):
        return f"{prefix}timed out" + (f" ({exc})" if str(exc) and str(exc) != "timed out" else "")
    if isinstance(exc, OSError):
        return f"{prefix}{exc.strerror or exc}"
    return f"{prefix}{exc}"


PEER_ERRORS = (errors.TLSError, OSError)


# --- shared pieces: files, trust, keys ----------------------------------------------------------

def parse_host_port(text: str) -> tuple[str, int]:
    """ "host:port", "[v6]:port" -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    number = int(port)
    if not 0 < number < 65536:
        raise argparse.ArgumentTypeError(f"port out of range: {number}")
    return host, number


def split_alpn(values: list[str] | None) -> tuple[str, ...]:
    """--alpn may be repeated and each may be a comma-separated list (as for openssl)."""
    out: list[str] = []
    for value in values or ():
        out.extend(p for p in value.split(",") if p)
    return tuple(out)


def read_file(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {what} {path}: {exc.strerror}") from None


def load_certificates(path: str, what: str):
    from cryptography import x509
    data = read_file(path, what)
    try:
        return tuple(x509.load_pem_x509_certificates(data))
    except ValueError:
        raise CommandError(f"{path}: no PEM certificate found ({what})") from None


def load_private_key(path: str):
    from cryptography.hazmat.primitives import serialization
    data = read_file(path, "private key")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise CommandError(f"{path}: cannot load the private key ({exc})") from None


def system_trust_anchors():
    """The system's CA certificates (the store OpenSSL uses)."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and os.path.exists(candidate):
            return load_certificates(candidate, "system CA bundle")
    raise CommandError("no system CA bundle found: give --cafile FILE or --insecure")


class EventOutputs:
    """The --events and --keylog files of one run, as one event listener."""

    def __init__(self, events_path: str | None, keylog_path: str | None) -> None:
        from workbench.tls import KeyLogWriter
        from workbench.transport.eventlog import JsonLinesEventLog
        self._files: list[TextIO] = []
        self.event_log = None
        self.key_log = None
        if events_path:
            self.event_log = JsonLinesEventLog(self._open(events_path, "w", "--events"))
        if keylog_path:
            self.key_log = KeyLogWriter(self._open(keylog_path, "a", "--keylog"))

    def _open(self, path: str, mode: str, option: str) -> TextIO:
        try:
            handle = open(path, mode, encoding="utf-8")
        except OSError as exc:
            self.close()
            raise CommandError(f"cannot open {option} file {path}: {exc.strerror}") from None
        self._files.append(handle)
        return handle

    def next_connection(self, number: int) -> None:
        if self.event_log is not None:
            self.event_log.connection = number

    def __call__(self, event) -> None:
        if self.event_log is not None:
            self.event_log(event)
        if self.key_log is not None:
            self.key_log.on_event(event)

    def close(self) -> None:
        for handle in self._files:
            handle.close()
        self._files.clear()


def summary_line(handshake) -> str:
    from workbench.transport.responders import describe_connection
    rows = dict(describe_connection(handshake))
    parts = [rows["Protocol version"].split()[0], rows["Cipher suite"].split()[0],
             f"group {rows['Key exchange group'].split()[0]}", f"signature {rows['Signature scheme'].split()[0]}"]
    if handshake.alpn:
        parts.append(f"ALPN {rows['ALPN protocol']}")
    if handshake.server_name:
        parts.append(f"SNI {handshake.server_name}")
    if handshake.resumed:
        parts.append("resumed")
    return ", ".join(parts)


@contextlib.contextmanager
def stop_on_signals():
    """SIGINT and SIGTERM raise Stopped, so a blocked accept/select/recv unwinds cleanly."""
    def handler(signum, frame):
        raise Stopped(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def stdin_input():
    from workbench.transport.terminal import LineInput
    try:
        return LineInput(sys.stdin.fileno())
    except (AttributeError, ValueError, OSError):
        return None      # no usable standard input


# --- client --------------------------------------------------------------------------------------

def client_config(args):
    from workbench.tls import ClientConfig
    host, _ = args.target
    server_name = args.servername or host
    if args.insecure:
        anchors, verify = (), False
    else:
        anchors = load_certificates(args.cafile, "--cafile") if args.cafile else system_trust_anchors()
        verify = True
    return ClientConfig(server_name=server_name, alpn_protocols=split_alpn(args.alpn),
                        trust_anchors=anchors, verify_peer=verify, check_hostname=verify,
                        versions=args.tls_versions, allow_renegotiation=not args.no_renegotiation)


def run_client(args) -> int:
    from workbench.transport.tap import format_endpoint
    from workbench.transport.terminal import Session, client_commands

    host, port = args.target
    where = format_endpoint((host, port))
    with stop_on_signals(), contextlib.ExitStack() as cleanup:
        try:
            config = client_config(args)
            outputs = EventOutputs(args.events, args.keylog)
            cleanup.callback(outputs.close)
            try:
                tls = connect_with_session(host, port, config, args, outputs)
            except PEER_ERRORS as exc:
                raise CommandError(describe_failure(exc, f"connecting to {where}")) from None
            cleanup.callback(tls.close)      # close_notify if still open (e.g. interrupted), then the socket
            status(f"connected to {where}: {summary_line(tls.handshake)}")
            args.session_options.after_handshake(tls)
            tls.settimeout(None)
            session = Session(tls, sys.stdout.buffer, client_commands(), input=stdin_input(), crlf=args.crlf,
                              notice=status)
            try:
                ended = session.run(wait_after_input=args.wait)
            except PEER_ERRORS as exc:
                raise CommandError(describe_failure(exc, where)) from None
            status(f"{where}: {ended.value}")
            return EXIT_OK
        except Stopped:
            status("interrupted")
            return EXIT_INTERRUPTED


# --- client: resumption and 0-RTT (--sess-in, --sess-out, --early-data) ------------------------------

TICKET_WAIT = 1.0      # seconds --sess-out waits after a TLS 1.3 handshake for the server's first ticket


class SessionOptions:
    """--sess-in, --sess-out and --early-data of one client run. --sess-out is rewritten with the
    latest session data each time a ticket arrives (as s_client -sess_out does)."""

    def __init__(self, args) -> None:
        self.sess_out = args.sess_out
        self.sess_in = args.sess_in
        self.early = read_file(args.early_data, "--early-data") if args.early_data else None
        self.unsent = b""                # early data to send after the handshake instead
        self.connection = None

    def prepare(self, connection) -> None:
        from workbench.tls.session_data import SessionDataError
        self.connection = connection
        if self.sess_in:
            try:
                connection.set_session_data(read_file(self.sess_in, "--sess-in"))
            except SessionDataError as exc:
                status(f"{self.sess_in}: {exc} (full handshake)")
        if self.early:
            try:
                connection.send_early_data(self.early)
            except errors.UsageError as exc:
                status(f"--early-data goes after the handshake: {exc}")
                self.unsent = self.early

    def __call__(self, event) -> None:
        from workbench.tls import events
        if isinstance(event, events.EarlyDataRejected) and event.data:
            status(f"early data rejected ({event.reason}): {len(event.data)} bytes go after the handshake")
            self.unsent = event.data
        elif isinstance(event, events.EarlyDataAccepted) and event.length:
            status(f"early data accepted: {event.length} bytes")
        elif isinstance(event, (events.TicketReceived, events.HandshakeComplete)):
            self.save()

    def save(self) -> None:
        from workbench.tls.session_data import NoSessionData
        if not self.sess_out or self.connection is None or not self.connection.handshake_complete:
            return
        try:
            data = self.connection.session_data()
        except NoSessionData:
            return
        try:
            fd = os.open(self.sess_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)   # it holds a secret
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            raise CommandError(f"cannot write --sess-out file {self.sess_out}: {exc.strerror}") from None

    def after_handshake(self, tls) -> None:
        from workbench.tls.enums import SessionFlag
        if self.unsent:
            tls.sendall(self.unsent)
            self.unsent = b""
        if not self.sess_out or tls.connection.version != 0x0304:
            return
        deadline = time.monotonic() + TICKET_WAIT
        previous = tls.sock.gettimeout()
        try:
            while SessionFlag.SESSION_TICKET not in tls.connection.session_flags() and not tls.at_eof:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    status(f"no session ticket within {TICKET_WAIT:g} s: --sess-out is written when one arrives")
                    return
                tls.settimeout(remaining)
                try:
                    data = tls.read_available()
                except (TimeoutError, socket.timeout):
                    continue
                if data:
                    sys.stdout.buffer.write(data)
                    sys.stdout.buffer.flush()
        finally:
            tls.settimeout(previous)


def connect_with_session(host: str, port: int, config, args, outputs):
    """Like transport.blocking.connect, with the session to resume and the early data set before the handshake."""
    from workbench.tls import Connection
    from workbench.transport.blocking import TLSSocket
    options = args.session_options = SessionOptions(args)
    sock = socket.create_connection((host, port), timeout=args.timeout)
    try:
        connection = Connection(config)
        options.prepare(connection)
        tls = TLSSocket(sock, connection, on_event=outputs)
        tls.add_listener(options)
        tls.do_handshake(args.timeout)
        return tls
    except BaseException:
        sock.close()
        raise


# --- server --------------------------------------------------------------------------------------

class ServerIdentity:
    """The server's certificate chain and key: from files, or issued by a fresh test CA."""

    def __init__(self, args) -> None:
        self.temp_dir: str | None = None
        self.ca_path: Path | None = None
        if args.cert:
            self.chain = load_certificates(args.cert, "--cert")
            self.key = load_private_key(args.key)
            return
        from workbench.pki import TestCA
        ca = TestCA.create()
        names = ["localhost", "127.0.0.1"]
        if args.host not in names and args.host not in ("0.0.0.0", "::"):
            names.append(args.host)
        identity = ca.issue(hostnames=names)
        self.chain, self.key = identity.certificate_chain, identity.private_key
        self.temp_dir = tempfile.mkdtemp(prefix="tls-workbench-")
        self.ca_path = ca.write_pem(Path(self.temp_dir) / "ca.pem")    # for the clients to trust

    def cleanup(self) -> None:
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def server_responder(args, tls):
    from workbench.transport.responders import EchoResponder, HttpResponder
    if args.echo:
        return EchoResponder()
    if args.http:
        return HttpResponder(tls.handshake, peer=tls.remote_endpoint)
    return None


def wait_for_client(listener: socket.socket, line_input) -> bool:
    """Block until a client connects (True) or `Q` is typed with nobody connected (False)."""
    import select
    while True:
        watch = [listener] + ([line_input] if line_input is not None and not line_input.at_eof else [])
        readable, _, _ = select.select(watch, [], [])
        if listener in readable:
            return True
        for line in line_input.read_lines():
            word = line.rstrip(b"\r\n").decode("utf-8", "replace")
            if word == "Q":
                return False
            if word:
                status("no client is connected: input ignored")


def open_listener(args) -> socket.socket:
    from workbench.transport.blocking import listen
    try:
        return listen(args.host, args.port)
    except OSError as exc:
        raise CommandError(describe_failure(exc, f"cannot listen on {args.host}:{args.port}")) from None


def serve_connections(args, listener: socket.socket, config, outputs: EventOutputs) -> None:
    """Serve one connection after another until `Q` is typed (a signal raises Stopped)."""
    from workbench.transport.blocking import serve_one
    from workbench.transport.terminal import Command, Ended, Session, server_commands

    line_input = stdin_input()
    commands = server_commands()
    commands["t"] = Command(send_ticket_command, "send one more session ticket (TLS 1.3)")
    number = 0
    while wait_for_client(listener, line_input):
        number += 1
        outputs.next_connection(number)
        try:
            tls = serve_one(listener, config, timeout=args.timeout, on_event=outputs)
        except PEER_ERRORS as exc:
            status(describe_failure(exc, f"connection {number}: handshake failed"))
            continue
        status(f"connection {number} from {tls.remote_endpoint}: {summary_line(tls.handshake)}")
        session = Session(tls, sys.stdout.buffer, commands, input=line_input,
                          responder=server_responder(args, tls), send_input=not (args.echo or args.http),
                          notice=status)
        try:
            ended = session.run()
        except PEER_ERRORS as exc:
            status(describe_failure(exc, f"connection {number}"))
            continue
        finally:
            tls.close()        # close_notify if still open (a signal arrived), then the socket
        status(f"connection {number}: {ended.value}")
        if ended is Ended.STOP:
            return


def ticket_keys(path: str | None):
    """--ticket-key: the shared ticket key file (made with a fresh secret if it does not exist)."""
    if path is None:
        return None
    from workbench.tls.tickets import TicketKeyRing
    try:
        return TicketKeyRing.load_or_create(path)
    except OSError as exc:
        raise CommandError(f"cannot create --ticket-key file {path}: {exc.strerror}") from None


def send_ticket_command(session):
    from workbench.transport.terminal import Outcome
    try:
        session.tls.call("send_ticket")
        status("session ticket sent")
    except errors.UsageError as exc:
        status(f"no ticket sent: {exc}")
    return Outcome.CONTINUE


def run_server(args) -> int:
    from workbench.tls import ServerConfig

    with stop_on_signals(), contextlib.ExitStack() as cleanup:
        try:
            identity = ServerIdentity(args)
            cleanup.callback(identity.cleanup)
            config = ServerConfig(certificate_chain=identity.chain, private_key=identity.key,
                                  ticket_count=args.tickets, max_early_data=args.early_data,
                                  tickets=ticket_keys(args.ticket_key),
                                  alpn_protocols=split_alpn(args.alpn), versions=args.tls_versions,
                                  # a workbench shows client-initiated renegotiation too (OpenSSL refuses it
                                  # unless told -client_renegotiation); --no-renegotiation refuses all of it
                                  allow_renegotiation=not args.no_renegotiation,
                                  allow_client_renegotiation=not args.no_renegotiation)
            outputs = EventOutputs(args.events, args.keylog)
            cleanup.callback(outputs.close)
            listener = open_listener(args)
            cleanup.callback(listener.close)
            status(f"listening on {args.host}:{listener.getsockname()[1]}")
            if identity.ca_path is not None:
                status(f"test CA certificate: {identity.ca_path}  (openssl s_client -CAfile {identity.ca_path})")
            serve_connections(args, listener, config, outputs)
            status("server stopped")
        except Stopped as signal_name:
            status(f"server stopped ({signal_name})")
        return EXIT_OK


# --- lab, replay ---------------------------------------------------------------------------------

def lab_command(port: int | None = None, uid: int | None = None) -> list[str]:
    """The JupyterLab command line: 127.0.0.1 only, opened on the repository's notebooks/ folder."""
    command = [sys.executable, "-m", "jupyter", "lab", "--ip=127.0.0.1", "--no-browser",
               f"--ServerApp.root_dir={REPO_ROOT / 'notebooks'}"]
    if port is not None:
        command.append(f"--port={port}")
    if (os.getuid() if uid is None else uid) == 0:
        command.append("--allow-root")
    return command


def run_lab(args) -> int:
    notebooks = REPO_ROOT / "notebooks"
    if not notebooks.is_dir():
        raise CommandError(f"no notebooks folder at {notebooks}")
    command = lab_command(args.port)
    status("starting: " + " ".join(command))
    try:
        os.execv(command[0], command)      # JupyterLab takes over this process (and its signals)
    except OSError as exc:
        raise CommandError(f"cannot start JupyterLab: {exc.strerror}") from None
    return EXIT_FAILURE   # not reached


MAX_DIAGNOSTIC_LINES = 20


def run_replay(args) -> int:
    import json
    try:
        from workbench.capture import record_to_json, replay
        from workbench.timeline import TimelineBuilder
        from workbench.timeline.from_capture import add_replay
        from workbench.timeline.render_text import render_text
    except ImportError as exc:
        raise CommandError(f"replay needs the capture package (workbench.capture): {exc}") from None
    if not Path(args.file).exists():
        raise CommandError(f"no such capture file: {args.file}")
    if args.keylog and not Path(args.keylog).exists():
        raise CommandError(f"no such key log file: {args.keylog}")
    out = sys.stdout
    try:
        records = replay(args.file, keylog=args.keylog, progress=sys.stderr.isatty())
        if args.json:
            for record in records:
                value = record_to_json(record)
                out.write((value if isinstance(value, str) else json.dumps(value)) + "\n")
        else:
            # The timeline links what single records cannot show: which ticket a later connection
            # resumed with, 0-RTT accepted or not, key updates, renegotiations.
            builder = TimelineBuilder()
            add_replay(builder, records)
            text = render_text(builder.timeline)
            out.write(text if text.endswith("\n") or not text else text + "\n")
    except BrokenPipeError:
        raise                  # our reader left; main() ends quietly
    except OSError as exc:
        raise CommandError(f"cannot read {exc.filename or args.file}: {exc.strerror}") from None
    out.flush()
    report_diagnostics(getattr(records, "diagnostics", ()))
    return EXIT_OK


def report_diagnostics(diagnostics) -> None:
    """Damage and missing keys the replay noticed, on standard error (the first few)."""
    diagnostics = list(diagnostics)
    for diagnostic in diagnostics[:MAX_DIAGNOSTIC_LINES]:
        status(str(diagnostic))
    if len(diagnostics) > MAX_DIAGNOSTIC_LINES:
        status(f"... and {len(diagnostics) - MAX_DIAGNOSTIC_LINES} more diagnostics")


# --- the parser ----------------------------------------------------------------------------------

def add_protocol_options(parser: argparse.ArgumentParser) -> None:
    """--tls1.2 / --tls1.3 (that version only, as openssl's -tls1_2 / -tls1_3; both by default) and
    --no-renegotiation (as openssl's -no_renegotiation)."""
    versions = parser.add_mutually_exclusive_group()
    versions.add_argument("--tls1.2", dest="tls_versions", action="store_const", const=(0x0303,),
                          help="speak TLS 1.2 only")
    versions.add_argument("--tls1.3", dest="tls_versions", action="store_const", const=(0x0304,),
                          help="speak TLS 1.3 only")
    parser.set_defaults(tls_versions=(0x0304, 0x0303))
    parser.add_argument("--no-renegotiation", action="store_true",
                        help="refuse TLS 1.2 renegotiation (a no_renegotiation warning alert)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tls-workbench", description="See TLS: a workbench around our own TLS engine.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    lab = sub.add_parser("lab", help="start JupyterLab on 127.0.0.1, opened on the notebooks")
    lab.add_argument("--port", type=int, help="JupyterLab's port (default: its own choice)")
    lab.set_defaults(handler=run_lab)

    client = sub.add_parser("client", help="connect to a TLS server (like openssl s_client)",
                            description="Lines typed are sent; received data is printed. "
                                        "Q alone on a line closes cleanly (close_notify) and exits; "
                                        "k / K send a TLS 1.3 KeyUpdate (K requests the server's too); "
                                        "R renegotiates (TLS 1.2), r renegotiates resuming the session.")
    client.add_argument("target", type=parse_host_port, metavar="HOST:PORT")
    client.add_argument("--servername", metavar="NAME",
                        help="server name to send (SNI) and to verify (default: HOST)")
    trust = client.add_mutually_exclusive_group()
    trust.add_argument("--cafile", metavar="FILE", help="trust these CA certificates (PEM) instead of the system's")
    trust.add_argument("--insecure", action="store_true", help="do not verify the server's certificate")
    client.add_argument("--alpn", action="append", metavar="PROTO",
                        help="offer these ALPN protocols (repeat, or comma-separated)")
    client.add_argument("--keylog", metavar="FILE", help="append NSS key log lines (SSLKEYLOGFILE format)")
    client.add_argument("--events", metavar="FILE", help="write every engine event as a JSON line")
    client.add_argument("--wait", type=float, default=2.0, metavar="SECONDS",
                        help="after the end of input, keep reading this long before closing (default 2)")
    client.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="bound on connecting and the handshake (default 10)")
    client.add_argument("--crlf", action="store_true", help="send input lines ending in CRLF")
    client.add_argument("--sess-out", metavar="FILE",
                        help="write the session data (the latest ticket) to FILE, to resume with --sess-in")
    client.add_argument("--sess-in", metavar="FILE", help="resume the session in FILE (from --sess-out)")
    client.add_argument("--early-data", metavar="FILE", help="send FILE as 0-RTT early data (needs --sess-in)")
    add_protocol_options(client)
    client.set_defaults(handler=run_client)

    server = sub.add_parser("server", help="serve TLS connections one after another (like openssl s_server)",
                            description="Interactive mode: received data is printed, lines typed are sent; "
                                        "q alone on a line closes the connection cleanly, Q also stops the server; "
                                        "k / K send a TLS 1.3 KeyUpdate (K requests the client's too); "
                                        "R or r asks the client to renegotiate (TLS 1.2 HelloRequest).")
    server.add_argument("--port", type=int, default=4433, help="port to listen on (default 4433; 0 picks a free one)")
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    server.add_argument("--cert", metavar="FILE", help="certificate chain (PEM, leaf first)")
    server.add_argument("--key", metavar="FILE", help="private key (PEM) of --cert")
    server.add_argument("--alpn", action="append", metavar="PROTO",
                        help="ALPN protocols to accept, in preference order (repeat, or comma-separated)")
    server.add_argument("--keylog", metavar="FILE", help="append NSS key log lines (SSLKEYLOGFILE format)")
    server.add_argument("--events", metavar="FILE", help="write every engine event as a JSON line")
    server.add_argument("--tickets", type=int, default=2, metavar="N",
                        help="TLS 1.3 session tickets after each handshake (default 2; t sends one more)")
    server.add_argument("--ticket-key", metavar="FILE",
                        help="ticket key file, made if missing; servers sharing it resume each other's tickets")
    server.add_argument("--early-data", type=int, default=0, metavar="MAX",
                        help="accept up to MAX bytes of 0-RTT early data per ticket (default 0: none)")
    server.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="bound on each handshake (default 10)")
    mode = server.add_mutually_exclusive_group()
    mode.add_argument("--echo", action="store_true", help="send back what is received")
    mode.add_argument("--http", action="store_true",
                      help="answer each GET with a page describing the connection (like s_server -www)")
    add_protocol_options(server)
    server.set_defaults(handler=run_server)

    replay = sub.add_parser("replay", help="decode and decrypt a capture (pcap/pcapng)")
    replay.add_argument("file", metavar="FILE")
    replay.add_argument("--keylog", metavar="KEYS", help="NSS key log to decrypt with")
    replay.add_argument("--json", action="store_true", help="one JSON object per record instead of a timeline")
    replay.set_defaults(handler=run_replay)

    from workbench import cli_capture, demo          # their heavy imports happen only when they run
    cli_capture.register(sub)
    demo.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "command", None) == "server" and bool(args.cert) != bool(args.key):
        parser.error("--cert and --key go together")
    try:
        return args.handler(args)
    except CommandError as exc:
        status(f"tls-workbench: {exc}")
        return EXIT_FAILURE
    except errors.UsageError as exc:
        status(f"tls-workbench: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        status("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (`| head`): stop quietly, without a flush error at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
