"""The Workbench driven from Python: every button does what it says, every view shows what the timeline holds."""
import pytest

from tests.ui.conftest import capture, require
from workbench.ui.options import RunOptions
from workbench.ui.widgets.app import VIEW_TITLES, Workbench


@pytest.fixture
def wb():
    return Workbench(RunOptions(step_mode=False))


def _details(wb):
    return [row["details"] for row in wb.packets.rows]


def test_workbench_is_importable_lazily_from_the_package():
    import workbench
    assert workbench.Workbench is Workbench


def test_before_anything_the_views_say_what_to_do():
    wb = Workbench()
    assert "Connect" in wb.status.value and wb.packets.rows == []
    assert "No records yet" in wb.sequence_view.value
    assert all(wb.controls.__dict__[name].disabled for name in ("send", "key_update", "save_session", "close"))
    assert wb.controls.send.tooltip.startswith("not now:")


def test_connect_button_runs_the_handshake_and_fills_every_view(wb, features):
    wb.controls.connect.click()
    details = _details(wb)
    assert details[:4] == ["ClientHello", "ServerHello",
                           "EncryptedExtensions, Certificate, CertificateVerify, Finished", "Finished"]
    timeline = wb.timeline
    assert wb.packets.total == len(timeline)
    assert "records 1–" in wb.page_text.value and f"of {len(timeline)}" in wb.page_text.value
    assert wb.sequence_view.value.count('class="wb-seq-record') == len(timeline)
    assert wb.key_view.value.count('class="wb-ks-secret') == len(timeline.connections[0].secrets)
    assert wb.epoch_view.value.count('class="wb-lane"') == 2
    if not features.missing("tickets"):
        assert wb.wallet_view.value.count('class="wb-ticket ') == len(timeline.tickets) == 2
    assert "ClientHello" in wb.text_view.value
    assert "1 connection(s)" in wb.status.value
    assert not wb.controls.send.disabled


def test_send_button_sends_the_text(wb):
    wb.controls.connect.click()
    wb.controls.data.value = "hello there"
    wb.controls.send.click()
    assert wb.timeline.record(len(wb.timeline) - 1).inner_type == 23
    assert _details(wb)[-1] == "" and wb.packets.rows[-1]["content"] == "ApplicationData"
    wb.controls.side.value = "server"
    wb.controls.send.click()
    assert wb.packets.rows[-1]["dir"] == "C ← S"


def test_key_update_button_with_and_without_request(wb, features):
    require(features, "key_update")
    wb.controls.connect.click()
    wb.controls.key_update_kind.value = False
    wb.controls.key_update.click()
    conn = wb.timeline.connections[0]
    assert [(m.direction, m.request_update) for m in conn.key_updates] == [("client->server", False)]
    wb.controls.key_update_kind.value = True
    wb.controls.key_update.click()
    assert [(m.direction, m.generation) for m in conn.key_updates][1:] == [("client->server", 2),
                                                                           ("server->client", 1)]
    assert "KeyUpdate ⟳ requested" in wb.epoch_view.value
    assert "application-2" in wb.key_view.value


def test_renegotiate_button(features):
    require(features, "tls12", "renegotiate")
    wb = Workbench(RunOptions(step_mode=False, version="1.2"))
    wb.controls.connect.click()
    assert wb.controls.key_update.disabled and "TLS 1.3 only" in wb.controls.key_update.tooltip
    wb.controls.renegotiate_kind.value = False
    wb.controls.renegotiate.click()
    wb.controls.renegotiate_kind.value = True
    wb.controls.renegotiate.click()
    conn = wb.timeline.connections[0]
    assert len(conn.renegotiations) == 2
    assert wb.epoch_view.value.count('class="wb-lane-renegotiation"') == 2


def test_save_session_then_resume_buttons(wb, features):
    require(features, "session_data", "resume", "tickets")
    wb.controls.connect.click()
    assert wb.controls.resume.disabled
    wb.controls.save_session.click()
    assert wb.saved is not None and "Saved session data" in wb.status.value
    assert not wb.controls.resume.disabled
    wb.controls.resume.click()
    assert len(wb.timeline.connections) == 2 and wb.timeline.connections[1].resumed
    assert "resumed connection 1" in wb.wallet_view.value


def test_close_button(wb):
    wb.controls.connect.click()
    wb.controls.close.click()
    assert "close_notify" in " ".join(_details(wb))
    assert wb.controls.send.disabled and "closed" in wb.controls.send.tooltip


def test_step_buttons(features):
    wb = Workbench(RunOptions(step_mode=True))
    wb.controls.connect.click()
    assert wb.views.selected_index == VIEW_TITLES.index("Step")
    assert len(wb.timeline) == 1 and "wb-in-flight" in wb.packets.rows[0]["classes"]
    wb.controls.step_record.click()
    assert "Step 1: client → server: ClientHello" in wb.step_view.value
    assert "Keys each side holds now" in wb.step_view.value
    wb.controls.step_flight.click()
    assert wb.run.current.pair.client.handshake_complete
    wb.controls.run_to_end.click()
    assert wb.controls.step_record.disabled                 # nothing left on the wire
    before = [r.raw for r in wb.timeline]
    wb.controls.restart.click()
    assert len(wb.timeline) == 1
    wb.controls.run_to_end.click()
    assert [r.raw for r in wb.timeline] == before
    wb.controls.replay.click()
    assert [r.raw for r in wb.timeline] == before


