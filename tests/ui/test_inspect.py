from workbench.ui.inspect import inspect


def test_the_inspection_of_a_decrypted_record(tls13_story):
    timeline = tls13_story.timeline
    rec = timeline.record(2)
    inspection = inspect(timeline, rec, tls13_story.records.decoded(rec))
    assert f'data-index="{rec.index}"' in inspection.summary_html
    assert "decrypted with s hs traffic" in inspection.summary_html
    assert "server → client" in inspection.summary_html and "seen by:</span> client + server" in inspection.summary_html
    assert inspection.fields is not None and inspection.fields.decrypted_view


def test_without_bytes_the_inspector_says_why(tls13_story):
    from workbench.timeline.model import TimelineRecord
    rec = TimelineRecord(0, 0, "client->server", None, 22, 22, 10, "plaintext", 0, False, False)
    inspection = inspect(tls13_story.timeline, rec, None)
    assert inspection.fields is None and "not available" in inspection.reason
