"""Capturing on lo in tests: `tshark -i lo` around a session, and what tshark then shows of it.

- `why_no_capture`: why this machine cannot capture on lo (None when it can).
- `LoopbackCapture`: tshark writing one TCP port's packets to a pcapng file; `flush()` waits until
  everything sent so far is in the file; stopped with SIGINT so that the file is complete.
- `interrupt`: that SIGINT stop, for any capture program run as a PeerProcess.
- `tshark_session`: one TCP stream of a capture per sender, decrypted with a key log.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from workbench.peers import PeerProcess, free_port
from workbench.transport.blocking import listen

CAPTURE_TIMEOUT = 15.0


def why_no_capture() -> str | None:
    missing = [p for p in ("tshark", "dumpcap") if shutil.which(p) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install tshark)"
    if os.geteuid() != 0:
        return "capturing on lo needs root (or CAP_NET_RAW for dumpcap)"
    return None


def interrupt(process: PeerProcess, timeout: float = CAPTURE_TIMEOUT) -> None:
    """Stop a capture program with SIGINT (it then closes its file) and wait; stop it by its PID after."""
    if process.running:
        os.kill(process.pid, signal.SIGINT)
        process.wait(timeout)
    process.stop()


class LoopbackCapture:
    """`tshark -i lo` writing the packets of one TCP port to a pcapng file; bounded in time.

    dumpcap hands packets to the file in blocks, up to a second late, and drops what it has not
    written when it is interrupted: `flush()` waits until everything sent so far is in the file.
    Use as a context manager, or call start() and stop().
    """

    def __init__(self, port: int, path: Path):
        self.port = port
        self.path = path
        # The flush marker crosses a port of its own: the port under test may still have a listener,
        # and the marker is then never mistaken for that port's TLS.
        self.marker_port = free_port()
        self.process = PeerProcess(["tshark", "-i", "lo", "-f", f"tcp port {port} or tcp port {self.marker_port}",
                                    "-w", str(path)], lifetime=60)

    def start(self) -> LoopbackCapture:
        self.process.start()
        # "Capturing on 'Loopback: lo'" comes before dumpcap is ready; this message comes after.
        self.process.wait_for_output("Capture started", CAPTURE_TIMEOUT, stream="stderr")
        return self

    def flush(self) -> None:
        """Send a marker over a throwaway TCP connection, and wait until it is in the file: the
        packets before it are there too."""
        marker = b"end of capture " + os.urandom(8).hex().encode()
        with listen("127.0.0.1", self.marker_port) as listener:
            with socket.create_connection(("127.0.0.1", self.marker_port), timeout=CAPTURE_TIMEOUT) as sender:
                receiver, _ = listener.accept()
                with receiver:
                    sender.sendall(marker)
                    receiver.recv(len(marker))
        deadline = time.monotonic() + CAPTURE_TIMEOUT
        while marker not in self.path.read_bytes():
            if time.monotonic() > deadline:
                raise AssertionError(f"tshark wrote no packet of the marker connection in {CAPTURE_TIMEOUT} s")
            time.sleep(0.05)

    def stop(self) -> None:
        interrupt(self.process)      # tshark stops dumpcap and closes the file

    def __enter__(self) -> LoopbackCapture:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@dataclass
class TsharkDirection:
    handshake_types: list[int] = field(default_factory=list)
    content_types: list[int] = field(default_factory=list)
    application_data: bytes = b""


def tshark_session(capture: Path, port: int, keylog: Path | None, stream: int = 0) -> dict[str, TsharkDirection]:
    """What tshark shows of one TCP stream, per sender ("client" or "server"), decrypted with `keylog`."""
    argv = ["tshark", "-n", "-r", str(capture), "-d", f"tcp.port=={port},tls"]
    if keylog is not None:
        argv += ["-o", f"tls.keylog_file:{keylog}"]
    argv += ["-Y", f"tls && tcp.stream == {stream}", "-T", "fields", "-e", "tcp.srcport",
             "-e", "tls.record.content_type", "-e", "tls.handshake.type", "-e", "data.data"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    seen = {"client": TsharkDirection(), "server": TsharkDirection()}
    for line in result.stdout.splitlines():
        source, content_types, handshake_types, data = (line.split("\t") + [""] * 4)[:4]
        direction = seen["server" if int(source) == port else "client"]
        direction.content_types += [int(v) for v in content_types.split(",") if v]
        direction.handshake_types += [int(v) for v in handshake_types.split(",") if v]
        direction.application_data += bytes.fromhex(data.replace(",", "").replace(":", ""))
    return seen
