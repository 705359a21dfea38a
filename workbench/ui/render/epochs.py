"""Epoch lanes: for each connection, one lane per direction, cut into the spans each set of keys protected.

The horizontal axis is the connection's records in order. A KeyUpdate is a tick on the lane of the
direction it changed (marked "requested" when it asks the peer to update too); a TLS 1.2 renegotiation is
a diamond on both lanes. Spans are drawn from the timeline's EpochSpans (first/last record, count), so a
lane costs the same for 10 records or 100,000.
"""
from __future__ import annotations

from bisect import bisect_left

from workbench.timeline.model import CLIENT_TO_SERVER, DIRECTIONS, Timeline, TimelineConnection

from .html import empty_state, epoch_class, epoch_colour, esc
from .sequence import connection_title

WIDTH = 900
LABEL_W = 150
LANE_H = 34
LANE_GAP = 22
TOP = 8
PLOT_W = WIDTH - LABEL_W - 20


def _ordinal(conn: TimelineConnection, record_index: int) -> int:
    """The position of a record among the connection's records."""
    return bisect_left(conn.record_indices, record_index)


def _x(position: float, total: int) -> float:
    return LABEL_W + PLOT_W * position / max(total, 1)


def render_connection_lanes(conn: TimelineConnection) -> str:
    total = len(conn)
    parts = [f'<div class="wb-lanes-title">{esc(connection_title(conn))}</div>']
    height = TOP + 2 * (LANE_H + LANE_GAP) + 18
    svg = [f'<svg class="wb-lanes-svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
           f'xmlns="http://www.w3.org/2000/svg">']
    waiting: list[str] = []
    for lane, direction in enumerate(DIRECTIONS):
        y = TOP + lane * (LANE_H + LANE_GAP)
        name = "client → server" if direction == CLIENT_TO_SERVER else "server → client"
        svg.append(f'<g class="wb-lane" data-direction="{direction}">'
                   f'<text x="4" y="{y + 22}" class="wb-lane-label">{name}</text>'
                   f'<rect x="{LABEL_W}" y="{y}" width="{PLOT_W}" height="{LANE_H}" class="wb-lane-bg"/>')
        for span in conn.epochs_of(direction):
            if span.first_record is None or not span.count:
                waiting.append(f"{name}: {span.label} keys installed, no record yet")
                continue
            x1 = _x(_ordinal(conn, span.first_record), total)
            x2 = _x(_ordinal(conn, span.last_record) + 1, total)
            w = max(x2 - x1, 3)
            colour = epoch_colour(span.label)
            text = span.label if w > 9 * len(span.label) else ""
            tip = (f"{span.label}: {span.count} record(s), #{span.first_record}..#{span.last_record}"
                   + (f", secret {span.secret}" if span.secret else ""))
            svg.append(f'<g class="wb-lane-span {epoch_class(span.label)}" data-epoch="{esc(span.label)}">'
                       f'<title>{esc(tip)}</title>'
                       f'<rect x="{x1:.1f}" y="{y + 3}" width="{w:.1f}" height="{LANE_H - 6}" rx="5" fill="{colour}"/>'
                       f'<text x="{x1 + w / 2:.1f}" y="{y + 22}" text-anchor="middle" class="wb-lane-text">'
                       f'{esc(text)}</text></g>')
        for mark in conn.key_updates:
            if mark.direction != direction:
                continue
            x = _x(_ordinal(conn, mark.record), total)
            label = "KeyUpdate" + (" ⟳ requested" if mark.request_update else "")
            svg.append(f'<g class="wb-lane-keyupdate" data-record="{mark.record}">'
                       f'<title>record #{mark.record}: KeyUpdate, now application-{mark.generation}</title>'
                       f'<line x1="{x:.1f}" y1="{y - 2}" x2="{x:.1f}" y2="{y + LANE_H + 2}" class="wb-lane-tick"/>'
                       f'<text x="{x + 3:.1f}" y="{y + LANE_H + 15}" class="wb-lane-mark">{esc(label)}</text></g>')
        svg.append("</g>")
    for mark in conn.renegotiations:
        x = _x(_ordinal(conn, mark.record), total)
        mid = TOP + LANE_H + LANE_GAP / 2
        svg.append(f'<g class="wb-lane-renegotiation" data-record="{mark.record}">'
                   f'<title>record #{mark.record}: renegotiation by the {esc(mark.initiator)}, {esc(mark.stage)}</title>'
                   f'<polygon points="{x:.1f},{mid - 9} {x + 9:.1f},{mid} {x:.1f},{mid + 9} {x - 9:.1f},{mid}" '
                   f'class="wb-lane-diamond"/>'
                   f'<text x="{x + 12:.1f}" y="{height - 6}" class="wb-lane-mark">renegotiation ({esc(mark.stage)})</text></g>')
    svg.append(f'<text x="{LABEL_W}" y="{height - 6}" class="wb-lane-axis">record 1</text>'
               f'<text x="{WIDTH - 20}" y="{height - 6}" text-anchor="end" class="wb-lane-axis">record {total}</text>')
    svg.append("</svg>")
    parts.append("".join(svg))
    if waiting:
        parts.append('<div class="wb-lanes-note">' + "; ".join(esc(w) for w in waiting) + "</div>")
    return '<div class="wb-lanes-connection">' + "".join(parts) + "</div>"


def render_epoch_lanes(timeline: Timeline, connections: list | None = None, limit: int = 12) -> str:
    """Lanes for the given connection ids (default: all, up to `limit`)."""
    ids = list(timeline.connections) if connections is None else list(connections)
    if not ids:
        return empty_state("wb-epoch-lanes", "No connection yet.")
    shown = ids[:limit]
    body = "".join(render_connection_lanes(timeline.connections[i]) for i in shown)
    more = (f'<div class="wb-lanes-note">{len(ids) - limit} more connection(s) not drawn: '
            f"choose one in the packet list.</div>" if len(ids) > limit else "")
    return f'<div class="wb-view wb-epoch-lanes">{body}{more}</div>'
