"""The step card: the story of the last step of an in-process pair (see workbench.ui.narrate)."""
from __future__ import annotations

from ..narrate import StepStory
from .html import epoch_chip, esc


def _keys_table(story: StepStory) -> str:
    rows = []
    for role in ("client", "server"):
        keys = story.keys.get(role)
        if keys is None:
            continue
        rows.append(f'<tr class="wb-step-keys-{role}"><th>{role}</th>'
                    f"<td>reads with {epoch_chip(keys.read)}</td><td>writes with {epoch_chip(keys.write)}</td></tr>")
    if not rows:
        return ""
    return '<table class="wb-step-keys">' + "".join(rows) + "</table>"


def render_step_card(story: StepStory | None, *, position: str = "", pending: int = 0) -> str:
    if story is None:
        hint = ("Nothing has crossed yet. “Next record” moves one record from one side to the other; "
                "“Next flight” moves everything one side has queued.")
        return f'<div class="wb-view wb-step wb-empty">{esc(hint)}</div>'
    parts = [f'<div class="wb-step-title">{esc(story.title)}</div>']
    if position:
        parts.append(f'<div class="wb-step-position">{esc(position)}'
                     + (f" · {pending} record(s) waiting on the wire" if pending else " · nothing on the wire")
                     + "</div>")
    if story.sent:
        parts.append(f'<div class="wb-step-sent">{esc(story.sent)}</div>')
    if story.error:
        parts.append(f'<div class="wb-step-error">{esc(story.error)}</div>')
    if story.happened:
        parts.append('<div class="wb-step-section">What happened</div><ul class="wb-step-happened">'
                     + "".join(f"<li>{esc(line)}</li>" for line in story.happened) + "</ul>")
    parts.append('<div class="wb-step-section">Keys each side holds now</div>' + _keys_table(story))
    if story.derived:
        parts.append('<div class="wb-step-section">New secrets</div><ul class="wb-step-derived">'
                     + "".join(f"<li>{esc(line)}</li>" for line in story.derived) + "</ul>")
    if story.why:
        parts.append('<div class="wb-step-section">Why</div><ul class="wb-step-why">'
                     + "".join(f"<li>{esc(line)}</li>" for line in story.why) + "</ul>")
    return '<div class="wb-view wb-step">' + "".join(parts) + "</div>"
