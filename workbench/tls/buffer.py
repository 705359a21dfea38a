"""Byte buffer for the TLS presentation language (RFC 8446 section 3).

One class reads and writes, in the shape of aioquic's Buffer: fixed-size unsigned
integers, opaque vectors with a 1-, 2- or 3-byte length prefix, and length-prefixed
blocks as context managers. Reading is bounded by the innermost open block, so a
field can never run past the vector that contains it.

Every short or over-long read raises `DecodeError` with the offset and what was
being read; a value that cannot be encoded raises `UsageError` (the caller's bug).
This sits on the hot path of every handshake, hence the hand-inlined bounds checks, the
block helpers without a context manager (`reserve_length` / `fill_length`: a `with` block
costs an object and two calls), and the whole-block calls for extension blocks
(`push_typed_blocks` / `pull_typed_blocks`) that run the codec's innermost loops.
"""
from __future__ import annotations

import struct
from typing import Callable, Iterable, Mapping, TypeVar

from .errors import DecodeError, UsageError

T = TypeVar("T")

_LENGTH_SIZES = (1, 2, 3)
_MAX_FOR_SIZE = {1: 0xFF, 2: 0xFFFF, 3: 0xFFFFFF, 4: 0xFFFFFFFF}
_ZEROS = {1: b"\x00", 2: b"\x00\x00", 3: b"\x00\x00\x00"}
# Reserved lengths (and extension headers) are back-filled with pack_into: a slice assignment
# into the bytearray (out[i:i + 2] = ...) costs about three times as much.
_pack_uint16_into = struct.Struct(">H").pack_into
_pack_uint16_pair_into = struct.Struct(">HH").pack_into
_unpack_uint16_pair_from = struct.Struct(">HH").unpack_from


def _short_read(pos: int, need: int, end: int, what: str) -> DecodeError:
    return DecodeError(f"short read at offset {pos}: {what} needs {need} bytes, {max(end - pos, 0)} left")


_UINT16_STRUCTS: dict[int, struct.Struct] = {}


def _uint16_struct(count: int) -> struct.Struct:
    """The Struct for `count` big-endian uint16 values (lists of suites, groups, schemes)."""
    packer = _UINT16_STRUCTS.get(count)
    if packer is None:
        packer = struct.Struct(f">{count}H")
        if len(_UINT16_STRUCTS) < 256:
            _UINT16_STRUCTS[count] = packer
    return packer


def _check_length_size(length_size: int) -> None:
    if length_size not in _LENGTH_SIZES:
        raise UsageError(f"length prefix must be 1, 2 or 3 bytes, not {length_size!r}")


class _PullBlock:
    """`with buf.pull_block(n) as length:` restricts reads to the block, then checks it was read to the end."""

    __slots__ = ("_buf", "_length_size", "_outer_end", "_block_end")

    def __init__(self, buf: "Buffer", length_size: int):
        self._buf = buf
        self._length_size = length_size

    def __enter__(self) -> int:
        buf = self._buf
        length = buf._pull_length(self._length_size)
        start = buf._pos
        if start + length > buf._end:
            raise DecodeError(f"vector at offset {start - self._length_size} announces {length} bytes, "
                              f"only {buf._end - start} left")
        self._outer_end = buf._end
        self._block_end = buf._end = start + length
        return length

    def __exit__(self, exc_type, exc, tb) -> bool:
        buf = self._buf
        buf._end = self._outer_end
        if exc_type is None and buf._pos != self._block_end:
            raise DecodeError(f"vector ending at offset {self._block_end} has "
                              f"{self._block_end - buf._pos} unread bytes")
        return False


class _PushBlock:
    """`with buf.push_block(n):` reserves the length prefix and back-fills it on exit."""

    __slots__ = ("_buf", "_length_size", "_start")

    def __init__(self, buf: "Buffer", length_size: int):
        self._buf = buf
        self._length_size = length_size

    def __enter__(self) -> None:
        out = self._buf._out
        self._start = len(out)
        out += bytes(self._length_size)

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self._buf.fill_length(self._start, self._length_size)
        return False


