"""Timelines from our engine's event stream: a live transport's listener, a list of events, or the history of
an in-process pair (both sides of one connection, merged record by record)."""
from __future__ import annotations

import time as _time
from typing import Any, Callable, Hashable, Iterable

from .builder import TimelineBuilder
from .model import Timeline, TimelineRecord

SIDES = ("client", "server")


class EngineEventListener:
    """An event listener for a transport (`on_event=` / `add_listener`): every event goes to the builder,
    stamped with `clock()`. Give each side of a connection its own listener with the same conn_id."""

    def __init__(self, builder: TimelineBuilder, conn_id: Hashable, role: str,
                 clock: Callable[[], float] = _time.time) -> None:
        self.builder = builder
        self.conn_id = conn_id
        self.role = role
        self.clock = clock

    def __call__(self, event: Any) -> None:
        self.builder.add_engine_event(self.conn_id, self.role, event, self.clock())


def add_events(builder: TimelineBuilder, conn_id: Hashable, role: str, events: Iterable[Any],
               time: float | None = None) -> None:
    """Events of one side, all stamped with `time` (None: unknown)."""
    for event in events:
        builder.add_engine_event(conn_id, role, event, time)


def timeline_from_events(events: Iterable[Any], role: str, *, conn_id: Hashable = 0) -> Timeline:
    builder = TimelineBuilder()
    add_events(builder, conn_id, role, events)
    return builder.timeline


class PairFollower:
    """Keeps a timeline up to date with a workbench.transport InProcessPair: `update()` feeds the history
    entries (actions and record steps) added since the last call, so a step-by-step view appends as it goes.

    sides: whose events to use ("client", "server" or both: one connection seen from both ends).
    keep_raw: keep the bytes of each record the pair moved (for a field tree / hex view)."""

    def __init__(self, pair: Any, builder: TimelineBuilder | None = None, *, conn_id: Hashable = 0,
                 sides: Iterable[str] = SIDES, keep_raw: bool = False) -> None:
        self.pair = pair
        self.builder = builder if builder is not None else TimelineBuilder(keep_raw=keep_raw)
        self.conn_id = conn_id
        self.sides = tuple(sides)
        for side in self.sides:
            if side not in SIDES:
                raise ValueError(f"sides must name 'client' and/or 'server', not {side!r}")
        self.keep_raw = keep_raw
        self._fed = 0

    @property
    def timeline(self) -> Timeline:
        return self.builder.timeline

    def update(self) -> int:
        """Feed what happened since the last update; returns the number of history entries fed."""
        history = self.pair.history
        new = history[self._fed:]
        for entry in new:
            self._feed(entry)
        self._fed = len(history)
        return len(new)

    def _feed(self, entry: Any) -> None:
        builder = self.builder
        sender = getattr(entry, "sender", None)
        if sender is not None:                      # a RecordStep: the wire's endpoints
            client, server = (entry.src, entry.dst) if sender == "client" else (entry.dst, entry.src)
            builder.set_endpoints(self.conn_id, client, server)
        for side in self.sides:
            before = builder.last_received(self.conn_id, side)
            for event in entry.events_of(side):
                builder.add_engine_event(self.conn_id, side, event, entry.timestamp)
            if self.keep_raw and sender is not None and side == entry.receiver:
                record = builder.last_received(self.conn_id, side)
                if record is not None and record is not before:
                    _attach_raw(record, entry.record)


def _attach_raw(record: TimelineRecord, raw: bytes) -> None:
    if record.raw is None and len(raw) == 5 + record.length:
        record.raw = raw


def timeline_from_pair(pair: Any, *, conn_id: Hashable = 0, sides: Iterable[str] = SIDES,
                       keep_raw: bool = False) -> Timeline:
    """The timeline of everything an InProcessPair did so far."""
    follower = PairFollower(pair, conn_id=conn_id, sides=sides, keep_raw=keep_raw)
    follower.update()
    return follower.timeline
