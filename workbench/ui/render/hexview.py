"""A hex dump with one byte range highlighted (the field selected in the tree).

Sixteen bytes a line: offset, hex, and the printable characters. Long records show a window of lines
around the highlight, so a 16 KiB record does not flood the page.
"""
from __future__ import annotations

from .html import esc

PER_LINE = 16
MAX_LINES = 64


def _printable(byte: int) -> str:
    return chr(byte) if 32 <= byte < 127 else "·"


def render_hex(data: bytes, start: int | None = None, end: int | None = None, *, title: str = "",
               max_lines: int = MAX_LINES) -> str:
    """HTML for `data` with bytes [start, end) marked (class wb-hex-hl)."""
    if not data:
        return f'<div class="wb-hex wb-empty">{esc(title or "no bytes")}</div>'
    lines_total = (len(data) + PER_LINE - 1) // PER_LINE
    first_line = 0
    if lines_total > max_lines:
        focus = (start or 0) // PER_LINE
        first_line = min(max(0, focus - max_lines // 4), lines_total - max_lines)
    last_line = min(lines_total, first_line + max_lines)
    highlighted = start is not None and end is not None and end > start
    out = []
    if title:
        out.append(f'<div class="wb-hex-title">{esc(title)}</div>')
    if first_line:
        out.append(f'<div class="wb-hex-skip">… {first_line * PER_LINE} bytes before</div>')
    for line in range(first_line, last_line):
        offset = line * PER_LINE
        chunk = data[offset:offset + PER_LINE]
        hex_cells, text_cells = [], []
        for i, byte in enumerate(chunk):
            position = offset + i
            on = highlighted and start <= position < end
            klass = ' class="wb-hex-hl"' if on else ""
            sep = " " if i != 8 else "  "
            hex_cells.append(f"{sep}<span{klass}>{byte:02x}</span>")
            text_cells.append(f"<span{klass}>{esc(_printable(byte))}</span>")
        pad = "   " * (PER_LINE - len(chunk)) + (" " if len(chunk) <= 8 else "")
        out.append(f'<div class="wb-hex-line"><span class="wb-hex-offset">{offset:04x}</span>'
                   f'{"".join(hex_cells)}{pad}  <span class="wb-hex-text">{"".join(text_cells)}</span></div>')
    if last_line < lines_total:
        out.append(f'<div class="wb-hex-skip">… {len(data) - last_line * PER_LINE} more bytes</div>')
    return '<div class="wb-hex">' + "".join(out) + "</div>"
