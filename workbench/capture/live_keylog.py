"""The secrets of a live capture: key log files that programs are still writing, plus secrets our own engine
hands over as events, in one KeyLog the decoder can use.

Each file is followed with KeyLog's incremental reader (only appended bytes are read; a line still being written
waits for its line end). A file that does not exist yet is fine: programs create theirs when the first
handshake starts.
"""
from __future__ import annotations

import os
import threading

from .keylog import KeyLog, load_keylog


class LiveKeyLog(KeyLog):
    """A KeyLog fed from followed files (`follow(path)`), key log text (`add_text`), and engine events
    (`on_event`, a listener for our transports' `on_event=`)."""

    def __init__(self, *sources) -> None:
        super().__init__()
        self._files: list[KeyLog] = []
        self._lock = threading.Lock()
        for source in sources:
            self.add_source(source)

    def add_source(self, source) -> None:
        """A path (followed as it grows, even before it exists), a KeyLog (its file, if any, is followed), or
        key log text."""
        if source is None:
            return
        if isinstance(source, KeyLog):
            self._merge(source)
            if source.path is not None:
                self.follow(source.path)
        elif isinstance(source, os.PathLike) or (isinstance(source, str) and _is_path(source)):
            self.follow(source)
        else:
            self._merge(load_keylog(source))

    def follow(self, path) -> None:
        path = os.fspath(path)
        with self._lock:
            if any(f.path == path for f in self._files):
                return
            self._files.append(KeyLog(path=path))
        self.refresh()

    @property
    def followed(self) -> list[str]:
        return [f.path for f in self._files]

    def on_event(self, event) -> None:
        """Engine event listener: labelled secrets (SecretDerived with a key log label) are added."""
        label = getattr(event, "keylog_label", None)
        if label:
            self.secrets[(label.upper(), bytes(event.client_random))] = bytes(event.value)

    __call__ = on_event

    def refresh(self, *, final: bool = False) -> int:
        """Read what the followed files gained since the last call; returns the number of new secrets."""
        added = 0
        with self._lock:
            for log in self._files:
                if log.refresh(final=final):
                    added += self._merge(log)
        return added

    def follows_files(self) -> bool:
        return bool(self._files)          # KeyLog.lookup() re-reads them on a miss

    def _merge(self, log: KeyLog) -> int:
        added = 0
        for key, secret in log.secrets.items():
            if self.secrets.get(key) != secret:
                self.secrets[key] = secret
                added += 1
        for rejected in log.rejected:
            if rejected not in self.rejected and len(self.rejected) < 1000:
                self.rejected.append(rejected)
        return added

    def text_for(self, client_randoms) -> str:
        """Key log lines for the given client randoms only (what a capture of those connections needs)."""
        wanted = set(client_randoms)
        return "".join(f"{label} {cr.hex()} {secret.hex()}\n"
                       for (label, cr), secret in list(self.secrets.items()) if cr in wanted)


def _is_path(text: str) -> bool:
    """A string is key log text when it holds a line end or the three fields of a key log line."""
    return "\n" not in text and "\r" not in text and len(text.split()) != 3
