import pytest

from workbench.tls.errors import UsageError
from workbench.ui.options import (PAIRS, EngineFeatures, RunOptions, SteppingClock, client_config, pair_availability,
                                  seeded_rng, server_config, suites_for)


def test_the_same_seed_gives_the_same_bytes():
    assert seeded_rng(1, "client-0")(32) == seeded_rng(1, "client-0")(32)
    assert seeded_rng(1, "client-0")(32) != seeded_rng(2, "client-0")(32)
    assert seeded_rng(1, "client-0")(32) != seeded_rng(1, "server")(32)


def test_the_stepping_clock():
    clock = SteppingClock(100.0, 0.5)
    assert [clock(), clock(), clock()] == [100.0, 100.5, 101.0] and clock.last == 101.0


def test_every_pair_has_an_availability():
    availability = pair_availability()
    assert set(availability) == {key for key, _ in PAIRS}
    assert availability["inprocess"] is None and availability["remote"] is None


def test_configs_follow_the_options(credentials, features):
    options = RunOptions(suite=0x1302, group=0x0017, tickets=3)
    client = client_config(options, features, trust_anchors=(credentials.ca.certificate,))
    assert client.cipher_suites == (0x1302,) and client.supported_groups == (0x0017,)
    server = server_config(options, features, credentials.identity("ed25519"))
    if features.tickets:
        assert server.ticket_count == 3


def test_suites_per_version(features):
    assert all(name.startswith("TLS_AES") or name.startswith("TLS_CHACHA20") for name, _ in suites_for("1.3"))
    if features.tls12:
        assert any("ECDHE" in name for name, _ in suites_for("1.2"))


def test_what_the_engine_lacks_is_said_in_words():
    partial = EngineFeatures(tls12=False, key_update=False, renegotiate=False, renegotiate_abbreviated=False,
                             session_data=False, resume=False, tickets=False, early_data=False)
    assert partial.missing("key_update") == "this engine has no KeyUpdate yet"
    with pytest.raises(UsageError):
        client_config(RunOptions(), partial, session_data=b"x", verify=False)
