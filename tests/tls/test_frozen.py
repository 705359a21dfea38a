"""fast_frozen_init: the same dataclass behaviour as the generated __init__, only cheaper."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from workbench.tls.frozen import fast_frozen_init


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class Point:
    x: int
    label: bytes
    note: str | None = None


@dataclass(frozen=True, slots=True)
class PlainPoint:
    x: int
    label: bytes
    note: str | None = None


def test_construction_matches_the_generated_init():
    assert Point(1, b"a") == Point(x=1, label=b"a", note=None)
    assert Point(1, b"a", "n").note == "n"
    assert repr(Point(1, b"a")) == "Point(x=1, label=b'a', note=None)"
    assert hash(Point(1, b"a")) == hash(Point(1, b"a"))
    assert dataclasses.astuple(Point(2, b"b", "c")) == dataclasses.astuple(PlainPoint(2, b"b", "c"))
    assert dataclasses.replace(Point(1, b"a"), x=5) == Point(5, b"a")


def test_argument_errors_match_the_generated_init():
    for cls in (Point, PlainPoint):
        with pytest.raises(TypeError):
            cls(1)                             # a required field missing
        with pytest.raises(TypeError):
            cls(1, b"a", "n", "extra")
        with pytest.raises(TypeError):
            cls(1, b"a", unknown=3)


def test_instances_stay_frozen():
    point = Point(1, b"a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        del point.label


def test_inherited_fields_are_set():
    @dataclass(frozen=True, slots=True)
    class Base:
        a: int

    @fast_frozen_init
    @dataclass(frozen=True, slots=True)
    class Child(Base):
        b: int = 2

    assert (Child(1).a, Child(1).b, Child(1, 3).b) == (1, 2, 3)


def test_classes_it_cannot_handle_are_refused():
    @dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclass(frozen=True, slots=True)
    class WithFactory:
        a: list = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class WithPostInit:
        a: int

        def __post_init__(self):
            pass

    for cls in (NotFrozen, WithFactory, WithPostInit):
        with pytest.raises(TypeError):
            fast_frozen_init(cls)


def test_engine_codec_and_event_objects_use_it():
    from workbench.tls.extensions import ServerName, SupportedGroups
    from workbench.tls.key_schedule import DerivedSecret
    from workbench.tls.messages import ClientHello, Finished
    from workbench.tls.record import Record
    for cls in (ServerName, SupportedGroups, DerivedSecret, ClientHello, Finished, Record):
        names = cls.__init__.__code__.co_names
        assert names and all(name.startswith("_set_") for name in names), cls
