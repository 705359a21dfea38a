"""Subprocesses for tests: bounded in time, read line by line without blocking, stopped by PID."""
from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time


class BoundedProcess:
    """A child process whose stdout and stderr lines are collected by reader threads.

    Use as a context manager: on exit the process is killed by its PID if still running.
    """

    def __init__(self, argv, *, stdin=subprocess.PIPE, env=None, cwd=None):
        self.argv = list(argv)
        self.proc = subprocess.Popen(self.argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, cwd=cwd)
        self.lines = {"stdout": queue.Queue(), "stderr": queue.Queue()}
        self.seen = {"stdout": [], "stderr": []}
        self._threads = [threading.Thread(target=self._pump, args=(name, stream), daemon=True)
                         for name, stream in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr))]
        for thread in self._threads:
            thread.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _pump(self, name, stream):
        try:
            for raw in iter(stream.readline, b""):
                self.lines[name].put(raw.decode("utf-8", "replace"))
        except (OSError, ValueError):
            pass            # the stream was closed under us at teardown
        self.lines[name].put(None)

    def expect(self, pattern: str, stream: str = "stdout", timeout: float = 10.0) -> re.Match:
        """Wait for a line of `stream` matching `pattern` (regex search); fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.argv[:3]}: no {stream} line matching {pattern!r} in {timeout}s; "
                                     f"seen {self.seen}")
            try:
                line = self.lines[stream].get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.lines[stream].put(None)     # keep reporting the end
                raise AssertionError(f"{self.argv[:3]}: {stream} ended without {pattern!r}; seen {self.seen}")
            self.seen[stream].append(line)
            match = regex.search(line)
            if match:
                return match

    def write(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        self.proc.stdin.close()

    def wait(self, timeout: float = 10.0) -> int:
        return self.proc.wait(timeout=timeout)

    def output(self, stream: str = "stdout", timeout: float = 10.0) -> str:
        """Everything `stream` printed (after the process ended), including lines already matched."""
        self.wait(timeout)
        for thread in self._threads:
            thread.join(timeout)
        rest = []
        while True:
            try:
                line = self.lines[stream].get_nowait()
            except queue.Empty:
                break
            if line is not None:
                rest.append(line)
        self.seen[stream].extend(rest)
        return "".join(self.seen[stream])

    def signal(self, signum: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signum)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        for thread in self._threads:
            thread.join(2)            # the pipes end with the process
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
