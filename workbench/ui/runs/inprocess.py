"""Our client and our server in one process, moved one record (or one flight) at a time.

Every connection of the run is a workbench.transport InProcessPair followed into the run's timeline
(both ends report, so each record is seen sent and received). Randomness and time come from the seed:
`restart()` builds the same first connection again, and `replay()` repeats everything done so far
(steps, data, key updates, resumptions), giving the same bytes.
"""
from __future__ import annotations

import dataclasses

from workbench.timeline import PairFollower
from workbench.tls.errors import TLSError, UsageError
from workbench.transport.inprocess import InProcessPair

from ..decoding import ConnectionDecoder, RecordSource
from ..narrate import StepStory, story_of
from ..options import (Credentials, EngineFeatures, RunOptions, SteppingClock, client_config, seeded_rng,
                       server_config, workbench_epoch)
from .base import Run, SavedSession

CLIENT_ADDRESS = "127.0.0.1:{port}"
SERVER_ADDRESS = "127.0.0.1:443"


@dataclasses.dataclass
class PairConnection:
    conn_id: int
    pair: InProcessPair
    follower: PairFollower
    decoder: ConnectionDecoder
    fed: int = 0                   # wire records handed to the decoder


class InProcessRun(Run):
    kind = "inprocess"
    title = "our client ↔ our server (in-process)"
    steppable = True

    def __init__(self, options: RunOptions, features: EngineFeatures, credentials: Credentials, *,
                 epoch: float | None = None) -> None:
        super().__init__()
        self.options = dataclasses.replace(options)
        self.features = features
        self.credentials = credentials
        self.epoch = workbench_epoch() if epoch is None else epoch
        self.connections: list[PairConnection] = []
        self.script: list[tuple[str, dict]] = []        # everything done, to replay it
        self.saved: SavedSession | None = None
        self.last_entry = None
        self._reset()

    # -- building --------------------------------------------------------------------------------------------
    def _reset(self) -> None:
        from workbench.timeline import TimelineBuilder
        self.builder = TimelineBuilder(keep_raw=True)
        self.records = RecordSource(self.builder.timeline)
        self.connections = []
        self.last_entry = None
        self.problems = []
        self.clock = SteppingClock(self.epoch)
        identity = self.credentials.identity(self.options.certificate)
        self.server_config = server_config(self.options, self.features, identity,
                                           rng=seeded_rng(self.options.seed, "server"), clock=self.clock)

    def _new_connection(self, session_data: bytes | None = None) -> PairConnection:
        conn_id = len(self.connections)
        client = client_config(self.options, self.features, trust_anchors=(self.credentials.ca.certificate,),
                               rng=seeded_rng(self.options.seed, f"client-{conn_id}"), clock=self.clock,
                               session_data=session_data)
        client_address = CLIENT_ADDRESS.format(port=49152 + conn_id)
        pair = InProcessPair(client, self.server_config, clock=self.clock, client_address=client_address,
                             server_address=SERVER_ADDRESS)
        follower = PairFollower(pair, self.builder, conn_id=conn_id, keep_raw=True)
        keylog = lambda pair=pair: pair.client.key_log_lines() + pair.server.key_log_lines()  # noqa: E731
        decoder = ConnectionDecoder(conn_id, client_address, SERVER_ADDRESS, keylog)
        self.records.add_connection(decoder)
        entry = PairConnection(conn_id, pair, follower, decoder)
        self.connections.append(entry)
        return entry

    @property
    def current(self) -> PairConnection | None:
        return self.connections[-1] if self.connections else None

    def _sync(self) -> None:
        """Bring the timeline and the wire decoder up to date with the pairs."""
        for entry in self.connections:
            entry.follower.update()
            # wire order: what was delivered, then what is still on the wire (a FIFO: it only grows at the end)
            wire = [(s.sender, s.record, s.timestamp) for s in entry.pair.steps]
            last = wire[-1][2] if wire else self.clock.last
            wire += [(p.sender, p.record, last) for p in entry.pair.pending]
            for sender, record, time in wire[entry.fed:]:
                entry.decoder.add_record(sender == "client", record, time)
            entry.fed = len(wire)
        current = self.current
        if current is not None and current.pair.history:
            self.last_entry = current.pair.history[-1]
        self.changed()

    def _record(self, name: str, **kwargs) -> None:
        self.script.append((name, kwargs))

    # -- the run's life --------------------------------------------------------------------------------------
    def connect(self) -> None:
        """A new connection: its ClientHello is queued (step mode) or the handshake runs to the end."""
        with self.lock:
            entry = self._new_connection()
            self._record("connect")
            self._guard(entry.pair.start_handshake)
            self._settle()

    def _settle(self) -> None:
        if not self.options.step_mode:
            steps = self._guard(self.current.pair.run_until_quiet) or []
            self._report(steps)
        self._sync()

    def _report(self, steps) -> None:
        """A record the receiver refused is a problem to show (the alert it sent is in the timeline)."""
        for step in steps:
            if step is not None and step.error is not None:
                self.problem(step.error, f"the {step.receiver} refused record {step.index}")

    def _guard(self, operation, *args, **kwargs):
        try:
            return operation(*args, **kwargs)
        except UsageError:
            raise
        except TLSError as exc:          # a refusal is part of the story: keep it and show it
            self._sync()
            self.problem(exc)
            return None

    # -- step mode ----------------------------------------------------------------------------------------
    def step(self) -> bool:
        """Move the oldest record on the wire; False when nothing was waiting."""
        with self.lock:
            entry = self._need_connection()
            self._record("step")
            step = entry.pair.step()
            self._report([step])
            self._sync()
            return step is not None

    def step_flight(self) -> int:
        """Move everything the next sender has queued; returns the number of records moved."""
        with self.lock:
            entry = self._need_connection()
            self._record("step_flight")
            steps = entry.pair.step_flight()
            self._report(steps)
            self._sync()
            return len(steps)

    def run_to_end(self) -> int:
        with self.lock:
            entry = self._need_connection()
            self._record("run_to_end")
            steps = entry.pair.run_until_quiet()
            self._report(steps)
            self._sync()
            return len(steps)

    def pending(self) -> int:
        entry = self.current
        return len(entry.pair.pending) if entry else 0

    def in_flight(self) -> frozenset[int]:
        """Timeline indices of the records sent and not yet delivered (the last ones of each direction)."""
        flying: set[int] = set()
        timeline = self.timeline
        for entry in self.connections:
            waiting = {"client->server": 0, "server->client": 0}
            for pending in entry.pair.pending:
                waiting["client->server" if pending.sender == "client" else "server->client"] += 1
            if not any(waiting.values()) or entry.conn_id not in timeline.connections:
                continue
            conn = timeline.connections[entry.conn_id]
            for index in reversed(conn.record_indices):
                rec = timeline.record(index)
                if waiting[rec.direction] > 0:
                    waiting[rec.direction] -= 1
                    flying.add(index)
                if not any(waiting.values()):
                    break
        return frozenset(flying)

    def story(self) -> StepStory | None:
        return story_of(self.last_entry) if self.last_entry is not None else None

    def position(self) -> str:
        entry = self.current
        if entry is None:
            return "not connected"
        return f"connection {entry.conn_id}, step {len(entry.pair.history)}"

    def restart(self) -> None:
        """Back to the start: the same first connection, nothing moved yet (same seed, same bytes)."""
        with self.lock:
            self.last_script = list(self.script)
            self.script = []
            self.saved = None
            self._reset()
            self.connect()

    def replay(self) -> None:
        """Start again and do everything that was done, in the same order: the same bytes come out."""
        with self.lock:
            script = list(self.script) if self.script else list(getattr(self, "last_script", []))
            self.script = []
            self.saved = None
            self._reset()
            for name, kwargs in script:
                getattr(self, name)(**kwargs)
            self._sync()

    # -- actions ----------------------------------------------------------------------------------------------
    def _need_connection(self) -> PairConnection:
        if self.current is None:
            raise UsageError("connect first")
        return self.current

    def action_state(self, name: str) -> str | None:
        entry = self.current
        if name == "connect":
            return None
        if entry is None:
            return "connect first"
        client, server = entry.pair.client, entry.pair.server
        done = client.handshake_complete and server.handshake_complete
        if name in ("send", "key_update", "renegotiate", "close", "save_session"):
            if client.closed and server.closed:
                return "the connection is closed"
        if name == "send":
            return None if done else "the handshake is not finished yet"
        if name == "key_update":
            missing = self.features.missing("key_update")
            if missing:
                return missing
            if not done:
                return "the handshake is not finished yet"
            return None if client.version == 0x0304 else "KeyUpdate is TLS 1.3 only (renegotiate in TLS 1.2)"
        if name == "renegotiate":
            missing = self.features.missing("renegotiate")
            if missing:
                return missing
            if not done:
                return "the handshake is not finished yet"
            return None if client.version == 0x0303 else "renegotiation is TLS 1.2 only (KeyUpdate in TLS 1.3)"
        if name == "save_session":
            return self.features.missing("session_data") or (None if client.handshake_complete
                                                              else "the handshake is not finished yet")
        if name == "resume":
            return self.features.missing("resume") or (None if self.saved else "save session data first")
        if name == "close":
            return None
        return "unknown action"

    def send(self, data: bytes, side: str = "client") -> None:
        with self.lock:
            self._guard(self._need_connection().pair.send, side, data)
            self._record("send", data=data, side=side)
            self._settle()

    def key_update(self, requested: bool = True, side: str = "client") -> None:
        with self.lock:
            from workbench.tls.enums import KeyUpdateType
            kind = KeyUpdateType.REQUESTED if requested else KeyUpdateType.NOT_REQUESTED
            pair = self._need_connection().pair
            # SSL_key_update then SSL_do_handshake: scheduled, then sent
            self._guard(pair.call, side, "key_update", kind)
            self._guard(pair.call, side, "do_handshake")
            self._record("key_update", requested=requested, side=side)
            self._settle()

    def renegotiate(self, abbreviated: bool = False, side: str = "client") -> None:
        with self.lock:
            method = "renegotiate_abbreviated" if abbreviated else "renegotiate"
            pair = self._need_connection().pair
            self._guard(pair.call, side, method)
            self._guard(pair.call, side, "do_handshake")
            self._record("renegotiate", abbreviated=abbreviated, side=side)
            self._settle()

    def close_connection(self, side: str = "client") -> None:
        with self.lock:
            self._guard(self._need_connection().pair.close, side)
            self._record("close_connection", side=side)
            self._settle()

    def save_session(self) -> SavedSession:
        with self.lock:
            entry = self._need_connection()
            data = entry.pair.client.session_data()
            self._record("save_session")
            tickets = len([t for t in self.timeline.tickets if t.issued_by == entry.conn_id])
            self.saved = SavedSession(data, entry.conn_id, self.clock.last, tickets)
            self.changed()
            return self.saved

    def resume(self, data: bytes | None = None) -> None:
        """A new connection offering the saved session (its ticket) to the same server."""
        with self.lock:
            session = data if data is not None else (self.saved.data if self.saved else None)
            if session is None:
                raise UsageError("no saved session data: save it first")
            entry = self._new_connection(session_data=session)
            self._record("resume", data=data)
            if self.options.early_data:
                # 0-RTT: queued before the ClientHello goes, sent right after it under the early keys
                self._guard(entry.pair.call, "client", "send_early_data", self.options.early_data_text)
            self._guard(entry.pair.start_handshake)
            self._settle()

    def now(self) -> float:
        return self.clock.last
