from workbench.timeline.model import KeyUpdateMark, Ticket
from workbench.ui.render.packet_rows import COLUMNS, mark_badge, page_rows, record_badges, record_row


def test_rows_describe_each_record_of_the_handshake(tls13_story):
    rows = page_rows(tls13_story.timeline, 0, 5)
    assert [r["index"] for r in rows] == [0, 1, 2, 3, 4]
    assert rows[0]["details"] == "ClientHello" and rows[0]["dir"] == "C → S" and rows[0]["epoch"] == "plaintext"
    assert rows[1]["details"] == "ServerHello" and rows[1]["dir"] == "C ← S"
    assert rows[2]["details"].startswith("EncryptedExtensions, Certificate, CertificateVerify, Finished")
    assert rows[2]["epoch"] == "handshake" and "wb-epoch-handshake" in rows[2]["classes"]
    assert rows[3]["details"] == "Finished" and rows[3]["content"] == "Handshake"
    assert rows[0]["time"] == "0.000000"
    for row in rows:
        assert row["length"] == tls13_story.timeline.record(row["index"]).length


def test_tickets_and_key_updates_get_badges(tls13_story):
    timeline = tls13_story.timeline
    ticket_rows = [r for r in page_rows(timeline, 0, len(timeline)) if any(b.startswith("ticket T") for b in r["badges"])]
    assert ticket_rows and ticket_rows[0]["details"].startswith("NewSessionTicket")
    key_update = [r for r in page_rows(timeline, 0, len(timeline)) if "KeyUpdate" in r["details"]]
    assert key_update[0]["badges"][0] == "→ application-1, update requested"
    assert "wb-key-update-row" in key_update[0]["classes"]
    after = [r for r in page_rows(timeline, 0, len(timeline)) if r["epoch"] == "application-1"]
    assert after and "wb-epoch-application-1" in after[0]["classes"]


def test_a_page_is_only_the_rows_asked_for(tls13_story):
    timeline = tls13_story.timeline
    rows = page_rows(timeline, 3, 4)
    assert [r["index"] for r in rows] == [3, 4, 5, 6]
    assert page_rows(timeline, len(timeline), 10) == []


def test_in_flight_rows_are_marked(make_run):
    run = make_run()
    run.connect()
    run.step()                    # the ClientHello crossed; the server's flight is on the wire
    flying = run.in_flight()
    assert flying
    rows = page_rows(run.timeline, 0, 10, in_flight=flying)
    marked = [r["index"] for r in rows if "wb-in-flight" in r["classes"]]
    assert set(marked) == set(flying) and 0 not in marked
    assert rows[marked[0]]["badges"][0] == "in flight"


def test_badges_are_listed_once():
    class Rec:
        marks = (KeyUpdateMark(0, 5, "client->server", True, 1), KeyUpdateMark(0, 5, "client->server", True, 1))
    assert record_badges(Rec()) == ["→ application-1, update requested"]
    ticket = Ticket("T1", "ab", b"t", 0x0304, 0, 4, None, None, 7200)
    assert mark_badge(ticket) == "ticket T1"
    assert len(COLUMNS) == 8


def test_a_record_that_stayed_encrypted_says_why():
    from workbench.timeline.model import TimelineRecord
    rec = TimelineRecord(0, 0, "client->server", 1.0, 23, None, 40, "application-0", 0, True, False,
                         note="missing CLIENT_TRAFFIC_SECRET_0")
    row = record_row(rec, 1.0)
    assert row["content"] == "encrypted" and row["details"] == "missing CLIENT_TRAFFIC_SECRET_0"
    assert "wb-encrypted" in row["classes"]
