"""The `tls-workbench` command: lab, client, server, replay.

    tls-workbench server --port 4433 [--echo | --http] [--keylog F] [--events F]
    tls-workbench client 127.0.0.1:4433 --cafile ca.pem [--servername localhost]
    tls-workbench replay capture.pcapng --keylog keys.txt
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
                        trust_anchors=anchors, verify_peer=verify, check_hostname=verify)


def run_client(args) -> int:
    from workbench.transport.blocking import connect
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
                tls = connect(host, port, config, timeout=args.timeout, on_event=outputs)
            except PEER_ERRORS as exc:
                raise CommandError(describe_failure(exc, f"connecting to {where}")) from None
            cleanup.callback(tls.close)      # close_notify if still open (e.g. interrupted), then the socket
            status(f"connected to {where}: {summary_line(tls.handshake)}")
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
    from workbench.transport.terminal import Ended, Session, server_commands

    line_input = stdin_input()
    commands = server_commands()
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


def run_server(args) -> int:
    from workbench.tls import ServerConfig

    with stop_on_signals(), contextlib.ExitStack() as cleanup:
        try:
            identity = ServerIdentity(args)
            cleanup.callback(identity.cleanup)
            config = ServerConfig(certificate_chain=identity.chain, private_key=identity.key,
                                  alpn_protocols=split_alpn(args.alpn))
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
        from workbench.capture import record_to_json, render_timeline, replay
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
            text = render_timeline(records)        # streams: the records are not all kept
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

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tls-workbench", description="See TLS: a workbench around our own TLS engine.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    lab = sub.add_parser("lab", help="start JupyterLab on 127.0.0.1, opened on the notebooks")
    lab.add_argument("--port", type=int, help="JupyterLab's port (default: its own choice)")
    lab.set_defaults(handler=run_lab)

    client = sub.add_parser("client", help="connect to a TLS server (like openssl s_client)",
                            description="Lines typed are sent; received data is printed. "
                                        "Q alone on a line closes cleanly (close_notify) and exits.")
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
    client.set_defaults(handler=run_client)

    server = sub.add_parser("server", help="serve TLS connections one after another (like openssl s_server)",
                            description="Interactive mode: received data is printed, lines typed are sent; "
                                        "q alone on a line closes the connection cleanly, Q also stops the server.")
    server.add_argument("--port", type=int, default=4433, help="port to listen on (default 4433; 0 picks a free one)")
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    server.add_argument("--cert", metavar="FILE", help="certificate chain (PEM, leaf first)")
    server.add_argument("--key", metavar="FILE", help="private key (PEM) of --cert")
    server.add_argument("--alpn", action="append", metavar="PROTO",
                        help="ALPN protocols to accept, in preference order (repeat, or comma-separated)")
    server.add_argument("--keylog", metavar="FILE", help="append NSS key log lines (SSLKEYLOGFILE format)")
    server.add_argument("--events", metavar="FILE", help="write every engine event as a JSON line")
    server.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="bound on each handshake (default 10)")
    mode = server.add_mutually_exclusive_group()
    mode.add_argument("--echo", action="store_true", help="send back what is received")
    mode.add_argument("--http", action="store_true",
                      help="answer each GET with a page describing the connection (like s_server -www)")
    server.set_defaults(handler=run_server)

    replay = sub.add_parser("replay", help="decode and decrypt a capture (pcap/pcapng)")
    replay.add_argument("file", metavar="FILE")
    replay.add_argument("--keylog", metavar="KEYS", help="NSS key log to decrypt with")
    replay.add_argument("--json", action="store_true", help="one JSON object per record instead of a timeline")
    replay.set_defaults(handler=run_replay)
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
