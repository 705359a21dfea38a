"""Live capture: the packets of a session as they cross, decoded and decrypted while it runs.

Two ways to get the packets, one pipeline after them:
- "sniffer": scapy's AsyncSniffer on loopback (see sniffer.py), when this process may capture (root or
  CAP_NET_RAW). It sees everything on the port: our own transports, and two programs that are not ours
  (`openssl s_client` talking to `gnutls-serv`), decrypted with the key log files they write, re-read as they grow.
- "tap": our transports report every chunk they move (workbench.transport.tap); the chunks become TCP/IP packets
  (tap_packets.py). Only our own traffic is seen, but no privilege is needed.

Either way the packets go, in order, to one RecordPipeline (the replay pipeline, fed packet by packet) and to a spool
file, so `save()` writes captures/<name>.pcapng with the key log in a Decryption Secrets Block.

    with LiveCapture(port, keylog="client.keys", on_record=show) as capture:
        print(capture.method, "-", capture.reason)
        conn = connect("127.0.0.1", port, config, tap=capture.tap, on_event=capture.on_event)
        ...
    capture.save("my-session")

Packets are decoded `settle` seconds after they arrive: an endpoint writes a key log line when it derives the
secret, which for the receiving side is just after the packet that made it possible crossed the wire.
"""
from __future__ import annotations

import itertools
import os
import queue
import tempfile
import threading
import time
import weakref
from typing import Callable, Iterable, Iterator

from .capture_file import CaptureFiles, packets_of, save_capture
from .diagnostics import Diagnostic
from .live_keylog import LiveKeyLog
from .model import DecodedRecord
from .pcap_io import PcapWriter
from .replay import RecordPipeline
from .sniffer import CapturePermissionError, LoopbackSniffer, capture_permission
from .tap_packets import LOOPBACK_MSS, TapPacketizer, parse_endpoint

METHODS = ("auto", "sniffer", "tap")
SNIFFER, TAP = "sniffer", "tap"
_STOP = object()


def choose_method(requested: str = "auto") -> tuple[str, str]:
    """(method, reason in words): "sniffer" when this process may capture, else "tap"."""
    if requested not in METHODS:
        raise ValueError(f"capture method must be one of {', '.join(METHODS)}, not {requested!r}")
    if requested == TAP:
        return TAP, ("the in-process tap was asked for: only traffic of our own transports is recorded, "
                     "from the chunks they send and receive")
    allowed, why = capture_permission()
    if allowed:
        try:
            import scapy.arch.linux  # noqa: F401  (the sniffer needs Linux packet sockets through scapy)
        except ImportError as exc:
            allowed, why = False, f"scapy's Linux packet sockets are not available ({exc})"
    if allowed:
        return SNIFFER, f"{why}: capturing loopback with scapy's AsyncSniffer (sees every program's traffic)"
    if requested == SNIFFER:
        raise CapturePermissionError(f"cannot sniff: {why}")
    return TAP, (f"cannot sniff: {why}. Recording our own transports through the in-process tap instead; "
                 "traffic between other programs is not seen")


class _Tap:
    """The TrafficTap handed to our transports: in tap mode it records, in sniffer mode the wire is already
    captured and it does nothing (so code can always pass `tap=capture.tap`)."""

    __slots__ = ("_capture",)

    def __init__(self, capture: "LiveCapture"):
        self._capture = capture

    def __call__(self, timestamp: float, src: str, dst: str, data: bytes) -> None:
        self._capture._on_chunk(timestamp, src, dst, data, self)


