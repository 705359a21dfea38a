"""Step-aware access to the RFC 8448 traces, on top of tests/rfc8448.py.

tests/rfc8448.py reads a labelled hex block by (section, label, occurrence). The crypto tests
need "the `expanded` value of the {server} step 'derive secret "tls13 c hs traffic"'", so this
module indexes the step headings of each section and turns (actor, step title, label) into the
occurrence that tests/rfc8448.py reads. Section 2 (the server's RSA key) has no octet counts in
its labels, which tests/rfc8448.py does not read; `private_key_field` reads it here.

    trace = load_trace()
    trace.value(3, "server", 'derive secret "tls13 c hs traffic"', "expanded")
    trace.private_key_field("modulus")
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from tests.rfc8448 import TRACE_PATH, trace_bytes

_SECTION = re.compile(r"^(\d+)\.\s{2}(\S.*?)\s*$")
_STEP = re.compile(r"^   \{(client|server)\}\s+(.*?):?\s*$")
_LABEL = re.compile(r"^\s+(\S.*?) \((\d+) octets\):")
_KEY_FIELD = re.compile(r"^   (\S.*?):\s+((?:[0-9a-f]{2} ?)+)$")
_HEX_LINE = re.compile(r"^\s+((?:[0-9a-f]{2} ?)+)$")
_PAGE_FURNITURE = re.compile(r"^\s*$|^\f|^Thomson\s.*\[Page \d+\]$|^Internet-Draft\s")


@dataclass
class Step:
    actor: str
    title: str
    occurrences: dict[str, int] = field(default_factory=dict)   # label -> its occurrence in the section


class Trace:
    def __init__(self, lines: list[str]):
        self.titles: dict[int, str] = {}
        self.sections: dict[int, list[Step]] = {}
        self._lines = lines
        section = None
        seen: dict[str, int] = {}
        for line in lines:
            if match := _SECTION.match(line):
                section = int(match.group(1))
                self.titles[section], self.sections[section], seen = match.group(2), [], {}
            elif section is None:
                continue
            elif match := _STEP.match(line):
                self.sections[section].append(Step(match.group(1), match.group(2)))
            elif (match := _LABEL.match(line)) and self.sections[section]:
                label = match.group(1)
                self.sections[section][-1].occurrences[label] = seen.get(label, 0)
                seen[label] = seen.get(label, 0) + 1

    def steps(self, section: int, actor: str, title: str) -> list[Step]:
        return [s for s in self.sections[section] if s.actor == actor and s.title == title]

    def value(self, section: int, actor: str, title: str, label: str, index: int = 0) -> bytes:
        """Block `label` of the `index`-th {actor} step with that title (document order) that has it."""
        steps = [s for s in self.steps(section, actor, title) if label in s.occurrences]
        if len(steps) <= index:
            raise KeyError(f"section {section}: no {index}-th {{{actor}}} {title!r} with {label!r}")
        return trace_bytes(self.titles[section], label, steps[index].occurrences[label])

    def values(self, section: int, actor: str, title: str, index: int = 0) -> dict[str, bytes]:
        """Every block of the `index`-th {actor} step with that title."""
        step = self.steps(section, actor, title)[index]
        return {label: trace_bytes(self.titles[section], label, n) for label, n in step.occurrences.items()}

    def handshake_messages(self, section: int) -> list[tuple[str, str, bytes]]:
        """(actor, message name, raw message) of every "construct a X handshake message" step, in order."""
        found = []
        for step in self.sections[section]:
            if match := re.fullmatch(r"construct an? (\w+) handshake message", step.title):
                name = match.group(1)
                found.append((step.actor, name, trace_bytes(self.titles[section], name, step.occurrences[name])))
        return found

    def private_key_field(self, name: str) -> int:
        """A field of the server's RSA key in section 2 ("modulus", "public exponent", "prime1", ...)."""
        lines = iter(self._lines)
        for line in lines:
            match = _KEY_FIELD.match(line)
            if not match or match.group(1) not in (name, f"{name} (public)"):
                continue
            chunks = [match.group(2)]
            # Hex lines continue the field; blank lines and page breaks are skipped; anything else ends it.
            for following in lines:
                if hex_line := _HEX_LINE.match(following):
                    chunks.append(hex_line.group(1))
                elif not _PAGE_FURNITURE.match(following):
                    break
            return int.from_bytes(bytes.fromhex(" ".join(chunks)), "big")
        raise KeyError(name)


@lru_cache(maxsize=1)
def load_trace() -> Trace:
    return Trace(TRACE_PATH.read_text(encoding="ascii").splitlines())
