import re

from workbench.ui.render.hexview import render_hex


def _highlighted(html):
    return [int(b, 16) for b in re.findall(r'<span class="wb-hex-hl">([0-9a-f]{2})</span>', html)]


def test_the_highlight_covers_exactly_the_field():
    data = bytes(range(40))
    html = render_hex(data, 17, 21)
    assert _highlighted(html) == [17, 18, 19, 20]
    assert html.count('class="wb-hex-line"') == 3


def test_no_highlight_without_a_span():
    assert "wb-hex-hl" not in render_hex(b"abc")


def test_long_records_show_a_window_around_the_highlight():
    data = bytes(5000)
    html = render_hex(data, 4000, 4002, max_lines=16)
    assert html.count('class="wb-hex-line"') == 16
    assert "bytes before" in html and "more bytes" in html
    assert len(_highlighted(html)) == 2


def test_printable_characters_and_escaping():
    html = render_hex(b"<b>&")
    assert "&lt;" in html and "&amp;" in html and "<b>&" not in html
