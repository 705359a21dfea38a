import os

import pytest

from workbench.capture.keylog import KeyLog, load_keylog

CR1 = bytes(range(32))
CR2 = bytes(range(32, 64))
S32 = bytes([7]) * 32
S48 = bytes([9]) * 48


def line(label, cr, secret, sep=" "):
    return f"{label}{sep}{cr.hex()}{sep}{secret.hex()}"


def test_blank_lines_comments_tabs_crlf_cr_and_case():
    text = "\r\n".join([
        "# written by a test",
        "",
        line("CLIENT_HANDSHAKE_TRAFFIC_SECRET", CR1, S32, "\t"),
        "   ",
        line("SERVER_HANDSHAKE_TRAFFIC_SECRET", CR1, S32).upper(),
    ]) + "\r" + line("CLIENT_RANDOM", CR2, S48, "  ") + "\n"
    log = KeyLog.from_text(text)
    assert log.get("CLIENT_HANDSHAKE_TRAFFIC_SECRET", CR1) == S32
    assert log.get("SERVER_HANDSHAKE_TRAFFIC_SECRET", CR1) == S32
    assert log.get("CLIENT_RANDOM", CR2) == S48
    assert len(log) == 3 and log.rejected == []


def test_bad_lines_are_skipped_and_remembered_not_fatal():
    text = "\n".join([
        "garbage",
        line("CLIENT_RANDOM", CR1, S32),                        # 32-byte master secret: wrong size
        "CLIENT_RANDOM zz " + S48.hex(),
        line("CLIENT_TRAFFIC_SECRET_0", CR1, S32),
        "\ufeffnot a label!! a b",
    ])
    log = KeyLog.from_text(text.encode())
    assert log.get("CLIENT_TRAFFIC_SECRET_0", CR1) == S32
    assert len(log) == 1
    assert [r.line_number for r in log.rejected] == [1, 2, 3, 5]
    assert "48" in log.rejected[1].reason


def test_byte_order_mark_and_unknown_labels_are_kept():
    log = KeyLog.from_text("\ufeff" + line("ECH_SECRET", CR1, S32) + "\n" + line("EXPORTER_SECRET", CR1, S48))
    assert log.get("ECH_SECRET", CR1) == S32 and log.get("EXPORTER_SECRET", CR1) == S48


def test_refresh_reads_only_what_was_appended_and_holds_a_partial_line(tmp_path):
    path = tmp_path / "keys.log"
    first = line("CLIENT_RANDOM", CR1, S48) + "\n"
    second = line("CLIENT_RANDOM", CR2, S48)
    path.write_text(first + second[:40])                # the writer is in the middle of line 2
    log = KeyLog(path=str(path))
    assert log.refresh() == 1
    assert log.get("CLIENT_RANDOM", CR2) is None and log.rejected == []
    with open(path, "a") as f:
        f.write(second[40:] + "\n")
    assert log.refresh() == 1
    assert log.get("CLIENT_RANDOM", CR2) == S48
    assert log.refresh() == 0


def test_final_refresh_takes_an_unterminated_last_line(tmp_path):
    path = tmp_path / "keys.log"
    path.write_text(line("CLIENT_RANDOM", CR1, S48))
    assert KeyLog.from_file(path).get("CLIENT_RANDOM", CR1) == S48


def test_replaced_file_is_read_from_the_start(tmp_path):
    path = tmp_path / "keys.log"
    path.write_text(line("CLIENT_RANDOM", CR1, S48) + "\n" + "# padding padding padding\n")
    log = KeyLog.from_file(path)
    os.remove(path)
    path.write_text(line("CLIENT_RANDOM", CR2, S48) + "\n")
    log.refresh()
    assert log.get("CLIENT_RANDOM", CR1) == S48 and log.get("CLIENT_RANDOM", CR2) == S48


def test_lookup_rereads_a_growing_file(tmp_path):
    path = tmp_path / "keys.log"
    path.write_text("")
    log = KeyLog.from_file(path)
    log.recheck_interval = 0
    assert log.lookup("CLIENT_RANDOM", CR1) is None
    path.write_text(line("CLIENT_RANDOM", CR1, S48) + "\n")
    assert log.lookup("CLIENT_RANDOM", CR1) == S48


def test_load_keylog_accepts_path_text_bytes_and_keylog(tmp_path):
    path = tmp_path / "k"
    path.write_text(line("CLIENT_RANDOM", CR1, S48) + "\n")
    for source in (str(path), path, path.read_text(), path.read_bytes()):
        assert load_keylog(source).get("CLIENT_RANDOM", CR1) == S48
    log = KeyLog()
    assert load_keylog(log) is log and len(load_keylog(None)) == 0
    assert load_keylog(line("CLIENT_RANDOM", CR1, S48)).get("CLIENT_RANDOM", CR1) == S48
    with pytest.raises(FileNotFoundError):
        load_keylog(str(tmp_path / "absent.keys"))


def test_to_text_round_trips():
    log = KeyLog.from_text(line("CLIENT_RANDOM", CR1, S48) + "\n" + line("CLIENT_TRAFFIC_SECRET_0", CR2, S32))
    assert KeyLog.from_text(log.to_text()).secrets == log.secrets


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_each_line_ending_alone(ending):
    text = ending.join(line("CLIENT_RANDOM", cr, S48) for cr in (CR1, CR2)) + ending
    assert len(KeyLog.from_text(text)) == 2
