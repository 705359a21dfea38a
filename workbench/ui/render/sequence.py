"""The sequence diagram: client on the left, server on the right, one arrow per record, as SVG.

Arrows are coloured by the keys that protect the record (its epoch); a key symbol on the sender's
lifeline says "new keys from here on"; marks (tickets, KeyUpdates, renegotiations, alerts) sit on the
right. The diagram draws a page of records (the one the packet list shows), so it stays light on long
captures.
"""
from __future__ import annotations

from workbench.timeline.model import CLIENT_TO_SERVER, Timeline, TimelineConnection, TimelineRecord
from workbench.timeline.names import content_type_name, group_name, suite_name, version_name

from .html import empty_state, epoch_colour, esc
from .packet_rows import record_badges, record_details

WIDTH = 1100
CLIENT_X = 190
SERVER_X = 640
BADGE_X = 840
ROW = 40
HEADER = 34
TOP = 44


def connection_title(conn: TimelineConnection) -> str:
    parts = [f"Connection {conn.id}"]
    if conn.client or conn.server:
        parts.append(f"{conn.client or '?'} ↔ {conn.server or '?'}")
    if conn.version is not None:
        parts.append(version_name(conn.version))
    if conn.cipher_suite is not None:
        parts.append(suite_name(conn.cipher_suite))
    if conn.group is not None:
        parts.append(group_name(conn.group))
    if conn.resumed:
        parts.append(f"resumed with {conn.resumed_with}" if conn.resumed_with else "resumed")
    if conn.closed:
        parts.append("closed")
    return " · ".join(parts)


def _label(rec: TimelineRecord) -> str:
    content = content_type_name(rec.inner_type) if rec.inner_type is not None else "encrypted record"
    details = record_details(rec)
    if rec.inner_type == 23:
        return f"{content} ({rec.length} bytes)"
    return f"{content}: {details}" if details else content


def _clip(text: str, limit: int = 62) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def render_sequence(timeline: Timeline, start: int = 0, count: int = 60, *, selected: int | None = None,
                    in_flight: frozenset[int] = frozenset()) -> str:
    records = timeline.records(start, count)
    if not records:
        return empty_state("wb-sequence", "No records yet: connect, step, or open a capture.")
    rows: list[str] = []
    y = TOP
    current = object()
    previous_of_direction: dict[tuple, str] = {}
    # epochs before this page, so the key symbol marks real changes only
    for rec in timeline.records(max(0, start - 200), min(200, start)):
        previous_of_direction[(rec.connection, rec.direction)] = rec.epoch
    for rec in records:
        if rec.connection != current:
            current = rec.connection
            conn = timeline.connections[current]
            rows.append(f'<g class="wb-seq-connection" data-connection="{esc(conn.id)}">'
                        f'<rect x="4" y="{y}" width="{WIDTH - 8}" height="{HEADER - 8}" rx="6" class="wb-seq-band"/>'
                        f'<text x="14" y="{y + 18}" class="wb-seq-title">{esc(connection_title(conn))}</text></g>')
            y += HEADER
        colour = epoch_colour(rec.epoch)
        c2s = rec.direction == CLIENT_TO_SERVER
        x1, x2 = (CLIENT_X, SERVER_X) if c2s else (SERVER_X, CLIENT_X)
        mid = (CLIENT_X + SERVER_X) / 2
        flying = rec.index in in_flight
        klass = "wb-seq-record" + (" wb-selected" if rec.index == selected else "") + (" wb-in-flight" if flying else "")
        parts = [f'<g class="{klass}" data-index="{rec.index}">']
        if rec.index == selected:
            parts.append(f'<rect x="4" y="{y}" width="{WIDTH - 8}" height="{ROW}" class="wb-seq-selected"/>')
        parts.append(f'<text x="8" y="{y + 17}" class="wb-seq-index">#{rec.index}</text>')
        key = (rec.connection, rec.direction)
        if previous_of_direction.get(key) not in (None, rec.epoch) or (key not in previous_of_direction
                                                                       and rec.epoch != "plaintext"):
            # outside the lifelines, on the sender's side: the arrow's own labels stay readable
            parts.append(f'<text x="{x1 - 10 if c2s else x1 + 10}" y="{y + 34}" class="wb-seq-newkeys" '
                         f'text-anchor="{"end" if c2s else "start"}" fill="{colour}">⚷ new {esc(rec.epoch)} keys</text>')
        previous_of_direction[key] = rec.epoch
        dash = ' stroke-dasharray="6 4"' if flying else ""
        head = x2 - 9 if c2s else x2 + 9
        parts.append(f'<line x1="{x1}" y1="{y + 22}" x2="{head}" y2="{y + 22}" stroke="{colour}" '
                     f'stroke-width="{3 if rec.inner_type == 22 else 2}"{dash}/>')
        points = f"{x2},{y + 22} {head},{y + 17} {head},{y + 27}"
        parts.append(f'<polygon points="{points}" fill="{colour}"/>')
        parts.append(f'<text x="{mid}" y="{y + 16}" text-anchor="middle" class="wb-seq-label">'
                     f'{esc(_clip(_label(rec)))}</text>')
        meta = f"{rec.epoch} · seq {rec.sequence if rec.sequence is not None else '–'} · {rec.length} B"
        parts.append(f'<text x="{mid}" y="{y + 35}" text-anchor="middle" class="wb-seq-meta" fill="{colour}">'
                     f"{esc(meta)}</text>")
        badges = record_badges(rec)
        if flying:
            badges.insert(0, "in flight")
        bx = BADGE_X
        for badge in badges[:3]:
            width = 12 + 7 * len(badge)
            parts.append(f'<g class="wb-seq-badge"><rect x="{bx}" y="{y + 10}" width="{width}" height="20" rx="10"/>'
                         f'<text x="{bx + width / 2}" y="{y + 24}" text-anchor="middle">{esc(badge)}</text></g>')
            bx += width + 6
        parts.append("</g>")
        rows.append("".join(parts))
        y += ROW
    height = y + 10
    lifelines = (f'<line x1="{CLIENT_X}" y1="32" x2="{CLIENT_X}" y2="{height}" class="wb-seq-lifeline"/>'
                 f'<line x1="{SERVER_X}" y1="32" x2="{SERVER_X}" y2="{height}" class="wb-seq-lifeline"/>')
    heads = "".join(
        f'<g class="wb-seq-head"><rect x="{x - 55}" y="4" width="110" height="28" rx="6"/>'
        f'<text x="{x}" y="23" text-anchor="middle">{name}</text></g>'
        for x, name in ((CLIENT_X, "Client"), (SERVER_X, "Server")))
    svg = (f'<svg class="wb-seq-svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
           f'xmlns="http://www.w3.org/2000/svg">{lifelines}{heads}{"".join(rows)}</svg>')
    return f'<div class="wb-view wb-sequence"><div class="wb-scroll">{svg}</div></div>'

