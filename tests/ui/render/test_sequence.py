import re

from workbench.ui.render.sequence import connection_title, render_sequence


def test_one_arrow_per_record_on_the_page(tls13_story):
    timeline = tls13_story.timeline
    svg = render_sequence(timeline, 0, 60)
    indices = [int(i) for i in re.findall(r'class="wb-seq-record[^"]*" data-index="(\d+)"', svg)]
    assert indices == list(range(min(60, len(timeline))))
    assert svg.count('class="wb-seq-connection"') == 2           # the first connection and its resumption
    assert "Handshake: ClientHello" in svg and "Handshake: ServerHello" in svg


def test_arrows_take_the_colour_of_their_keys_and_new_keys_are_marked(tls13_story):
    svg = render_sequence(tls13_story.timeline, 0, 60)
    assert "⚷ new handshake keys" in svg
    assert "⚷ new application-1 keys" in svg
    assert 'stroke="#d97706"' in svg                               # handshake records


def test_the_selected_record_is_highlighted(tls13_story):
    svg = render_sequence(tls13_story.timeline, 0, 10, selected=3)
    assert 'class="wb-seq-record wb-selected" data-index="3"' in svg
    assert svg.count("wb-seq-selected") == 1


def test_a_page_draws_only_its_records(tls13_story):
    svg = render_sequence(tls13_story.timeline, 5, 2)
    assert re.findall(r'data-index="(\d+)"', svg) == ["5", "6"]


def test_connection_titles_say_what_was_negotiated(tls13_story):
    conn = tls13_story.timeline.connections[1]
    title = connection_title(conn)
    assert "TLS 1.3" in title and "TLS_AES_128_GCM_SHA256" in title and "resumed with T" in title


def test_nothing_to_draw_yet():
    from workbench.timeline import Timeline
    assert "No records yet" in render_sequence(Timeline())
