"""The key schedule of one connection as a graph: which secrets exist, derived from what, installed where.

Each secret is a box, placed in the column after the secrets it was derived from (early secret, then
handshake secret, then the traffic secrets, ...). Inputs that are not secrets ((EC)DHE, a transcript
hash, a PSK) are written in the box. Under a traffic secret, chips say which side uses it for which
direction ("client write", "server read") and from which record on. A capture's key log gives secrets
without their derivation: they stand in one column, and the view says so.
"""
from __future__ import annotations

from workbench.timeline.model import Secret, TimelineConnection

from .html import empty_state, epoch_colour, esc, short_hex

COLUMN = 230
BOX_W = 200
BOX_H = 64
GAP = 16
LEFT = 10
TOP = 34


def _depths(secrets: list[Secret]) -> dict[int, int]:
    """Column of each secret: one more than the deepest secret it was derived from (inputs count 0)."""
    latest: dict[str, int] = {}
    depth: dict[int, int] = {}
    for i, secret in enumerate(secrets):
        parents = [depth[latest[name]] for name in secret.derived_from if name in latest]
        depth[i] = 1 + max(parents) if parents else 0
        latest[secret.name] = i
    return depth


def _installs(conn: TimelineConnection) -> dict[str, list[str]]:
    """Secret name -> chips like "client write from #3"."""
    out: dict[str, list[str]] = {}
    for install in conn.key_installs:
        if not install.secret:
            continue
        where = f"{install.role} {install.usage}"
        if install.after_record is not None:
            where += f" after #{install.after_record}"
        out.setdefault(install.secret, []).append(where)
    return out


def _protects(conn: TimelineConnection) -> dict[str, str]:
    """Secret name -> the epoch label it protects (for the colour of its box)."""
    return {span.secret: span.label for span in conn.epochs.values() if span.secret}


def render_key_schedule(conn: TimelineConnection | None) -> str:
    if conn is None or not conn.secrets:
        return empty_state("wb-key-schedule", "No secrets yet: they appear as the handshake derives them "
                                              "(or from the key log of a capture).")
    secrets = list(conn.secrets)
    depth = _depths(secrets)
    installs = _installs(conn)
    protects = _protects(conn)
    columns: dict[int, list[int]] = {}
    for i in range(len(secrets)):
        columns.setdefault(depth[i], []).append(i)
    position: dict[int, tuple[float, float]] = {}
    height = TOP
    for col, members in sorted(columns.items()):
        y = TOP
        for i in members:
            chips = len(installs.get(secrets[i].name, ()))
            position[i] = (LEFT + col * COLUMN, y)
            y += BOX_H + 18 * chips + GAP
        height = max(height, y)
    width = LEFT + (max(columns) + 1) * COLUMN
    latest: dict[str, int] = {}
    edges: list[str] = []
    boxes: list[str] = []
    for i, secret in enumerate(secrets):
        x, y = position[i]
        inputs = []
        for name in secret.derived_from:
            parent = latest.get(name)
            if parent is None:
                inputs.append(name)
                continue
            px, py = position[parent]
            x1, y1 = px + BOX_W, py + 22
            x2, y2 = x, y + 22
            bend = (x2 - x1) / 2 if x2 > x1 else 40
            edges.append(f'<path class="wb-ks-edge" d="M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"/>')
        latest[secret.name] = i
        epoch = protects.get(secret.name)
        colour = epoch_colour(epoch) if epoch else "#94a3b8"
        chips = installs.get(secret.name, [])
        box_h = BOX_H + 18 * len(chips)
        title = secret.keylog_label or secret.name
        provenance = ("from " + " + ".join(inputs)) if inputs else ("from the key log" if "key log" in secret.derived_by
                                                                    and not secret.derived_from else "")
        klass = "wb-ks-secret" + (" wb-ks-traffic" if epoch else "")
        parts = [f'<g class="{klass}" data-secret="{esc(secret.name)}">',
                 f'<title>{esc(title)}: {esc(secret.value.hex() if secret.value else "value unknown")}</title>',
                 f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{box_h}" rx="8" class="wb-ks-box" '
                 f'style="stroke:{colour}"/>',
                 f'<rect x="{x}" y="{y}" width="6" height="{box_h}" rx="3" fill="{colour}"/>',
                 f'<text x="{x + 14}" y="{y + 20}" class="wb-ks-name">{esc(secret.name)}</text>',
                 f'<text x="{x + 14}" y="{y + 37}" class="wb-ks-value">{esc(short_hex(secret.value, 10))}</text>']
        if provenance:
            parts.append(f'<text x="{x + 14}" y="{y + 54}" class="wb-ks-from">{esc(_clip(provenance))}</text>')
        for n, chip in enumerate(chips):
            cy = y + BOX_H + 18 * n - 4
            parts.append(f'<text x="{x + 14}" y="{cy + 12}" class="wb-ks-install" fill="{colour}">'
                         f'▸ {esc(chip)}</text>')
        parts.append("</g>")
        boxes.append("".join(parts))
    header = ('<div class="wb-ks-caption">Key schedule of connection '
              f'{esc(conn.id)}: {len(secrets)} secrets'
              + ("; derivations are not in a key log, so the secrets stand side by side"
                 if all(not s.derived_from for s in secrets) else "")
              + "</div>")
    legend = _legend(conn)
    svg = (f'<svg class="wb-ks-svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'xmlns="http://www.w3.org/2000/svg">{"".join(edges)}{"".join(boxes)}</svg>')
    return f'<div class="wb-view wb-key-schedule">{header}{legend}<div class="wb-scroll">{svg}</div></div>'


def _clip(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _legend(conn: TimelineConnection) -> str:
    """Which keys each side holds now: the last install per (side, usage)."""
    now: dict[tuple[str, str], str] = {}
    for install in conn.key_installs:
        now[(install.role, install.usage)] = install.epoch
    if not now:
        return ""
    cells = []
    for role in ("client", "server"):
        for usage in ("read", "write"):
            epoch = now.get((role, usage))
            if epoch is None:
                continue
            c2s = (role == "client") == (usage == "write")
            cells.append(f'<span class="wb-ks-now"><b>{role}</b> {usage}s {direction_words(c2s)}: '
                         f'<span class="wb-chip" style="background:{epoch_colour(epoch)}">{esc(epoch)}</span></span>')
    return f'<div class="wb-ks-legend">Keys in force now: {" ".join(cells)}</div>'


def direction_words(client_to_server: bool) -> str:
    return "client → server" if client_to_server else "server → client"
