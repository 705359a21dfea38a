from workbench.ui.widgets.packet_list import PacketList


def test_a_click_selects_the_record():
    widget = PacketList()
    widget.rows = [{"index": 7, "classes": "wb-packet-row"}]
    seen = []
    widget.observe(lambda change: seen.append(change["new"]), names="selected")
    widget.click(7)
    assert widget.selected == 7 and seen == [7]
    assert "wb-packet-list-widget" in widget._dom_classes


def test_the_browser_side_draws_rows_and_sends_clicks_back():
    source = PacketList._esm
    assert 'model.set("selected", index)' in source and "save_changes" in source
    assert "ArrowDown" in source and "wb-selected" in source