class LiveCapture:
    """Capture TCP `ports` (all TCP when None) on loopback, decoding TLS records as they arrive.

    keylog: key log file paths (followed as programs write them), key log text, or KeyLog objects; more with
        `follow_keylog()`; our engine's secrets arrive through `on_event`.
    method: "auto" (sniffer when allowed, else tap), "sniffer" (CapturePermissionError when not allowed), "tap".
    netns: a workbench.peers.PrivateNetwork (anything with `entered()`): sniff the loopback of that namespace.
    on_record: called with each DecodedRecord as soon as it is decoded, from the capture's decoding thread.
    settle: seconds a packet waits before it is decoded (key log writers catch up meanwhile).
    tls_ports: ports decoded as TLS without detection (default: `ports`).

    Attributes: method, reason, records (decoded so far), connections, diagnostics, frames, keylog."""

    def __init__(self, ports: int | Iterable[int] | None = None, *, keylog=None, method: str = "auto",
                 netns=None, iface: str = "lo", on_record: Callable[[DecodedRecord], None] | None = None,
                 settle: float = 0.1, tls_ports: Iterable[int] | None = None, mss: int = LOOPBACK_MSS,
                 seed: int | None = None):
        self.ports = frozenset([ports] if isinstance(ports, int) else (ports or ()))
        self.method, self.reason = choose_method(method)
        self.netns = netns
        self.iface = iface
        self.settle = settle
        self.keylog = LiveKeyLog(*(keylog if isinstance(keylog, (list, tuple)) else [keylog]))
        self._listeners: list[Callable[[DecodedRecord], None]] = [on_record] if on_record else []
        self._decoder = RecordPipeline(self.keylog, tls_ports=self.ports if tls_ports is None else tls_ports)
        self._packetizer = TapPacketizer(mss=mss, seed=seed)
        self._tap_lock = threading.Lock()
        self.tap = _Tap(self)
        self._queue: queue.Queue = queue.Queue()
        self._records: list[DecodedRecord] = []
        self._done = threading.Condition()
        self._received = 0                # packets queued (sniffed or made from chunks)
        self._processed = 0               # packets decoded
        self._finished = False
        self._started = False
        self._stopped = False
        self._sniffer: LoopbackSniffer | None = None
        self._worker: threading.Thread | None = None
        self._spool_lock = threading.Lock()
        # every packet also goes to a spool file (it holds the session's bytes: private, removed by close(), or
        # when the capture is collected, or at exit)
        spool_fd, self._spool_path = tempfile.mkstemp(prefix="tls-workbench-", suffix=".pcap")
        os.fchmod(spool_fd, 0o600)
        self._spool = os.fdopen(spool_fd, "wb")
        self._remove_spool = weakref.finalize(self, _remove_file, self._spool, self._spool_path)
        self._spool_writer: PcapWriter | None = None
        self._spool_linktype: int | None = None
        self._spooled = 0                 # packets complete in the spool file
        self.packets_not_saved = 0        # packets of a second link type (one pcap holds one)

    # -- life cycle ---------------------------------------------------------------------------------------
    def start(self) -> "LiveCapture":
        if self._started:
            raise RuntimeError("the capture was already started")
        self._started = True
        self._worker = threading.Thread(target=self._decode_loop, name="live-capture-decoder", daemon=True)
        self._worker.start()
        if self.method == SNIFFER:
            self._sniffer = LoopbackSniffer(self._on_packet, ports=self.ports, iface=self.iface, netns=self.netns)
            try:
                self._sniffer.start()
            except CapturePermissionError as exc:
                # allowed a moment ago but not here (e.g. inside the namespace): record our own traffic instead
                self._sniffer = None
                self.method = TAP
                self.reason = f"cannot sniff: {exc}. Recording our own transports through the in-process tap"
            except BaseException:
                self._sniffer = None
                self.stop()                    # the decoding thread ends too
                raise
        return self

    def stop(self, timeout: float = 30.0) -> "LiveCapture":
        """Stop capturing, decode what is still queued, finish every connection. Idempotent."""
        if not self._started or self._stopped:
            return self
        self._stopped = True
        if self._sniffer is not None:
            try:
                self._sniffer.stop()
            except Exception as exc:           # what was captured so far is still decoded and saved
                self._diagnose(f"stopping the sniffer failed: {exc!r}")
            if self._sniffer.exception is not None:
                self._diagnose(f"the sniffer stopped with an error: {self._sniffer.exception!r}")
        with self._tap_lock:
            for frame in self._packetizer.close_all(time.time()):
                self._enqueue(*frame)
        self._queue.put(_STOP)
        if self._worker is not None:
            self._worker.join(timeout)
        return self

    def close(self) -> None:
        """Stop, and remove the spool file (save() first to keep the capture)."""
        self.stop()
        with self._spool_lock:
            self._remove_spool()

    def __enter__(self) -> "LiveCapture":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- inputs -------------------------------------------------------------------------------------------
    @property
    def on_event(self) -> Callable[[object], None]:
        """Engine event listener for our transports (`on_event=capture.on_event`): their secrets decrypt."""
        return self.keylog.on_event

    def follow_keylog(self, path) -> None:
        """Also decrypt with the key log file at `path` (read as it grows)."""
        self.keylog.follow(path)

    def new_tap(self) -> _Tap:
        """Another tap for the other end of a connection whose first end has `capture.tap`: each connection is
        recorded from the first tap that reports it, so the copies of the second are not counted twice."""
        return _Tap(self)

    def add_listener(self, listener: Callable[[DecodedRecord], None]) -> None:
        """Also call `listener(record)` for every record decoded from now on."""
        self._listeners.append(listener)

    def _on_packet(self, timestamp: float, linktype: int, data: bytes) -> None:
        self._enqueue(timestamp, linktype, data)

    def _on_chunk(self, timestamp: float, src: str, dst: str, data: bytes, reporter: _Tap) -> None:
        if self.method != TAP or not self._started or self._stopped:
            return
        try:                        # called from a transport: whatever happens here must not break its I/O
            if self.ports and not ({parse_endpoint(src)[1], parse_endpoint(dst)[1]} & self.ports):
                return
            with self._tap_lock:    # one packetizer, frames queued in the order their chunks were reported
                for frame in self._packetizer.chunk(timestamp, src, dst, data, reporter=reporter):
                    self._enqueue(*frame)
        except Exception as exc:
            self._diagnose(f"a tapped chunk from {src} to {dst} was not recorded: {exc}")

    def end_connection(self, src: str, dst: str) -> None:
        """Tap mode: the connection between src and dst is over (src closed first); it gets its FINs now
        rather than when the capture stops."""
        with self._tap_lock:
            for frame in self._packetizer.close(src, dst, time.time()):
                self._enqueue(*frame)

    def _enqueue(self, timestamp: float, linktype: int, data: bytes) -> None:
        with self._done:
            self._received += 1
        self._queue.put((time.monotonic(), timestamp, linktype, data))

    # -- decoding -----------------------------------------------------------------------------------------
    def _decode_loop(self) -> None:
        decoder = self._decoder
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            arrived, timestamp, linktype, data = item
            wait = arrived + self.settle - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._spool_packet(timestamp, linktype, data)
            self.keylog.refresh()
            try:
                records = decoder.feed(timestamp, linktype, data)
            except Exception as exc:           # a decoder bug must not end the capture
                records = []
                self._diagnose(f"frame {decoder.frames} could not be decoded: {exc!r}")
            self._publish(records, processed=1)
        self.keylog.refresh(final=True)
        self._publish(decoder.finish(), processed=0)
        with self._done:
            self._finished = True
            self._done.notify_all()

    def _publish(self, records: list[DecodedRecord], processed: int) -> None:
        with self._done:
            self._records.extend(records)
            self._processed += processed
            self._done.notify_all()
        for record in records:
            for listener in list(self._listeners):
                try:
                    listener(record)
                except Exception as exc:       # a view that fails must not stop the capture
                    self._diagnose(f"record listener {listener!r} failed: {exc!r}")

    def _spool_packet(self, timestamp: float, linktype: int, data: bytes) -> None:
        with self._spool_lock:
            if self._spool.closed:
                return
            if self._spool_writer is None:
                self._spool_writer = PcapWriter(self._spool, linktype)
                self._spool_linktype = linktype
            if linktype != self._spool_linktype:
                self.packets_not_saved += 1
                return
            self._spool_writer.write(data, timestamp)
            self._spooled += 1

    def _diagnose(self, message: str) -> None:
        self._decoder.diagnostics.add(Diagnostic("capture", message, frame=self._decoder.frames or None))

    # -- results ------------------------------------------------------------------------------------------
    @property
    def records(self) -> list[DecodedRecord]:
        with self._done:
            return list(self._records)

    @property
    def connections(self):
        return self._decoder.connections

    @property
    def diagnostics(self):
        return self._decoder.diagnostics

    @property
    def frames(self) -> int:
        return self._decoder.frames

    @property
    def running(self) -> bool:
        return self._started and not self._stopped

    def wait_decoded(self, timeout: float = 10.0) -> bool:
        """Wait until every packet received so far is decoded; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._done:
            target = self._received
            while self._processed < target and not self._finished:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._done.wait(remaining)
        return True

    def wait_for(self, predicate: Callable[[list[DecodedRecord]], bool], timeout: float = 10.0) -> bool:
        """Wait until predicate(records decoded so far) holds; False on timeout or when the capture ended
        without it."""
        deadline = time.monotonic() + timeout
        with self._done:
            while not predicate(self._records):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._finished:
                    return False
                self._done.wait(remaining)
        return True

    def iter_records(self, timeout: float | None = None) -> Iterator[DecodedRecord]:
        """Every record, the ones decoded already and then each new one as it comes, until the capture is
        stopped and drained (or `timeout` seconds pass without a new record)."""
        index = 0
        while True:
            with self._done:
                if index >= len(self._records) and not self._finished:
                    self._done.wait_for(lambda: index < len(self._records) or self._finished, timeout)
                batch = self._records[index:]
                finished = self._finished
            if not batch:
                if finished or timeout is not None:
                    return
                continue
            index += len(batch)
            yield from batch

    __iter__ = iter_records

    def client_randoms(self) -> list[bytes]:
        """The client randoms of every handshake captured (first handshakes and renegotiations)."""
        randoms = []
        for summary in list(self.connections.values()):
            if summary.client_random:
                randoms.append(summary.client_random)
            randoms += [r.client_random for r in summary.renegotiations if r.client_random]
        return randoms

    def save(self, name: str | None = None, *, directory=None, format: str = "pcapng",
             all_secrets: bool = False, overwrite: bool = False) -> CaptureFiles:
        """Write what was captured so far to captures/<name>.pcapng (key log in a Decryption Secrets Block) or,
        with format="pcap", captures/<name>.pcap + captures/<name>.keys.

        Only the secrets of the connections in the capture are saved (a shared SSLKEYLOGFILE holds others);
        all_secrets=True saves every secret known."""
        if self._started and not self._stopped:
            self.wait_decoded()
        self.keylog.refresh(final=self._stopped)
        text = self.keylog.to_text() if all_secrets else self.keylog.text_for(self.client_randoms())
        with self._spool_lock:
            if not self._spool.closed:
                self._spool.flush()
            spooled = self._spooled
        # the decoder thread may append while we copy: take the packets complete at the flush, no more
        packets = itertools.islice(packets_of(self._spool_path), spooled) if spooled else ()
        return save_capture(packets, text, name=name, directory=directory, format=format, overwrite=overwrite)

    def describe(self) -> str:
        """One line for a status bar: method, why, and what was seen."""
        return (f"{self.method}: {self.reason} — {self.frames} packets, {len(self._records)} records, "
                f"{len(self.connections)} TLS connections")


def _remove_file(spool, path: str) -> None:
    if not spool.closed:
        spool.close()
    if os.path.exists(path):
        os.unlink(path)
