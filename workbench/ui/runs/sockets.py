"""Our engine over a real socket: against an OpenSSL or GnuTLS program the workbench starts on 127.0.0.1,
serving such a program as a client, or connecting to any HOST:PORT.

Each connection runs in its own thread (the kernel stays free): the thread connects (or accepts), then
loops reading what arrives and carrying out the commands the controls queue (send, KeyUpdate,
renegotiate, save the session, close). Engine events go into the run's timeline as they happen, so the
packet list fills while the connection runs; the bytes the socket moves go to a decoder for the
inspector. Peer programs are bounded in time and stopped by their PID when the run closes.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import select
import ssl
import threading
import time
from typing import Callable

from workbench.tls.errors import TLSError, UsageError

from ..decoding import ConnectionDecoder
from ..options import Credentials, EngineFeatures, RunOptions, client_config, server_config
from .base import Run, SavedSession

CONNECT_TIMEOUT = 10.0
CONNECTION_LIFETIME = 900.0      # a connection left open is closed after this long
PEER_LIFETIME = 1800.0
POLL = 0.05


def parse_target(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"give the server as HOST:PORT (for example example.com:443), not {text!r}")
    return host.strip("[]"), int(port)


def system_trust_anchors():
    """The system's CA certificates, for verifying a remote server."""
    from cryptography import x509
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and os.path.exists(candidate):
            with open(candidate, "rb") as handle:
                return tuple(x509.load_pem_x509_certificates(handle.read()))
    raise UsageError("no system CA bundle found: untick “verify” to connect without checking the certificate")


def _version_args(program: str, version: str) -> list[str]:
    if program == "openssl":
        return {"1.3": ["-tls1_3"], "1.2": ["-tls1_2"], "any": []}[version]
    priority = {"1.3": "NORMAL:-VERS-ALL:+VERS-TLS1.3", "1.2": "NORMAL:-VERS-ALL:+VERS-TLS1.2",
                "any": "NORMAL"}[version]
    return ["--priority", priority]


@dataclasses.dataclass
class LiveConnection:
    conn_id: int
    role: str                              # the role of OUR engine: "client" or "server"
    commands: "queue.Queue[tuple]" = dataclasses.field(default_factory=queue.Queue)
    thread: threading.Thread | None = None
    tls: object = None                     # workbench.transport TLSSocket once connected
    decoder: ConnectionDecoder | None = None
    client_endpoint: str | None = None
    state: str = "starting"                # starting, connected, closed, failed


