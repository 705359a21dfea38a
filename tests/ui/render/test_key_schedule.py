import re

from workbench.ui.render.key_schedule import render_key_schedule


def test_every_secret_is_a_box_and_derivations_are_edges(tls13_story):
    conn = tls13_story.timeline.connections[0]
    svg = render_key_schedule(conn)
    names = re.findall(r'class="wb-ks-secret[^"]*" data-secret="([^"]+)"', svg)
    assert names == [s.name for s in conn.secrets]
    assert {"early secret", "handshake secret", "c hs traffic", "s hs traffic", "master secret", "c ap traffic",
            "s ap traffic", "res master"} <= set(names)
    # an edge for each parent that is itself a secret
    edges = sum(1 for s in conn.secrets for parent in s.derived_from
                if any(p.name == parent for p in conn.secrets))
    assert svg.count('class="wb-ks-edge"') == edges >= 8
    assert "from (EC)DHE" in svg                     # inputs that are not secrets are written in the box


def test_traffic_secrets_say_where_they_are_installed(tls13_story):
    svg = render_key_schedule(tls13_story.timeline.connections[0])
    assert "▸ server write after #1" in svg and "▸ client read after #2" in svg
    assert "Keys in force now" in svg and "application-1" in svg


def test_a_key_log_gives_secrets_without_derivations():
    from workbench.timeline import TimelineBuilder
    builder = TimelineBuilder()
    builder.add_secret(0, "c hs traffic", b"\x01" * 32, keylog_label="CLIENT_HANDSHAKE_TRAFFIC_SECRET")
    builder.add_secret(0, "s hs traffic", b"\x02" * 32, keylog_label="SERVER_HANDSHAKE_TRAFFIC_SECRET")
    svg = render_key_schedule(builder.timeline.connections[0])
    assert "from the key log" in svg and "side by side" in svg


def test_no_secrets_yet():
    assert "No secrets yet" in render_key_schedule(None)
