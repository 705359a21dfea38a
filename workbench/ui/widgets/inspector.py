"""The record inspector: a summary, scapy's field tree (a Select: click a field) and the hex view with
that field's bytes highlighted. "decrypted" shows the bytes the tree describes (a protected record's
content in the clear), "on the wire" the record as it crossed."""
from __future__ import annotations

import html

import ipywidgets as w

from ..inspect import Inspection
from ..render.hexview import render_hex

DECRYPTED = "decrypted"
WIRE = "on the wire"


class Inspector:
    def __init__(self) -> None:
        self.summary = w.HTML('<div class="wb-record-summary wb-empty">Select a record in the list.</div>')
        self.summary.add_class("wb-record-summary-widget")
        self.tree = w.Select(options=[], rows=14, layout=w.Layout(width="100%"))
        self.tree.add_class("wb-field-tree")
        self.mode = w.ToggleButtons(options=[DECRYPTED, WIRE], value=DECRYPTED, style={"button_width": "110px"})
        self.mode.add_class("wb-hex-mode")
        self.hex = w.HTML()
        self.hex.add_class("wb-hex-view")
        self.inspection: Inspection | None = None
        self.tree.observe(lambda change: self._draw_hex(), names="value")
        self.mode.observe(lambda change: self._draw_hex(), names="value")
        self.box = w.VBox([self.summary, self.tree, self.mode, self.hex],
                          layout=w.Layout(flex="2 1 0%", min_width="0", margin="0 0 0 8px"))
        self.box.add_class("wb-inspector")

    def show(self, inspection: Inspection | None) -> None:
        self.inspection = inspection
        if inspection is None:
            self.summary.value = '<div class="wb-record-summary wb-empty">Select a record in the list.</div>'
            self.tree.options = []
            self.hex.value = ""
            return
        note = f'<div class="wb-inspector-note">{html.escape(inspection.reason)}</div>' \
            if inspection.reason and inspection.fields is not None else ""
        self.summary.value = inspection.summary_html + note
        fields = inspection.fields
        if fields is None:
            self.tree.options = [(inspection.reason, -1)]
            self.tree.value = -1
        else:
            self.tree.options = [(line.label, i) for i, line in enumerate(fields.lines)]
            self.tree.value = None           # nothing highlighted until a field is chosen
        self._draw_hex()

    def select_field(self, name: str) -> bool:
        """Select the first field line called `name` (as a click in the tree would); False if none."""
        fields = self.inspection.fields if self.inspection else None
        if fields is None:
            return False
        for i, line in enumerate(fields.lines):
            if line.name == name:
                self.tree.value = i
                return True
        return False

    def _draw_hex(self) -> None:
        inspection = self.inspection
        if inspection is None or inspection.fields is None:
            self.hex.value = render_hex(inspection.record.raw or b"", title="the record on the wire") \
                if inspection is not None and inspection.record.raw else ""
            return
        fields = inspection.fields
        index = self.tree.value if isinstance(self.tree.value, int) and self.tree.value >= 0 else None
        line = fields.lines[index] if index is not None and index < len(fields.lines) else None
        start, end = (line.start, line.end) if line is not None and fields.spans_exact else (None, None)
        if self.mode.value == WIRE or not fields.decrypted_view:
            same = fields.data == fields.wire
            title = "the record on the wire" + ("" if same or not fields.decrypted_view else " (encrypted)")
            if not same:
                start = end = None      # spans point into the decrypted bytes
            self.hex.value = render_hex(fields.wire, start, end, title=title)
        else:
            self.hex.value = render_hex(fields.data, start, end,
                                        title="decrypted content, framed as a record of its real type")
