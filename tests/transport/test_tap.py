import threading

from workbench.transport.tap import RecordingTap, TrafficTap, fan_out, format_endpoint


def test_recording_tap_keeps_chunks_in_order_and_joins_a_direction():
    tap = RecordingTap()
    tap(1.0, "127.0.0.1:1000", "127.0.0.1:443", b"\x16\x03\x01")
    tap(2.0, "127.0.0.1:443", "127.0.0.1:1000", b"reply")
    tap(3.0, "127.0.0.1:1000", "127.0.0.1:443", bytearray(b"more"))
    assert [c.timestamp for c in tap.chunks] == [1.0, 2.0, 3.0]
    assert tap.stream("127.0.0.1:1000", "127.0.0.1:443") == b"\x16\x03\x01more"
    assert tap.stream("127.0.0.1:443", "127.0.0.1:1000") == b"reply"
    assert isinstance(tap.chunks[2].data, bytes)
    assert isinstance(tap, TrafficTap)


def test_recording_tap_is_safe_across_threads():
    tap = RecordingTap()

    def writer(n):
        for i in range(200):
            tap(float(i), f"a:{n}", "b:1", b"x")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tap.chunks) == 800


def test_fan_out_calls_every_tap_and_skips_none():
    first, second = RecordingTap(), RecordingTap()
    assert fan_out([None, None]) is None
    assert fan_out([first, None]) is first
    both = fan_out([first, None, second])
    both(5.0, "a:1", "b:2", b"data")
    assert first.chunks == second.chunks and len(first.chunks) == 1


def test_format_endpoint_brackets_ipv6():
    assert format_endpoint(("127.0.0.1", 443)) == "127.0.0.1:443"
    assert format_endpoint(("::1", 8443, 0, 0)) == "[::1]:8443"
