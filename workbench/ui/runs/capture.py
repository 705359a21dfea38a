"""A capture made by anybody, replayed into the same views: decoded in a background thread, page by page.

The capture layer decodes (TCP reassembly, record framing, decryption with the key log); each record
goes into the run's timeline under the lock, in batches, so the packet list shows the first pages and a
progress bar while the rest loads. Damage and missing keys become problems in plain words ("the capture
is damaged at frame N", "a key is missing").
"""
from __future__ import annotations

import os
import threading
import time

from workbench.timeline import finish_replay

from ..decoding import ReplayRecordSource
from ..errors import Problem, describe, describe_diagnostic, describe_missing_keys
from .base import Run

BATCH = 500                 # records added per hold of the lock
MAX_PROBLEMS = 30           # diagnostics listed one by one; the rest are counted


def count_frames(path: str) -> int:
    """Frames in a capture (a quick pass without decoding), for the progress bar; 0 if unreadable."""
    from workbench.capture import CaptureReader
    try:
        reader = CaptureReader(path)
        count = 0
        for _ in reader:
            count += 1
        return count
    except Exception:
        return 0


class CaptureRun(Run):
    kind = "capture"
    steppable = False

    def __init__(self, path, keylog=None, *, tls_ports=()) -> None:
        super().__init__(keep_raw=True)
        self.path = os.fspath(path)
        self.keylog = os.fspath(keylog) if isinstance(keylog, os.PathLike) else keylog
        self.tls_ports = tuple(tls_ports)
        self.records = ReplayRecordSource()
        self.title = f"capture {os.path.basename(self.path)}"
        self.frames_total = 0
        self.frames_done = 0
        self.loaded = 0
        self.thread: threading.Thread | None = None
        self._last_time: float | None = None

    def start(self, *, background: bool = True) -> "CaptureRun":
        if not os.path.exists(self.path):
            self.problem(Problem("capture", "file not found", self.path))
            return self
        if isinstance(self.keylog, str) and "\n" not in self.keylog and not os.path.exists(self.keylog):
            self.problem(Problem("keys", "key log not found", f"{self.keylog}: the records stay encrypted"))
            self.keylog = None
        self.busy = True
        self.progress = 0.0
        self.status = f"loading {os.path.basename(self.path)}…"
        if background:
            self.thread = threading.Thread(target=self._load, name="workbench-replay", daemon=True)
            self.thread.start()
        else:
            self._load()
        return self

    def _load(self) -> None:
        from workbench.capture import replay
        started = time.monotonic()
        try:
            self.frames_total = count_frames(self.path)
            decoded = replay(self.path, self.keylog, tls_ports=self.tls_ports)
            batch = []
            for rec in decoded:
                batch.append(rec)
                if len(batch) >= BATCH:
                    self._add(batch)
                    batch = []
                if self.stopped:
                    return
            self._add(batch)
            with self.lock:
                finish_replay(self.builder, decoded)
                self._collect_problems(decoded)
            self.status = (f"{self.loaded} records in {len(self.timeline.connections)} connection(s) from "
                           f"{os.path.basename(self.path)} ({time.monotonic() - started:.1f} s)")
        except Exception as exc:                # an unreadable file: say so, keep what was read
            self.problem(describe(exc, f"reading {os.path.basename(self.path)}"))
            self.status = f"stopped after {self.loaded} records"
        finally:
            self.progress = None
            self.busy = False
            self.changed()

    def _add(self, batch: list) -> None:
        if not batch:
            return
        with self.lock:
            add = self.builder.add_decoded_record
            keep = self.records.add
            for rec in batch:
                keep(add(rec).index, rec)
            self.loaded += len(batch)
            self.frames_done = batch[-1].frame
            self._last_time = batch[-1].time or self._last_time
            if self.frames_total:
                self.progress = min(1.0, self.frames_done / self.frames_total)
        self.changed()

    def _collect_problems(self, decoded) -> None:
        diagnostics = list(decoded.diagnostics)
        for diagnostic in diagnostics[:MAX_PROBLEMS]:
            self.problems.append(describe_diagnostic(diagnostic))
        if len(diagnostics) > MAX_PROBLEMS:
            self.problems.append(Problem("capture", f"{len(diagnostics) - MAX_PROBLEMS} more problems",
                                         "only the first ones are listed"))
        told = {d.connection for d in diagnostics if d.stage == "keys"}
        for conn in self.timeline.connections.values():
            if conn.id in told:
                continue
            for problem in describe_missing_keys(conn):
                if problem not in self.problems:
                    self.problems.append(problem)

    def now(self) -> float:
        return self._last_time if self._last_time is not None else time.time()
