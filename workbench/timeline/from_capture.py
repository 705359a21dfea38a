"""Timelines from a decoded capture (workbench.capture.replay): its records as they come, then each
connection's summary, then the secrets its key log holds, under the key schedule's names, so a capture's
key-schedule view reads like a live session's."""
from __future__ import annotations

from typing import Any

from workbench.tls.cipher_suites import CIPHER_SUITES
from workbench.tls.key_schedule import next_traffic_secret

from .builder import TimelineBuilder
from .model import CLIENT_TO_SERVER, DIRECTIONS, Timeline

# NSS key log labels -> the names our key schedule gives the same secrets
KEYLOG_SECRET_NAMES = {
    "CLIENT_EARLY_TRAFFIC_SECRET": "c e traffic",
    "EARLY_EXPORTER_SECRET": "e exp master",
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET": "c hs traffic",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET": "s hs traffic",
    "CLIENT_TRAFFIC_SECRET_0": "c ap traffic",
    "SERVER_TRAFFIC_SECRET_0": "s ap traffic",
    "EXPORTER_SECRET": "exp master",
    "CLIENT_RANDOM": "master secret (1.2)",
}


def add_replay(builder: TimelineBuilder, replay: Any) -> None:
    """Every record of a workbench.capture Replay (iterated here), then finish_replay()."""
    add = builder.add_decoded_record
    for rec in replay:
        add(rec)
    finish_replay(builder, replay)


def finish_replay(builder: TimelineBuilder, replay: Any) -> None:
    """Once the records are in: connection summaries, then the key log's secrets."""
    for summary in replay.connections.values():
        builder.add_connection_summary(summary)
    keylog = getattr(replay, "keylog", None)
    if keylog is not None:
        add_keylog_secrets(builder, keylog)


def add_keylog_secrets(builder: TimelineBuilder, keylog: Any) -> None:
    """For each connection with a known client random: the key log's secrets for it, and the application
    traffic secrets its KeyUpdates ratcheted to (the key log names generation 0 only)."""
    for conn in list(builder.timeline.connections.values()):
        client_random = conn.client_random
        if client_random is None:
            continue
        for label in keylog.labels_for(client_random):
            builder.add_secret(conn.id, KEYLOG_SECRET_NAMES.get(label, label), keylog.get(label, client_random),
                               keylog_label=label, by="key log")
        _ratchet(builder, conn)
        builder.link_epoch_secrets(conn.id)


def _ratchet(builder: TimelineBuilder, conn) -> None:
    info = CIPHER_SUITES.get(conn.cipher_suite) if conn.cipher_suite is not None else None
    if info is None or not info.is_tls13:
        return
    for direction in DIRECTIONS:
        side = "c" if direction == CLIENT_TO_SERVER else "s"
        previous = conn.secret(f"{side} ap traffic")
        for mark in conn.key_updates:
            if mark.direction != direction or previous is None or previous.value is None:
                continue
            name = f"{side} ap traffic {mark.generation}"
            previous = builder.add_secret(conn.id, name, next_traffic_secret(info.hash, previous.value),
                                          derived_from=(previous.name,), by="key log", time=mark.time)


def timeline_from_capture(path, keylog=None, *, keep_raw: bool = False, builder: TimelineBuilder | None = None,
                          **replay_options) -> Timeline:
    """Decode a pcap/pcapng (with an optional key log: path, text or KeyLog) into a timeline.
    replay_options go to workbench.capture.replay (tls_ports, max_pending, progress)."""
    from workbench.capture import replay as run_replay

    builder = builder if builder is not None else TimelineBuilder(keep_raw=keep_raw)
    replay = run_replay(path, keylog, **replay_options)
    add_replay(builder, replay)
    return builder.timeline
