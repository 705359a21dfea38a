"""A program run as a peer: standard input as a pipe, output collected, bounded in time.

Every PeerProcess starts in its own session (process group) and is stopped by its PID:
SIGTERM to its group, then SIGKILL after a grace period. A timer kills it when its lifetime
runs out, and any still running when Python exits are stopped too, so a forgotten peer never
outlives a notebook kernel or a test run.
"""
from __future__ import annotations

import atexit
import codecs
import contextlib
import os
import re
import signal
import subprocess
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from .netns import PrivateNetwork

DEFAULT_LIFETIME = 300.0
DEFAULT_STOP_GRACE = 3.0
_TAIL_CHARS = 2000

_running: weakref.WeakSet[PeerProcess] = weakref.WeakSet()


class PeerError(RuntimeError):
    """A peer program did not do what was expected. The message ends with its recent output."""


class PeerTimeout(PeerError, TimeoutError):
    """The expected output did not appear in time."""


class PeerExited(PeerError):
    """The program ended (or was killed) before doing what was expected."""


class PeerProcess:
    """Run argv as a peer. Use as a context manager, or call start() and stop()."""

    def __init__(
        self,
        argv: Sequence[str | os.PathLike[str]],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        netns: PrivateNetwork | None = None,
        lifetime: float = DEFAULT_LIFETIME,
        stop_grace: float = DEFAULT_STOP_GRACE,
    ) -> None:
        self.program_argv = [os.fspath(a) for a in argv]
        self.netns = netns
        self.argv = netns.command(self.program_argv) if netns is not None else list(self.program_argv)
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.lifetime = lifetime
        self.stop_grace = stop_grace
        self.expired = False
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Condition()
        self._text = {"stdout": "", "stderr": "", "combined": ""}
        self._open_streams = 0
        self._readers: list[threading.Thread] = []
        self._timer: threading.Timer | None = None

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> Self:
        if self._process is not None:
            raise RuntimeError(f"{self.name} was already started")
        self._process = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
            cwd=self.cwd,
            bufsize=0,
            start_new_session=True,  # its own process group, so helpers it forks stop with it
        )
        _running.add(self)
        self._open_streams = 2
        for stream_name, pipe in (("stdout", self._process.stdout), ("stderr", self._process.stderr)):
            reader = threading.Thread(
                target=self._read, args=(stream_name, pipe), name=f"{self.name}-{stream_name}", daemon=True
            )
            reader.start()
            self._readers.append(reader)
        self._timer = threading.Timer(self.lifetime, self._expire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> int | None:
        """Stop the program by its PID (SIGTERM, then SIGKILL after stop_grace); its exit code."""
        process = self._process
        if process is None:
            return None
        if self._timer is not None:
            self._timer.cancel()
        if process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                process.wait(self.stop_grace)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                process.wait(self.stop_grace)
            # Stragglers the program forked into its group. Only right after reaping it: the
            # PID stays reserved while its group has members, but not for long after.
            self._signal_group(signal.SIGKILL)
        if process.stdin is not None and not process.stdin.closed:
            with contextlib.suppress(OSError):  # a broken pipe: it is gone already
                process.stdin.close()
        for reader in self._readers:
            reader.join(self.stop_grace)
        _running.discard(self)
        return process.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _signal_group(self, signum: int) -> None:
        assert self._process is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is empty already
            os.killpg(self._process.pid, signum)

    def _expire(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self.expired = True
            self._signal_group(signal.SIGKILL)

    # -- state ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return os.path.basename(self.program_argv[0])

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def wait(self, timeout: float) -> int:
        """Wait for the program to end by itself; its exit code. Raises PeerTimeout."""
        if self._process is None:
            raise RuntimeError(f"{self.name} is not started")
        try:
            code = self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise PeerTimeout(self._describe(f"did not exit within {timeout} s")) from None
        if self._timer is not None:
            self._timer.cancel()
        for reader in self._readers:
            reader.join(self.stop_grace)
        return code

    # -- output ---------------------------------------------------------------------------

    @property
    def output(self) -> str:
        """Standard output and standard error as they arrived, interleaved."""
        with self._lock:
            return self._text["combined"]

    @property
    def stdout(self) -> str:
        with self._lock:
            return self._text["stdout"]

    @property
    def stderr(self) -> str:
        with self._lock:
            return self._text["stderr"]

    def mark(self, stream: str = "combined") -> int:
        """The current end of the output: pass it as `since` to wait only for what comes next."""
        with self._lock:
            return len(self._text[stream])

    def wait_until_ready(self, pattern: str | re.Pattern[str], timeout: float) -> re.Match[str]:
        """Wait for the line a server prints once it listens; stop the program when it never comes."""
        try:
            return self.wait_for_output(pattern, timeout)
        except PeerError:
            self.stop()
            raise

    def wait_for_output(
        self,
        pattern: str | re.Pattern[str],
        timeout: float = 10.0,
        *,
        since: int = 0,
        stream: str = "combined",
    ) -> re.Match[str]:
        """Wait until pattern (a regular expression, MULTILINE) matches the output from `since` on.

        Raises PeerTimeout when it does not appear in time, PeerExited when the program ends
        without printing it.
        """
        if self._process is None:
            raise RuntimeError(f"{self.name} is not started")
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                match = regex.search(self._text[stream], since)
                if match:
                    return match
                if self._open_streams == 0:
                    # Its output ended a moment before it did: wait for the exit code to report it.
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self._process.wait(self.stop_grace)
                    why = "was killed at the end of its lifetime" if self.expired else "ended"
                    raise PeerExited(self._describe(f"{why} before printing {regex.pattern!r}"))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PeerTimeout(self._describe(f"did not print {regex.pattern!r} within {timeout} s"))
                self._lock.wait(remaining)

    # -- input ----------------------------------------------------------------------------

    def send_line(self, text: str) -> None:
        """Type one line on the program's standard input (e.g. "K" for openssl, "^rekey^" for gnutls-cli)."""
        self.send(text.encode() + b"\n")

    def send(self, data: bytes) -> None:
        if self._process is None or self._process.stdin is None:
            raise RuntimeError(f"{self.name} is not started")
        try:
            self._process.stdin.write(data)
            self._process.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise PeerExited(self._describe("no longer reads its standard input")) from None

    def close_stdin(self) -> None:
        """End of file on the program's standard input (many programs then close the connection)."""
        if self._process is not None and self._process.stdin is not None:
            self._process.stdin.close()

    # -- internals ------------------------------------------------------------------------

    def _read(self, stream_name: str, pipe: object) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        fd = pipe.fileno()  # type: ignore[attr-defined]
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            text = decoder.decode(chunk, final=not chunk)
            with self._lock:
                self._text[stream_name] += text
                self._text["combined"] += text
                if not chunk:
                    self._open_streams -= 1
                self._lock.notify_all()
            if not chunk:
                return

    def _describe(self, what: str) -> str:
        code = self.returncode
        state = "running" if code is None else f"exit code {code}"
        tail = self.output[-_TAIL_CHARS:]
        return f"{self.name} (pid {self._process.pid if self._process else '-'}, {state}) {what}\n" \
               f"command: {' '.join(self.argv)}\n--- output (last {_TAIL_CHARS} chars) ---\n{tail}"

    def __repr__(self) -> str:
        state = "not started" if self._process is None else f"pid {self._process.pid}"
        return f"<{type(self).__name__} {self.name} {state}>"


@atexit.register
def _stop_all() -> None:
    for peer in list(_running):
        peer.stop()
