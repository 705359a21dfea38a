"""A faster __init__ for frozen, slotted dataclasses that the engine makes on every handshake or record.

The __init__ that dataclasses generates for a frozen class stores each field through
object.__setattr__, about twice the cost of storing through the slot descriptors directly.
Codec objects (messages, extensions, records) and key schedule entries are made many times per
handshake, so the difference shows. Instances stay frozen: assigning after construction still
raises FrozenInstanceError, and __eq__, __hash__, __repr__ and fields() are the dataclass ones.
"""
from __future__ import annotations

import dataclasses
from dataclasses import MISSING
from typing import Any, TypeVar

C = TypeVar("C", bound=type)


def fast_frozen_init(cls: C) -> C:
    """Replace the generated __init__ of a frozen slotted dataclass (plain defaults only)."""
    params = cls.__dataclass_params__
    if not (params.frozen and "__slots__" in cls.__dict__):
        raise TypeError(f"{cls.__name__} is not a frozen slotted dataclass")
    namespace: dict[str, Any] = {}
    args, body = [], []
    for f in dataclasses.fields(cls):
        if not f.init or f.kw_only or f.default_factory is not MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: only plain fields and defaults are supported")
        # The slot descriptor may live on a dataclass base.
        slot = next(klass.__dict__[f.name] for klass in cls.__mro__ if f.name in klass.__dict__)
        namespace[f"_set_{f.name}"] = slot.__set__
        if f.default is MISSING:
            args.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            args.append(f"{f.name}=_default_{f.name}")
        body.append(f"    _set_{f.name}(self, {f.name})")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__, which this __init__ would skip")
    source = f"def __init__(self, {', '.join(args)}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(source, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init
    return cls
