"""Engine events written as JSON lines: one object per event, flushed as it happens.

Each line is the event's `to_dict()` (its `kind`, its class name as `event`, its fields with
bytes as hex and code points by name) preceded by `time` (seconds since the epoch, when the
transport saw it) and `connection` (1, 2, ... for a server that serves several in turn).
"""
from __future__ import annotations

import json
import time
from typing import Callable, TextIO


class JsonLinesEventLog:
    """An event listener writing each event as one JSON line to a text file."""

    def __init__(self, file: TextIO, *, clock: Callable[[], float] = time.time) -> None:
        self._file = file
        self._clock = clock
        self.connection = 1

    def __call__(self, event) -> None:
        record = {"time": round(self._clock(), 6), "connection": self.connection}
        record.update(event.to_dict())
        self._file.write(json.dumps(record, default=repr) + "\n")
        self._file.flush()
