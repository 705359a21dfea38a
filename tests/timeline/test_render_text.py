"""The terminal rendering: arrows, epochs, contents, marks, the wallet, pages, clipping."""
from __future__ import annotations

from workbench.timeline import TimelineBuilder, iter_key_schedule, iter_lines, render_text, timeline_from_capture
from workbench.timeline.render_text import describe_record, render_record
from workbench.tls import events as ev

from .conftest import capture_path, requires_captures


def _rfc8446():
    return timeline_from_capture(capture_path("wireshark/tls13-rfc8446.pcap"),
                                 capture_path("wireshark/tls13-rfc8446.keys"))


@requires_captures
def test_the_resumption_story_reads_in_order():
    text = render_text(_rfc8446(), width=None)
    lines = text.splitlines()
    assert lines[0].startswith("== connection 0: client 10.9.0.1:38288 -> server 10.9.0.2:443 | TLS 1.3 "
                               "TLS_AES_128_GCM_SHA256")
    hello = lines[1].split()
    assert hello[:5] == ["+0.000000", "0", "f1", "C", "------->"] and "Handshake: ClientHello" in lines[1]
    assert "C <------- S + handshake" in lines[4] and lines[4].endswith(
        "Handshake: EncryptedExtensions, Certificate, CertificateVerify, Finished")
    assert any("* ticket T1 issued (b0e083e79617): lifetime 172800 s, age_add 2873805630, nonce 00, "
               "max_early_data 14336; offered by connection 1 (resumed)" in line for line in lines)
    offer = lines.index(next(line for line in lines if "offers ticket T1" in line))
    assert "Handshake: ClientHello" in lines[offer - 1] and lines[offer - 1].split()[1] == "9"
    assert lines[offer].strip() == "* offers ticket T1 (issued by connection 0): accepted"
    assert any("resumed with T1 | early data accepted" in line for line in lines)
    assert any(line.split()[6:9] == ["+", "early", "1"] and line.endswith("Handshake: EndOfEarlyData")
               for line in lines)
    wallet = lines[lines.index("== tickets") + 1:]
    assert [w.split()[0] for w in wallet] == ["T1", "T2", "T3", "T4"]
    assert wallet[0].endswith("connection 1 (resumed)") and wallet[1].endswith("not used")


@requires_captures
def test_pages_and_width():
    timeline = _rfc8446()
    page = list(iter_lines(timeline, connection=1, start=2, count=2, width=60))
    assert page[0].startswith("== connection 1") and len(page[0]) == 60 and page[0].endswith("...")
    assert [line.split()[1] for line in page[1:] if not line.startswith("    -")] == ["11", "12"]
    assert page[-1].startswith("    - PSK resumption accepted")
    assert all(len(line) <= 60 for line in page)
    assert render_text(timeline, start=0, count=0) == ""


@requires_captures
def test_key_schedule_lines_say_what_protects_what():
    conn = _rfc8446().connection(1)
    lines = list(iter_key_schedule(conn))
    assert lines[0] == "== key schedule of connection 1"
    assert "   c e traffic [CLIENT_EARLY_TRAFFIC_SECRET] (from key log)  protects client->server early" in lines


def test_records_nobody_could_read_and_alerts():
    builder = TimelineBuilder()
    builder.add_engine_event(0, "client", ev.RecordSent(21, None, 2, "plaintext", 0), 10.0)
    builder.add_engine_event(0, "client", ev.AlertSent(2, 40, "no shared cipher"), 10.0)
    rec = builder.timeline.record(0)
    assert describe_record(rec) == "Alert: handshake_failure (fatal)"
    assert render_record(rec, origin=9.5).split()[:3] == ["+0.500000", "0", "C"]
    text = render_text(builder.timeline)
    assert "! alert fatal handshake_failure: no shared cipher" in text and "== tickets" not in text
    rec.inner_type = None
    rec.note = "missing CLIENT_RANDOM"
    assert describe_record(rec) == "encrypted record [missing CLIENT_RANDOM]"
