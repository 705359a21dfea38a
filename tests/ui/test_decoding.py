from workbench.ui.decoding import ConnectionDecoder, RecordSplitter


def test_the_splitter_finds_records_across_any_cut():
    records = [b"\x16\x03\x03\x00\x03abc", b"\x17\x03\x03\x00\x01z", b"\x15\x03\x03\x00\x02!!"]
    stream = b"".join(records)
    for cut in range(len(stream) + 1):
        splitter = RecordSplitter()
        assert splitter.feed(stream[:cut]) + splitter.feed(stream[cut:]) == records


def test_wire_records_decode_lazily_with_the_engines_key_log(tls13_story):
    decoder = tls13_story.connections[0].decoder
    assert len(decoder) == len(tls13_story.timeline.connections[0])
    first = decoder.decoded(True, 0)
    assert first.epoch == "plaintext" and first.inner_type == 22
    finished = decoder.decoded(True, 1)                       # the client's Finished
    assert finished.decrypted and finished.epoch == "handshake"
    last_client = decoder.decoded(True, len([r for r in tls13_story.timeline.connections[0].records()
                                             if r.direction == "client->server"]) - 1)
    assert last_client.decrypted and last_client.epoch == "application-1"
    assert decoder.decoded(True, 10_000) is None


def test_record_source_maps_timeline_records_to_wire_records(tls13_story):
    timeline = tls13_story.timeline
    for rec in timeline:
        decoded = tls13_story.records.decoded(rec)
        assert decoded.raw[0] == rec.outer_type and len(decoded.raw) == 5 + rec.length
        assert decoded.epoch == rec.epoch
        assert decoded.decrypted == rec.decrypted


def test_chunks_that_cut_records_are_framed(tls13_story):
    source = tls13_story.connections[0].decoder
    copy = ConnectionDecoder(7, "c", "s", source.keylog_lines)
    for from_client, data, time in source.wire_records():
        for offset in range(0, len(data), 7):
            copy.add_chunk(from_client, data[offset:offset + 7], time)
    assert [r[1] for r in copy.wire_records()] == [r[1] for r in source.wire_records()]
    assert copy.decoded(False, 1).decrypted


def test_a_replay_keeps_application_data_content_within_a_budget():
    from workbench.capture.model import DecodedRecord
    from workbench.ui.decoding import ReplayRecordSource

    def record(inner, size):
        return DecodedRecord(0, "c", "s", "client", 1, 0.0, 23, 0x0303, size, 0, epoch="application-0",
                             protected=True, tls13=True, decrypted=True, inner_type=inner, plaintext=b"x" * size)
    source = ReplayRecordSource(plaintext_budget=100)
    source.add(0, record(23, 60))
    source.add(1, record(23, 60))
    source.add(2, record(22, 500))                       # handshake content is always kept
    assert source.by_index[0].plaintext and source.by_index[1].plaintext is None and source.dropped == {1}
    assert source.by_index[2].plaintext
