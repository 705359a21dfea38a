"""What every run shares: a timeline builder, a lock, the problems met, and who to tell when it changed.

A run is one thing the workbench shows: an in-process pair, a connection over a socket (with a peer
program or a remote server), or a replayed capture. Runs that work in a background thread feed the
builder under `lock`; views read the timeline under the same lock. `changed()` tells the listeners
(the workbench refreshes its views, throttled, on the kernel's event loop).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from workbench.timeline import TimelineBuilder

from ..decoding import RecordSource, ReplayRecordSource
from ..errors import Problem, describe


@dataclass(frozen=True, slots=True)
class SavedSession:
    """Session data a client of ours exported (gnutls_session_get_data2): what "resume" offers later."""
    data: bytes
    connection: object
    time: float
    tickets: int = 0

    def describe(self) -> str:
        return (f"Saved session data: {len(self.data)} bytes from connection {self.connection}"
                + (" (it holds a ticket)" if self.tickets else ""))


ACTIONS = ("send", "key_update", "renegotiate", "save_session", "resume", "close")


class Run:
    kind = "run"
    title = "run"
    steppable = False

    def __init__(self, *, keep_raw: bool = True) -> None:
        self.builder = TimelineBuilder(keep_raw=keep_raw)
        self.lock = threading.RLock()
        self.problems: list[Problem] = []
        self.listeners: list[Callable[[], None]] = []
        self.records: RecordSource | ReplayRecordSource = RecordSource(self.builder.timeline)
        self.status = ""
        self.progress: float | None = None       # 0..1 while loading, None otherwise
        self.busy = False                        # a background thread is working
        self.stopped = False

    @property
    def timeline(self):
        return self.builder.timeline

    # -- telling the views ----------------------------------------------------------------------------------
    def changed(self) -> None:
        for listener in list(self.listeners):
            listener()

    def problem(self, exc_or_problem, where: str = "") -> Problem:
        problem = exc_or_problem if isinstance(exc_or_problem, Problem) else describe(exc_or_problem, where)
        with self.lock:
            self.problems.append(problem)
        self.changed()
        return problem

    # -- what the controls may do ---------------------------------------------------------------------------
    def action_state(self, name: str) -> str | None:
        """None when the action can be done now, else why not (shown on the disabled control)."""
        return "not available for this kind of run"

    def now(self) -> float:
        """The run's clock (ticket ages are measured against it)."""
        return time.time()

    def in_flight(self) -> frozenset[int]:
        return frozenset()

    def export_pcapng(self, path) -> int:
        """Write the run's records with its key log as a pcapng (Wireshark decrypts it); the frame count."""
        from ..pcapng_export import WireRecord, write_run_pcapng
        connections, lines = [], []
        with self.lock:
            decoders = list(getattr(self.records, "decoders", {}).values())
            for decoder in decoders:
                records = [WireRecord(*item) for item in decoder.wire_records()]
                connections.append((decoder.client, decoder.server, records))
                lines.extend(decoder.keylog_lines())
        if not connections:
            raise ValueError("this run has no live records to save")
        return write_run_pcapng(path, connections, lines)

    def close(self) -> None:
        """Stop what the run started (threads, peer programs)."""
        self.stopped = True

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until background work is done (notebooks and tests); True if it finished."""
        deadline = time.monotonic() + timeout
        while self.busy and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self.busy