class SocketRun(Run):
    kind = "socket"

    def __init__(self, options: RunOptions, features: EngineFeatures, credentials: Credentials) -> None:
        super().__init__()
        self.options = dataclasses.replace(options)
        self.features = features
        self.credentials = credentials
        self.pair = options.pair
        self.title = {"openssl-server": "our client → OpenSSL server", "gnutls-server": "our client → GnuTLS server",
                      "openssl-client": "OpenSSL client → our server", "gnutls-client": "GnuTLS client → our server",
                      "remote": f"our client → {options.target}"}[self.pair]
        self.our_role = "server" if self.pair.endswith("-client") else "client"
        self.connections: list[LiveConnection] = []
        self.saved: SavedSession | None = None
        self.peer = None                       # the peer program (PeerProcess) while it runs
        self.netns = None
        self._keylog_path = self.credentials.directory / f"peer-{id(self)}.keys"
        self._server_config = None
        self._last_notice = 0.0
        self._throttle = 0.15

    # -- notifications from worker threads --------------------------------------------------------------------
    def _notify(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_notice >= self._throttle:
            self._last_notice = now
            self.changed()

    def _listener(self, conn: LiveConnection) -> Callable[[object], None]:
        def on_event(event) -> None:
            with self.lock:
                self.builder.add_engine_event(conn.conn_id, self.our_role, event, time.time())
            self._notify()
        return on_event

    def _tap(self, conn: LiveConnection):
        def tap(timestamp: float, src: str, dst: str, data: bytes) -> None:
            with self.lock:
                if conn.decoder is None:
                    # the first bytes on a TLS connection are the client's ClientHello
                    conn.client_endpoint = src
                    conn.decoder = ConnectionDecoder(conn.conn_id, src, dst, lambda c=conn: self._keylog_lines(c))
                    self.records.add_connection(conn.decoder)
                    self.builder.set_endpoints(conn.conn_id, src, dst)
                conn.decoder.add_chunk(src == conn.client_endpoint, data, timestamp)
        return tap

    def _keylog_lines(self, conn: LiveConnection) -> list[str]:
        tls = conn.tls
        return tls.connection.key_log_lines() if tls is not None else []

    # -- starting -----------------------------------------------------------------------------------------
    def connect(self, session_data: bytes | None = None) -> LiveConnection:
        """Start a connection in the background (and the peer program first, if there is one)."""
        if session_data is not None and self.our_role != "client":
            raise UsageError("only our client can resume: here the peer program is the client")
        if self.pair == "remote":
            parse_target(self.options.target)          # a mistyped target is said now, not from a thread
        conn = LiveConnection(len(self.connections), self.our_role)
        self.connections.append(conn)
        worker = self._client_worker if self.our_role == "client" else self._server_worker
        conn.thread = threading.Thread(target=self._run_worker, args=(worker, conn, session_data),
                                       name=f"workbench-connection-{conn.conn_id}", daemon=True)
        self.busy = True
        self.status = "connecting…"
        conn.thread.start()
        self._notify(force=True)
        return conn

    def _run_worker(self, worker, conn: LiveConnection, session_data: bytes | None) -> None:
        try:
            worker(conn, session_data)
        except Exception as exc:          # a peer, the network, a peer program that did not start: in words
            conn.state = "failed"
            self.problem(exc, f"connection {conn.conn_id}")
        finally:
            if conn.tls is not None:
                with contextlib.suppress(Exception):
                    conn.tls.close()
            if conn.state not in ("failed",):
                conn.state = "closed"
            self.busy = any(c.state in ("starting", "connected") for c in self.connections)
            self.status = self._describe_state()
            self._notify(force=True)

    def _describe_state(self) -> str:
        live = [c for c in self.connections if c.state == "connected"]
        if live:
            return f"connection {live[-1].conn_id} open"
        return "no open connection"

    def _start_peer_server(self) -> tuple[str, int]:
        """Start the peer program our client talks to (once per run); its address."""
        if self.peer is not None and self.peer.running:
            return "127.0.0.1", self.peer.port
        ca, cert, key = self.credentials.pem_files(self.options.certificate)
        if self.pair == "openssl-server":
            from workbench.peers import OpenSSLServer
            args = _version_args("openssl", self.options.version)
            if self.options.version != "1.3":
                args.append("-client_renegotiation")
            self.peer = OpenSSLServer(cert, key, keylog=self._keylog_path, args=args, lifetime=PEER_LIFETIME).start()
        else:
            from workbench.peers import GnuTLSServer, PrivateNetwork
            if self.netns is None:
                self.netns = PrivateNetwork(lifetime=PEER_LIFETIME).start()
            self.peer = GnuTLSServer(cert, key, netns=self.netns, keylog=self._keylog_path,
                                     args=_version_args("gnutls", self.options.version), lifetime=PEER_LIFETIME)
            self.peer.start()
        return "127.0.0.1", self.peer.port

    def _client_worker(self, conn: LiveConnection, session_data: bytes | None) -> None:
        from workbench.transport.blocking import connect
        if self.pair == "remote":
            host, port = parse_target(self.options.target)
            anchors = system_trust_anchors() if self.options.verify else ()
            config = client_config(self.options, self.features, trust_anchors=anchors, server_name=host,
                                   verify=self.options.verify, session_data=session_data)
        else:
            host, port = self._start_peer_server()
            config = client_config(self.options, self.features, trust_anchors=(self.credentials.ca.certificate,),
                                   session_data=session_data)
        context = self.netns.entered() if self.netns is not None else contextlib.nullcontext()
        with context:
            tls = connect(host, port, config, timeout=CONNECT_TIMEOUT, tap=self._tap(conn),
                          on_event=self._listener(conn))
        conn.tls = tls
        self._serve(conn)

    def _server_worker(self, conn: LiveConnection, session_data: bytes | None) -> None:
        from workbench.transport.blocking import listen, serve_one
        if self._server_config is None:
            self._server_config = server_config(self.options, self.features,
                                                self.credentials.identity(self.options.certificate))
        listener = listen("127.0.0.1", 0)
        try:
            port = listener.getsockname()[1]
            ca, _, _ = self.credentials.pem_files(self.options.certificate)
            if self.pair == "openssl-client":
                from workbench.peers import OpenSSLClient
                self.peer = OpenSSLClient(port, ca=ca, keylog=self._keylog_path, lifetime=PEER_LIFETIME,
                                          args=_version_args("openssl", self.options.version)).start()
            else:
                from workbench.peers import GnuTLSClient
                self.peer = GnuTLSClient(port, ca=ca, keylog=self._keylog_path, lifetime=PEER_LIFETIME,
                                         args=_version_args("gnutls", self.options.version)).start()
            listener.settimeout(CONNECT_TIMEOUT)
            conn.tls = serve_one(listener, self._server_config, timeout=CONNECT_TIMEOUT, tap=self._tap(conn),
                                 on_event=self._listener(conn))
        finally:
            listener.close()
        self._serve(conn)

    # -- the connection's loop ----------------------------------------------------------------------------
    def _serve(self, conn: LiveConnection) -> None:
        tls = conn.tls
        conn.state = "connected"
        self.status = f"connection {conn.conn_id} open"
        self._notify(force=True)
        deadline = time.monotonic() + CONNECTION_LIFETIME
        closing_since = None
        while not self.stopped and time.monotonic() < deadline:
            try:
                command = conn.commands.get_nowait()
            except queue.Empty:
                command = None
            if command is not None:
                if self._execute(conn, command) == "closing":
                    closing_since = time.monotonic()
            if tls.at_eof:
                break
            if closing_since is not None and time.monotonic() - closing_since > 2.0:
                break            # we said goodbye; the peer did not answer: stop waiting
            if tls.pending() or select.select([tls.sock], [], [], POLL)[0]:
                try:
                    tls.read_available()
                except (TLSError, OSError) as exc:
                    self.problem(exc, f"connection {conn.conn_id}")
                    break
                self._notify()

    def _execute(self, conn: LiveConnection, command: tuple) -> str | None:
        name, args = command[0], command[1:]
        tls = conn.tls
        try:
            if name == "send":
                tls.send(args[0])
            elif name == "key_update":
                from workbench.tls.enums import KeyUpdateType
                tls.call("key_update", KeyUpdateType.REQUESTED if args[0] else KeyUpdateType.NOT_REQUESTED)
                tls.call("do_handshake")
            elif name == "renegotiate":
                tls.call("renegotiate_abbreviated" if args[0] else "renegotiate")
                tls.call("do_handshake")
            elif name == "save_session":
                data = tls.connection.session_data()
                tickets = len([t for t in self.timeline.tickets if t.issued_by == conn.conn_id])
                self.saved = SavedSession(data, conn.conn_id, time.time(), tickets)
            elif name == "close":
                tls.call("close")
                return "closing"
        except (TLSError, OSError) as exc:
            self.problem(exc, f"{name} on connection {conn.conn_id}")
        self._notify(force=True)
        return None

    # -- what the controls call -----------------------------------------------------------------------------
    @property
    def current(self) -> LiveConnection | None:
        return self.connections[-1] if self.connections else None

    def _command(self, *command) -> None:
        conn = self.current
        if conn is None or conn.state != "connected":
            raise UsageError("no open connection: connect first")
        conn.commands.put(command)

    def action_state(self, name: str) -> str | None:
        conn = self.current
        if name == "connect":
            return None
        if name == "resume":
            if self.our_role != "client":
                return "only our client can resume (here the peer program is the client)"
            return self.features.missing("resume") or (None if self.saved else "save session data first")
        if conn is None or conn.state != "connected":
            return "no open connection"
        if name == "key_update":
            return self.features.missing("key_update")
        if name == "renegotiate":
            return self.features.missing("renegotiate")
        if name == "save_session":
            if self.our_role != "client":
                return "session data belongs to a client (here our engine is the server)"
            return self.features.missing("session_data")
        return None

    def send(self, data: bytes, side: str | None = None) -> None:
        self._command("send", bytes(data))

    def key_update(self, requested: bool = True, side: str | None = None) -> None:
        self._command("key_update", requested)

    def renegotiate(self, abbreviated: bool = False, side: str | None = None) -> None:
        self._command("renegotiate", abbreviated)

    def save_session(self) -> None:
        self._command("save_session")

    def close_connection(self, side: str | None = None) -> None:
        self._command("close")

    def resume(self, data: bytes | None = None) -> None:
        session = data if data is not None else (self.saved.data if self.saved else None)
        if session is None:
            raise UsageError("no saved session data: save it first")
        self.connect(session_data=session)

    def peer_output(self, lines: int = 40) -> str:
        """The last lines the peer program printed (shown under the views)."""
        if self.peer is None:
            return ""
        return "\n".join(self.peer.output.splitlines()[-lines:])

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate():
                    return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        super().close()
        for conn in self.connections:
            if conn.thread is not None:
                conn.thread.join(3.0)
        if self.peer is not None:
            self.peer.stop()
        if self.netns is not None:
            self.netns.stop()
            self.netns = None
