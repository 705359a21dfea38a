"""The in-process run: stepping, reproducible randomness, actions, resumption."""
import pytest

from tests.ui.conftest import require
from workbench.tls.errors import UsageError


def _wire(run):
    return [r.raw for r in run.timeline]


def test_connect_in_step_mode_queues_the_client_hello_only(make_run):
    run = make_run()
    run.connect()
    assert run.pending() == 1 and len(run.timeline) == 1
    assert run.in_flight() == frozenset({0})
    assert run.step() is True
    # the server answered at once: its whole flight (ServerHello, then the encrypted rest) is on the wire
    assert [p.sender for p in run.current.pair.pending] == ["server", "server"]
    assert run.in_flight() == frozenset({1, 2})
    assert run.timeline.record(0).seen_by == ("client", "server")


def test_a_flight_moves_everything_one_side_queued(make_run):
    run = make_run()
    run.connect()
    run.step()
    waiting = run.pending()
    assert run.step_flight() == waiting
    assert run.current.pair.client.handshake_complete


def test_run_to_the_end_then_nothing_waits(make_run):
    run = make_run()
    run.connect()
    assert run.run_to_end() >= 4
    assert run.pending() == 0 and run.step() is False and run.in_flight() == frozenset()


def test_start_over_gives_the_same_bytes(make_run):
    run = make_run(seed=7)
    run.connect()
    run.run_to_end()
    first = _wire(run)
    run.restart()
    assert len(run.timeline) == 1 and run.pending() == 1
    run.run_to_end()
    assert _wire(run) == first


def test_replay_repeats_everything_that_was_done(make_run, features):
    require(features, "key_update", "session_data", "resume")
    run = make_run(seed=3)
    run.connect()
    run.run_to_end()
    run.send(b"one")
    run.run_to_end()
    run.key_update(requested=False)
    run.run_to_end()
    run.save_session()
    run.resume()
    run.run_to_end()
    before = _wire(run)
    tickets = [t.fingerprint for t in run.timeline.tickets]
    run.replay()
    assert _wire(run) == before
    assert [t.fingerprint for t in run.timeline.tickets] == tickets
    assert len(run.connections) == 2


def test_another_seed_gives_other_bytes(make_run):
    runs = []
    for seed in (1, 2):
        run = make_run(seed=seed, step_mode=False)
        run.connect()
        runs.append(_wire(run))
    assert runs[0][0] != runs[1][0]


def test_actions_say_when_they_are_possible(make_run, features):
    run = make_run()
    assert run.action_state("send") == "connect first"
    run.connect()
    assert run.action_state("send") == "the handshake is not finished yet"
    run.run_to_end()
    assert run.action_state("send") is None
    if not features.missing("key_update"):
        assert run.action_state("key_update") is None
        assert run.action_state("renegotiate") in (features.missing("renegotiate"),
                                                   "renegotiation is TLS 1.2 only (KeyUpdate in TLS 1.3)")
    assert run.action_state("resume") in ("save session data first", features.missing("resume"))
    with pytest.raises(UsageError):
        run.resume()


def test_data_crosses_and_close_ends_both_sides(make_run):
    run = make_run(step_mode=False)
    run.connect()
    run.send(b"ping", side="client")
    run.send(b"pong", side="server")
    contents = [r.inner_type for r in run.timeline]
    assert contents.count(23) == 2
    run.close_connection()
    assert run.current.pair.client.closed and run.current.pair.server.closed
    assert run.action_state("send") == "the connection is closed"


def test_a_key_update_moves_both_directions_when_requested(make_run, features):
    require(features, "key_update")
    run = make_run(step_mode=False)
    run.connect()
    run.key_update(requested=True)
    run.send(b"after")
    run.send(b"answer", side="server")
    conn = run.timeline.connections[0]
    assert [(m.direction, m.generation, m.request_update) for m in conn.key_updates] == [
        ("client->server", 1, True), ("server->client", 1, False)]
    assert {r.epoch for r in run.timeline if r.inner_type == 23} == {"application-1"}


def test_resumption_links_the_ticket_to_the_new_connection(make_run, features):
    require(features, "session_data", "resume", "tickets")
    run = make_run(step_mode=False, tickets=2)
    run.connect()
    saved = run.save_session()
    assert saved.tickets == 2 and saved.connection == 0
    run.resume()
    conn = run.timeline.connections[1]
    assert conn.resumed and conn.resumed_with in {t.id for t in run.timeline.tickets if t.issued_by == 0}
    ticket = run.timeline.ticket(conn.resumed_with)
    assert [u.connection for u in ticket.resumed] == [1]


def test_early_data_on_resumption(make_run, features):
    require(features, "early_data", "resume")
    run = make_run(step_mode=False, early_data=True)
    run.connect()
    run.save_session()
    run.resume()
    conn = run.timeline.connections[1]
    assert conn.early_data_offered and conn.early_data_accepted
    assert any(r.epoch == "early" and r.inner_type == 23 for r in run.timeline)


def test_tls12_renegotiation_full_and_abbreviated(make_run, features):
    require(features, "tls12", "renegotiate", "renegotiate_abbreviated")
    run = make_run(version="1.2", step_mode=False)
    run.connect()
    assert run.action_state("renegotiate") is None and run.action_state("key_update") is not None
    run.renegotiate(abbreviated=False)
    run.renegotiate(abbreviated=True, side="server")
    conn = run.timeline.connections[0]
    assert [m.stage for m in conn.renegotiations] == ["completed", "completed"]
    assert {"application-0", "application-1", "application-2"} <= {label for _, label in conn.epochs}


def test_a_refused_renegotiation_is_a_visible_event(make_run, features):
    require(features, "tls12", "renegotiate")
    run = make_run(version="1.2", step_mode=False, client_renegotiation=False)
    run.connect()
    run.renegotiate()
    conn = run.timeline.connections[0]
    assert conn.renegotiations[0].stage == "refused"
    assert any(a.description == 100 for a in conn.alerts)         # no_renegotiation


def test_a_failed_handshake_becomes_a_problem(credentials, features):
    from workbench.ui.options import RunOptions
    from workbench.ui.runs.inprocess import InProcessRun
    # a clock years ahead: the server certificate has expired by then
    run = InProcessRun(RunOptions(step_mode=False), features, credentials, epoch=4_000_000_000.0)
    run.connect()
    assert run.problems and run.problems[0].kind == "protocol"
    assert "certificate" in run.problems[0].detail