def test_selecting_a_record_fills_the_inspector_and_a_field_lights_its_bytes(wb):
    wb.controls.connect.click()
    wb.packets.click(1)
    assert 'data-index="1"' in wb.inspector.summary.value
    labels = [label for label, _ in wb.inspector.tree.options]
    assert any("cipher = TLS_AES_128_GCM_SHA256" in label for label in labels)
    assert "wb-hex-hl" not in wb.inspector.hex.value
    assert wb.inspector.select_field("cipher")
    assert wb.inspector.hex.value.count('class="wb-hex-hl"') == 4        # 2 bytes, hex and text columns
    assert 'class="wb-seq-record wb-selected" data-index="1"' in wb.sequence_view.value


def test_decrypted_and_wire_bytes(wb):
    wb.controls.connect.click()
    wb.packets.click(2)                      # EncryptedExtensions ... under the handshake keys
    assert "decrypted content" in wb.inspector.hex.value
    wb.inspector.select_field("msgtype")
    assert "wb-hex-hl" in wb.inspector.hex.value
    wb.inspector.mode.value = "on the wire"
    assert "(encrypted)" in wb.inspector.hex.value and "wb-hex-hl" not in wb.inspector.hex.value


def test_an_impossible_action_is_a_problem_in_plain_words():
    wb = Workbench(RunOptions(step_mode=True))
    wb.controls.connect.click()
    wb._safely(lambda: wb.send("too early"))
    assert "not possible now" in wb.problem_box.value and "handshake is not finished" in wb.problem_box.value
    assert "Traceback" not in wb.problem_box.value


def test_open_capture_from_the_capture_tab_with_paging():
    pcap = capture("scapy/tls_new-session-ticket.pcap")
    wb = Workbench(page_size=10)
    wb.controls.capture_path.value = str(pcap)
    wb.controls.open_capture.click()
    assert wb.wait(30)
    total = len(wb.timeline)
    assert total > 10 and wb.packets.total == total
    assert len(wb.packets.rows) <= 10
    wb.first_page.click()
    assert [r["index"] for r in wb.packets.rows] == list(range(10))
    wb.next_page.click()
    assert wb.packets.rows[0]["index"] == 10
    wb.select(total - 1)
    assert wb.packets.rows[-1]["index"] == total - 1 and wb.page_start == (total - 1) // 10 * 10
    assert "12 connection(s)" in wb.status.value


def test_open_capture_with_a_key_log_shows_tickets_and_the_resumption():
    pcap = capture("wireshark/tls13-rfc8446.pcap")
    wb = Workbench(capture=pcap, keylog=pcap.with_suffix(".keys"))
    assert wb.wait(30)
    assert "resumed connection 1" in wb.wallet_view.value
    assert "early" in " ".join(r["epoch"] for r in wb.packets.rows)
    wb.select(3)
    assert "decrypted" in wb.inspector.summary.value


def test_a_missing_capture_is_a_problem():
    wb = Workbench()
    wb.open_capture("/nonexistent/capture.pcap")
    assert wb.wait(5)
    assert "file not found" in wb.problem_box.value


def test_save_capture_writes_a_pcapng_with_its_keys(wb, tmp_path):
    from workbench.capture import read_secrets
    wb.controls.connect.click()
    path = wb.save_capture(tmp_path / "run.pcapng")
    assert read_secrets(path) and "saved" in wb.problem_box.value


def test_background_work_refreshes_the_views_through_the_event_loop():
    """A capture loading in a thread never touches the widgets itself: it asks the kernel's loop."""
    import asyncio
    import threading
    pcap = capture("wireshark/tls13-rfc8446.pcap")

    async def main():
        wb = Workbench()
        callers = []
        render = wb._render_run

        def spy(run):
            callers.append(threading.current_thread())
            render(run)
        wb._render_run = spy
        wb.open_capture(pcap, pcap.with_suffix(".keys"))
        while wb.run.busy:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)                 # the last refresh the loader asked for
        return wb, callers

    wb, callers = asyncio.run(main())
    assert len(callers) >= 2 and all(thread is threading.main_thread() for thread in callers)
    assert "2 connection(s)" in wb.status.value and wb.packets.total == len(wb.timeline)


def test_uploading_a_capture_and_its_key_log_opens_it():
    pcap = capture("wireshark/tls13-rfc8446.pcap")
    wb = Workbench()
    wb.receive_upload([{"name": "keys.txt", "content": memoryview(pcap.with_suffix(".keys").read_bytes())},
                       {"name": "trace.pcap", "content": memoryview(pcap.read_bytes())}])
    assert wb.wait(30)
    assert wb.controls.capture_path.value.endswith("trace.pcap")
    assert wb.controls.keylog_path.value.endswith("keys.txt")
    assert "resumed connection 1" in wb.wallet_view.value
