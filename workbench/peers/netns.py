"""A private network namespace that has only loopback, for peers that cannot be told where to listen.

gnutls-serv binds every interface and has no option to choose one. Run inside a
PrivateNetwork, "every interface" is a loopback that nothing outside can reach, and nothing
it listens on collides with the host's ports.

Three ways in, all needing root (CAP_SYS_ADMIN):
- programs: `PeerProcess(argv, netns=net)` or `net.command(argv)` wraps argv in nsenter;
- Python code in this process: `with net.entered(): sock = socket.create_connection(...)`
  moves only the calling thread in. Sockets made inside stay in the namespace after the block,
  and threads started inside inherit it (start an asyncio loop or a sniffer there);
- a whole Python script: `PeerProcess([sys.executable, script, ...], netns=net)`.

A sleeping holder process keeps the namespace alive; stopping it (by its PID) ends the
namespace once the last process inside has ended too.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence

CLONE_NEWNET = 0x40000000
DEFAULT_LIFETIME = 600.0
_REQUIRED_PROGRAMS = ("unshare", "nsenter", "ip")


class NetnsUnavailable(RuntimeError):
    """A private network namespace cannot be made here (not root, a program missing, no permission)."""


def why_netns_unavailable() -> str | None:
    """None when a PrivateNetwork can be attempted, else the reason in words (for a test's skip)."""
    if os.geteuid() != 0:
        return "a private network namespace needs root (unshare -n)"
    missing = [p for p in _REQUIRED_PROGRAMS if shutil.which(p) is None]
    if missing:
        return f"missing program(s) for a private network namespace: {', '.join(missing)}"
    return None


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns(CLONE_NEWNET): {os.strerror(errno)}")


class PrivateNetwork:
    """A network namespace with only `lo`, up. Use as a context manager."""

    def __init__(self, lifetime: float = DEFAULT_LIFETIME) -> None:
        self.lifetime = lifetime
        self._holder: subprocess.Popen[str] | None = None
        self._fd: int | None = None
        self._enter_lock = threading.Lock()

    def start(self) -> PrivateNetwork:
        reason = why_netns_unavailable()
        if reason:
            raise NetnsUnavailable(reason)
        # The holder sleeps for at most `lifetime` seconds: the namespace cannot outlive a lost test.
        script = f"ip link set lo up && echo ready && exec sleep {int(self.lifetime)}"
        holder = subprocess.Popen(
            ["unshare", "--net", "--", "sh", "-c", script],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True,
        )
        assert holder.stdout is not None and holder.stderr is not None
        line = holder.stdout.readline()  # "ready", or "" when unshare or ip failed
        if line.strip() != "ready":
            holder.kill()
            holder.wait()
            error = holder.stderr.read().strip()
            raise NetnsUnavailable(f"cannot make a private network namespace: {error or 'no reason given'}")
        self._holder = holder
        self._fd = os.open(self.path, os.O_RDONLY)
        return self

    def stop(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._holder is not None:
            if self._holder.poll() is None:
                self._holder.kill()
            self._holder.wait()
            for pipe in (self._holder.stdout, self._holder.stderr):
                if pipe is not None:
                    pipe.close()
            self._holder = None

    def __enter__(self) -> PrivateNetwork:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        """PID of the holder process."""
        if self._holder is None:
            raise RuntimeError("the private network is not started")
        return self._holder.pid

    @property
    def path(self) -> str:
        """The namespace file (/proc/PID/ns/net), for nsenter --net= and setns()."""
        return f"/proc/{self.pid}/ns/net"

    def command(self, argv: Sequence[str]) -> list[str]:
        """argv wrapped to run inside the namespace (nsenter execs it: the PID stays the same)."""
        return ["nsenter", f"--net={self.path}", "--", *argv]

    def run(self, argv: Sequence[str], *, timeout: float = 30.0, **kwargs: object) -> subprocess.CompletedProcess:
        """Run a short command inside the namespace and wait for it (subprocess.run arguments)."""
        return subprocess.run(self.command(argv), timeout=timeout, **kwargs)  # type: ignore[call-overload]

    @contextlib.contextmanager
    def entered(self) -> Iterator[PrivateNetwork]:
        """Move the calling thread into the namespace for the block, then back."""
        if self._fd is None:
            raise RuntimeError("the private network is not started")
        original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            _setns(self._fd)
            try:
                yield self
            finally:
                _setns(original)
        finally:
            os.close(original)
