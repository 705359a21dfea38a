"""Small helpers shared by the HTML/SVG renderers: escaping, colours per epoch, short names.

Every renderer is a pure function from timeline objects to a string, so the views can be tested
without a browser, and every element a test looks for carries a stable `wb-...` class.
"""
from __future__ import annotations

import html

from workbench.timeline.model import CLIENT_TO_SERVER, epoch_generation, epoch_kind

# One colour per kind of keys; application epochs take the next colour at each KeyUpdate / renegotiation,
# so "the keys changed" is visible at a glance on a projector.
EPOCH_COLOURS = {
    "plaintext": "#6b7280",
    "early": "#9333ea",
    "handshake": "#d97706",
}
APPLICATION_COLOURS = ("#2563eb", "#059669", "#db2777", "#0891b2", "#65a30d", "#c2410c", "#7c3aed")
UNKNOWN_COLOUR = "#374151"


def esc(value: object) -> str:
    """Text made safe for HTML content and attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def epoch_colour(label: str | None) -> str:
    if not label:
        return UNKNOWN_COLOUR
    kind = epoch_kind(label)
    if kind == "application":
        return APPLICATION_COLOURS[epoch_generation(label) % len(APPLICATION_COLOURS)]
    return EPOCH_COLOURS.get(kind, UNKNOWN_COLOUR)


def epoch_class(label: str | None) -> str:
    """A CSS class naming the epoch kind and generation: wb-epoch-handshake, wb-epoch-application-2."""
    if not label:
        return "wb-epoch-unknown"
    kind = epoch_kind(label)
    if kind == "application":
        return f"wb-epoch-application wb-epoch-application-{epoch_generation(label)}"
    return f"wb-epoch-{kind}"


def epoch_chip(label: str | None, *, extra: str = "") -> str:
    """The epoch as a coloured chip (used by the packet list, the step card and the key views)."""
    colour = epoch_colour(label)
    return (f'<span class="wb-chip {epoch_class(label)} {extra}" style="background:{colour}">'
            f"{esc(label or '?')}</span>")


def arrow(direction: str) -> str:
    return "C → S" if direction == CLIENT_TO_SERVER else "C ← S"


def short_hex(value: bytes | None, length: int = 8) -> str:
    """The first bytes of a secret or ticket, enough to tell two apart on screen."""
    if value is None:
        return "(unknown)"
    text = value.hex()
    return text if len(text) <= 2 * length else text[:2 * length] + "…"


def empty_state(css_class: str, text: str) -> str:
    """What a view shows before there is anything to show."""
    return f'<div class="wb-view {esc(css_class)} wb-empty">{esc(text)}</div>'
