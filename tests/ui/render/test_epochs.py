import re

from workbench.ui.render.epochs import render_epoch_lanes


def test_two_lanes_per_connection_with_one_span_per_epoch(tls13_story):
    timeline = tls13_story.timeline
    html = render_epoch_lanes(timeline)
    assert html.count('class="wb-lane"') == 2 * len(timeline.connections)
    spans = re.findall(r'class="wb-lane-span [^"]*" data-epoch="([^"]+)"', html)
    expected = [span.label for conn in timeline.connections.values() for direction in ("client->server",
                "server->client") for span in conn.epochs_of(direction) if span.count]
    assert spans == expected
    assert "application-1" in spans


def test_key_updates_are_ticks_on_their_lane(tls13_story):
    html = render_epoch_lanes(tls13_story.timeline)
    marks = sum(len(c.key_updates) for c in tls13_story.timeline.connections.values())
    assert marks == 2                                 # the client's, and the server's answer
    assert html.count('class="wb-lane-keyupdate"') == marks
    assert "KeyUpdate ⟳ requested" in html


def test_renegotiations_are_diamonds(make_run, features):
    from tests.ui.conftest import require
    require(features, "tls12", "renegotiate")
    run = make_run(version="1.2", step_mode=False)
    run.connect()
    run.renegotiate(abbreviated=False)
    html = render_epoch_lanes(run.timeline)
    assert html.count('class="wb-lane-renegotiation"') == len(run.timeline.connections[0].renegotiations) >= 1
    assert "application-1" in html


def test_no_connection_yet():
    from workbench.timeline import Timeline
    assert "No connection yet" in render_epoch_lanes(Timeline())