class Buffer:
    """Reads `data` when given; otherwise collects what is pushed (both work on any instance)."""

    __slots__ = ("_data", "_pos", "_end", "_out")

    def __init__(self, data: bytes = b"", start: int = 0):
        self._data = data if type(data) is bytes else bytes(data)
        self._end = len(self._data)
        if not 0 <= start <= self._end:
            raise UsageError(f"cannot start reading at {start}: outside 0..{self._end}")
        self._pos = start               # where reading starts (a handshake body after its header)
        self._out = bytearray()

    # ----- state -----------------------------------------------------------------

    @property
    def data(self) -> bytes:
        """The bytes pushed so far."""
        return bytes(self._out)

    @property
    def pushed(self) -> int:
        """How many bytes were pushed so far."""
        return len(self._out)

    @property
    def remaining(self) -> int:
        """Bytes left to read in the innermost open block (or the whole input)."""
        return self._end - self._pos

    def eof(self) -> bool:
        return self._pos >= self._end

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int) -> None:
        """Move the read position inside the innermost open block (for look-ahead)."""
        if not 0 <= pos <= self._end:
            raise UsageError(f"cannot seek to {pos}: outside 0..{self._end}")
        self._pos = pos

    # ----- pull ------------------------------------------------------------------

    def pull_uint8(self) -> int:
        pos = self._pos
        if pos >= self._end:
            raise _short_read(pos, 1, self._end, "uint8")
        self._pos = pos + 1
        return self._data[pos]

    def pull_uint16(self) -> int:
        pos = self._pos
        if pos + 2 > self._end:
            raise _short_read(pos, 2, self._end, "uint16")
        self._pos = pos + 2
        d = self._data
        return d[pos] << 8 | d[pos + 1]

    def pull_uint24(self) -> int:
        pos = self._pos
        if pos + 3 > self._end:
            raise _short_read(pos, 3, self._end, "uint24")
        self._pos = pos + 3
        d = self._data
        return d[pos] << 16 | d[pos + 1] << 8 | d[pos + 2]

    def pull_uint32(self) -> int:
        pos = self._pos
        end = pos + 4
        if end > self._end:
            raise _short_read(pos, 4, self._end, "uint32")
        self._pos = end
        return int.from_bytes(self._data[pos:end], "big")

    def pull_bytes(self, n: int) -> bytes:
        pos = self._pos
        end = pos + n
        if n < 0 or end > self._end:
            raise _short_read(pos, n, self._end, "opaque")
        self._pos = end
        return self._data[pos:end]

    def _pull_length(self, length_size: int) -> int:
        if length_size == 2:
            return self.pull_uint16()
        if length_size == 1:
            return self.pull_uint8()
        if length_size == 3:
            return self.pull_uint24()
        _check_length_size(length_size)
        raise AssertionError("unreachable")

    def pull_opaque(self, length_size: int) -> bytes:
        """An opaque vector `<0..2^(8*length_size)-1>`: its length prefix, then that many bytes."""
        start = pos = self._pos
        d = self._data
        # The prefix read inline for the common sizes (the codec's most frequent call).
        if length_size == 2 and pos + 2 <= self._end:
            length = d[pos] << 8 | d[pos + 1]
            pos += 2
        elif length_size == 1 and pos < self._end:
            length = d[pos]
            pos += 1
        else:
            length = self._pull_length(length_size)
            pos = self._pos
        self._pos = pos
        end = pos + length
        if end > self._end:
            raise DecodeError(f"vector at offset {start} announces {length} bytes, only {self._end - pos} left")
        self._pos = end
        return self._data[pos:end]

    def pull_block(self, length_size: int) -> _PullBlock:
        """Context manager over a length-prefixed block; yields the block length."""
        return _PullBlock(self, length_size)

    def pull_typed_blocks(self, parsers: Mapping[int, Callable[["Buffer", int], T]],
                          make_unknown: Callable[[int, bytes], T]) -> tuple[T, ...]:
        """A uint16-length block of entries of a uint16 type and a uint16-length body (an extension
        block), parsed in one call: for each entry, `parsers[type](self, body length)` with reads
        limited to the body, which it must read to its end, or `make_unknown(type, body)` for a type
        without a parser. The errors are those of pull_block(2) around pull_uint16() and
        pull_block(2) per entry; the decoder's innermost loop, hence one call and no generator."""
        d = self._data
        pos = self._pos
        outer_end = self._end
        if pos + 2 > outer_end:
            raise _short_read(pos, 2, outer_end, "uint16")
        pos += 2
        block_end = pos + (d[pos - 2] << 8 | d[pos - 1])
        if block_end > outer_end:
            raise DecodeError(f"vector at offset {pos - 2} announces {block_end - pos} bytes, "
                              f"only {outer_end - pos} left")
        self._pos = pos
        if pos == block_end:
            return ()                  # most Certificate entries, many EncryptedExtensions: no walk at all
        entries = []
        append = entries.append
        get_parser = parsers.get
        try:
            while pos < block_end:
                if pos + 4 > block_end:        # the type, then the length: as two pull_uint16() would say
                    raise _short_read(pos if pos + 2 > block_end else pos + 2, 2, block_end, "uint16")
                entry_type, length = _unpack_uint16_pair_from(d, pos)
                pos += 4
                body_end = pos + length
                if body_end > block_end:
                    raise DecodeError(f"vector at offset {pos - 2} announces {length} bytes, "
                                      f"only {block_end - pos} left")
                parser = get_parser(entry_type)
                if parser is None:
                    append(make_unknown(entry_type, d[pos:body_end]))
                    self._pos = pos = body_end
                    continue
                self._pos = pos
                self._end = body_end
                append(parser(self, length))
                pos = self._pos
                if pos != body_end:
                    raise DecodeError(f"vector ending at offset {body_end} has {body_end - pos} unread bytes")
        finally:
            self._end = outer_end
        return tuple(entries)

    def peek_typed_block(self, entry_type: int) -> bytes | None:
        """The body of the first `entry_type` entry in the uint16-length block of typed entries at the
        read position (see pull_typed_blocks), without reading anything. None when there is none, or when
        the block is malformed (reading it for real reports that). A raw scan: no calls per entry."""
        d = self._data
        pos = self._pos
        end = self._end
        if pos + 2 > end:
            return None
        block_end = pos + 2 + (d[pos] << 8 | d[pos + 1])
        if block_end > end:
            return None
        pos += 2
        found = None
        while pos < block_end:
            if pos + 4 > block_end:
                return None
            body_end = pos + 4 + (d[pos + 2] << 8 | d[pos + 3])
            if body_end > block_end:
                return None
            if found is None and (d[pos] << 8 | d[pos + 1]) == entry_type:
                found = d[pos + 4:body_end]
            pos = body_end
        return found

    def pull_list(self, length_size: int, pull_item: Callable[["Buffer"], T]) -> list[T]:
        """Items pulled one after the other until the length-prefixed block is used up."""
        start = self._pos
        length = self._pull_length(length_size)
        block_end = self._pos + length
        outer_end = self._end
        if block_end > outer_end:
            raise DecodeError(f"list at offset {start} announces {length} bytes, only {outer_end - self._pos} left")
        self._end = block_end
        items = []
        try:
            while self._pos < block_end:
                items.append(pull_item(self))
        finally:
            self._end = outer_end
        return items

    def pull_uint8_tuple(self, length_size: int) -> tuple[int, ...]:
        """A length-prefixed vector of uint8 values (point formats, PSK modes)."""
        return tuple(self.pull_opaque(length_size))

    def pull_uint16_tuple(self, length_size: int) -> tuple[int, ...]:
        """A length-prefixed vector of uint16 values (cipher suites, groups, schemes), in one unpack."""
        start = self._pos
        raw = self.pull_opaque(length_size)
        if len(raw) & 1:
            raise DecodeError(f"list of uint16 at offset {start} has an odd length {len(raw)}")
        return (_UINT16_STRUCTS.get(len(raw) >> 1) or _uint16_struct(len(raw) >> 1)).unpack(raw)

    # ----- push ------------------------------------------------------------------

    def push_uint8(self, v: int) -> None:
        try:
            self._out.append(v)
        except ValueError:
            raise UsageError(f"{v!r} does not fit uint8") from None

    def push_uint16(self, v: int) -> None:
        try:
            self._out += v.to_bytes(2, "big")
        except OverflowError:
            raise UsageError(f"{v!r} does not fit uint16") from None

    def push_uint24(self, v: int) -> None:
        try:
            self._out += v.to_bytes(3, "big")
        except OverflowError:
            raise UsageError(f"{v!r} does not fit uint24") from None

    def push_uint32(self, v: int) -> None:
        try:
            self._out += v.to_bytes(4, "big")
        except OverflowError:
            raise UsageError(f"{v!r} does not fit uint32") from None

    def push_bytes(self, b: bytes) -> None:
        self._out += b

    def push_opaque(self, length_size: int, b: bytes) -> None:
        if length_size not in _LENGTH_SIZES:
            _check_length_size(length_size)
        n = len(b)
        if n > _MAX_FOR_SIZE[length_size]:
            raise UsageError(f"vector of {n} bytes does not fit a {length_size}-byte length prefix")
        out = self._out
        out += n.to_bytes(length_size, "big")
        out += b

    def push_block(self, length_size: int) -> _PushBlock:
        """Context manager: what is pushed inside gets a `length_size`-byte length prefix."""
        _check_length_size(length_size)
        return _PushBlock(self, length_size)

    def reserve_length(self, length_size: int) -> int:
        """push_block() without the context manager: reserves a length prefix and returns its
        position, for fill_length() once the block's content is pushed."""
        if length_size not in _LENGTH_SIZES:
            _check_length_size(length_size)
        out = self._out
        start = len(out)
        out += _ZEROS[length_size]
        return start

    def fill_length(self, start: int, length_size: int) -> None:
        """Back-fill the prefix reserved at `start` with the length of what followed it."""
        out = self._out
        length = len(out) - start - length_size
        if length > _MAX_FOR_SIZE[length_size]:
            raise UsageError(f"vector of {length} bytes does not fit a {length_size}-byte length prefix")
        if length_size == 2 and length >= 0:
            _pack_uint16_into(out, start, length)
        elif length_size == 3 and length >= 0:          # a Certificate's list
            out[start] = length >> 16
            _pack_uint16_into(out, start + 1, length & 0xFFFF)
        else:
            out[start:start + length_size] = length.to_bytes(length_size, "big")

    def push_typed_block(self, entry_type: int, push_content: Callable[["Buffer"], None]) -> None:
        """A uint16 type, then a uint16-length block of what `push_content(self)` pushes (an extension):
        push_uint16 + reserve_length + fill_length in one call."""
        out = self._out
        start = len(out)
        try:
            out += entry_type.to_bytes(2, "big")
        except OverflowError:
            raise UsageError(f"{entry_type!r} does not fit uint16") from None
        out += b"\x00\x00"
        push_content(self)
        length = len(out) - start - 4
        if length > 0xFFFF:
            raise UsageError(f"vector of {length} bytes does not fit a 2-byte length prefix")
        _pack_uint16_into(out, start + 2, length)

    def push_typed_blocks(self, entries: Iterable) -> None:
        """A uint16-length block of typed entries (an extension block) in one call: for each entry, its
        uint16 type, then a uint16-length block of what `entry.push_body(self)` pushes. The type is the
        class constant `entry.TYPE` (trusted to fit), or where that is None the entry's own `type`
        (checked as push_uint16 would). The bytes and errors of reserve_length, push_typed_block per
        entry and fill_length; the encoder's innermost loop, hence one call, and an entry's type and
        length written by one pack once its body is known."""
        out = self._out
        block_start = len(out)
        out += b"\x00\x00"
        for entry in entries:
            entry_type = entry.TYPE
            if entry_type is None:
                entry_type = entry.type
                try:
                    entry_type.to_bytes(2, "big")
                except OverflowError:
                    raise UsageError(f"{entry_type!r} does not fit uint16") from None
            start = len(out)
            out += b"\x00\x00\x00\x00"
            entry.push_body(self)
            length = len(out) - start - 4
            if length > 0xFFFF:
                raise UsageError(f"vector of {length} bytes does not fit a 2-byte length prefix")
            _pack_uint16_pair_into(out, start, entry_type, length)
        length = len(out) - block_start - 2
        if length > 0xFFFF:
            raise UsageError(f"vector of {length} bytes does not fit a 2-byte length prefix")
        _pack_uint16_into(out, block_start, length)

    def prefixed_data(self, prefix: bytes) -> bytes:
        """`prefix` followed by the bytes pushed so far, in one copy (a message behind its header)."""
        return prefix + self._out

    def push_list(self, length_size: int, push_item: Callable[["Buffer", T], None], items: Iterable[T]) -> None:
        with self.push_block(length_size):
            for item in items:
                push_item(self, item)

    def push_uint8_tuple(self, length_size: int, values: Iterable[int]) -> None:
        try:
            self.push_opaque(length_size, bytes(values))
        except ValueError:
            raise UsageError(f"{values!r} are not all uint8") from None

    def push_uint16_tuple(self, length_size: int, values: tuple[int, ...] | list[int]) -> None:
        try:
            packer = _UINT16_STRUCTS.get(len(values)) or _uint16_struct(len(values))
            self.push_opaque(length_size, packer.pack(*values))
        except struct.error:
            raise UsageError(f"{values!r} are not all uint16") from None
