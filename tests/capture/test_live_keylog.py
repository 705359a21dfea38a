"""LiveKeyLog: key log files followed while programs write them (created late, grown line by line, a line cut
in the middle), secrets from engine events, and the lines of chosen connections only."""
from __future__ import annotations

from dataclasses import dataclass

from workbench.capture.keylog import KeyLog
from workbench.capture.live_keylog import LiveKeyLog

R1, R2 = bytes(range(32)), bytes(range(1, 33))
S1, S2 = bytes([0xAA]) * 32, bytes([0xBB]) * 48


def line(label: str, random: bytes, secret: bytes) -> str:
    return f"{label} {random.hex()} {secret.hex()}\n"


def test_a_file_that_appears_and_grows_is_read_as_it_grows(tmp_path):
    path = tmp_path / "sslkeys.txt"
    log = LiveKeyLog(path)                              # not there yet: fine
    log.follow(path)                                    # twice is once
    assert log.followed == [str(path)] and len(log) == 0
    assert log.lookup("CLIENT_RANDOM", R1) is None
    text = line("CLIENT_RANDOM", R1, S2)
    path.write_text(text[:40])                          # the writer is in the middle of the line
    log.recheck_interval = 0
    assert log.lookup("CLIENT_RANDOM", R1) is None
    with open(path, "a") as f:
        f.write(text[40:])
    assert log.lookup("CLIENT_RANDOM", R1) == S2
    with open(path, "a") as f:
        f.write("\n# a comment\n" + line("SERVER_TRAFFIC_SECRET_0", R2, S1))
    assert log.refresh() == 1 and log.get("SERVER_TRAFFIC_SECRET_0", R2) == S1


def test_lookups_of_a_missing_key_do_not_read_the_file_every_time(tmp_path):
    path = tmp_path / "keys"
    path.write_text("")
    log = LiveKeyLog(path)
    log.recheck_interval = 3600
    assert log.lookup("CLIENT_RANDOM", R1) is None     # this one looks at the file
    path.write_text(line("CLIENT_RANDOM", R1, S2))
    assert log.lookup("CLIENT_RANDOM", R1) is None     # too soon to look again
    assert log.refresh() == 1 and log.lookup("CLIENT_RANDOM", R1) == S2


def test_several_files_text_and_keylogs_are_merged(tmp_path):
    first, second = tmp_path / "client.keys", tmp_path / "server.keys"
    first.write_text(line("CLIENT_HANDSHAKE_TRAFFIC_SECRET", R1, S1))
    second.write_text(line("SERVER_HANDSHAKE_TRAFFIC_SECRET", R1, S1) + "not a key log line\n")
    log = LiveKeyLog(first, str(second), line("EXPORTER_SECRET", R2, S1), KeyLog.from_text(line("RSA", R2, S2)))
    assert log.labels_for(R1) == ["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET"]
    assert log.get("EXPORTER_SECRET", R2) == S1 and log.get("RSA", R2) == S2
    assert [r.text for r in log.rejected] == ["not a key log line"]


@dataclass(frozen=True)
class FakeSecret:
    keylog_label: str | None
    client_random: bytes
    value: bytes


def test_engine_events_add_their_labelled_secrets():
    log = LiveKeyLog()
    log.on_event(FakeSecret("client_traffic_secret_0", R1, S1))
    log(FakeSecret(None, R1, S2))                       # a secret without a key log label
    log.on_event(object())                              # any other event
    assert log.secrets == {("CLIENT_TRAFFIC_SECRET_0", R1): S1}


def test_only_the_lines_of_chosen_connections_are_given_out():
    log = LiveKeyLog(line("CLIENT_RANDOM", R1, S2) + line("CLIENT_RANDOM", R2, S2) + line("EXPORTER_SECRET", R1, S1))
    assert log.text_for([R1]) == line("CLIENT_RANDOM", R1, S2) + line("EXPORTER_SECRET", R1, S1)
    assert log.text_for([]) == ""
