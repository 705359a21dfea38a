"""Model helpers: epoch labels, directions, observers, paged access."""
from __future__ import annotations

import pytest

from workbench.timeline.model import (CLIENT_TO_SERVER, SERVER_TO_CLIENT, SEEN_BY_SERVER, SEEN_IN_CAPTURE, Timeline,
                                      TimelineMessage, direction_from, epoch_generation, epoch_kind, observers_of,
                                      sender_of)
from workbench.tls.messages import Finished, encode_handshake


def test_epoch_labels():
    assert [epoch_kind(x) for x in ("plaintext", "early", "handshake", "application-12")] == [
        "plaintext", "early", "handshake", "application"]
    assert [epoch_generation(x) for x in ("plaintext", "application-0", "application-12")] == [0, 0, 12]


def test_directions_and_observers():
    assert direction_from("client") == CLIENT_TO_SERVER and direction_from("server") == SERVER_TO_CLIENT
    assert sender_of(SERVER_TO_CLIENT) == "server"
    assert observers_of(SEEN_BY_SERVER | SEEN_IN_CAPTURE) == ("server", "capture")


def test_message_decodes_once_and_tolerates_garbage():
    raw = encode_handshake(Finished(b"\x01" * 32))
    msg = TimelineMessage(0, 0, 0, CLIENT_TO_SERVER, 20, raw)
    parsed = msg.decode()
    assert parsed == Finished(b"\x01" * 32) and msg.decode() is parsed and msg.length == 36
    assert TimelineMessage(1, 0, 0, CLIENT_TO_SERVER, 2, b"\x02\x00\x00\x05abc").decode() is None


def test_empty_timeline_pages_and_lookups():
    timeline = Timeline()
    assert len(timeline) == 0 and timeline.records(0, 10) == [] and list(timeline) == []
    with pytest.raises(KeyError):
        timeline.ticket("T1")
    with pytest.raises(KeyError):
        timeline.connection(3)
