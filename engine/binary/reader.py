"""A cursor over binary-format bytes: LEB128 integers, floats, names, value types.

The cursor has a limit (the end of the current section or body); reading past it
raises :class:`DecodeError` with the spec interpreter's wording ("unexpected end"
at the end of the module, "unexpected end of section or function" inside one).
"""
from __future__ import annotations

from ..errors import DecodeError, UnsupportedFeature
from ..syntax.types import HeapType, RefType, ValType
from .codes import GC_HEAP_CODES, HEAP_TYPES, NUM_TYPES, REF_NULL_PREFIX, REF_PREFIX, V128_CODE

_REFS = {(n, h): RefType(n, h) for h in HeapType for n in (True, False)}


class Reader:
    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def error(self, message: str, at: int | None = None) -> DecodeError:
        return DecodeError(message, self.pos if at is None else at)

    def eof(self) -> DecodeError:
        if self.end >= len(self.data):
            return DecodeError("unexpected end", self.pos)
        return DecodeError("unexpected end of section or function", self.pos)

    def at_end(self) -> bool:
        return self.pos >= self.end

    def byte(self) -> int:
        pos = self.pos
        if pos >= self.end:
            raise self.eof()
        self.pos = pos + 1
        return self.data[pos]

    def peek(self) -> int:
        if self.pos >= self.end:
            raise self.eof()
        return self.data[self.pos]

    def bytes(self, n: int) -> bytes:
        pos = self.pos
        if n > self.end - pos:
            if self.end < len(self.data):
                raise DecodeError("unexpected end of section or function", pos)
            raise DecodeError("unexpected end", pos)
        self.pos = pos + n
        return self.data[pos:pos + n]

    def u32(self) -> int:
        data, pos = self.data, self.pos
        if pos < self.end and data[pos] < 0x80:
            self.pos = pos + 1
            return data[pos]
        return self.uleb(32)

    def uleb(self, bits: int) -> int:
        result = shift = 0
        last = (bits - 1) // 7
        for i in range(last + 1):
            b = self.byte()
            result |= (b & 0x7F) << shift
            if i == last:
                if b & 0x80:
                    raise self.error("integer representation too long", self.pos - 1)
                if b >> (bits - 7 * i):
                    raise self.error("integer too large", self.pos - 1)
                return result
            if not b & 0x80:
                return result
            shift += 7
        raise AssertionError("unreachable")

    def sleb(self, bits: int) -> int:
        """A signed LEB128 integer of at most ``bits`` bits, as a Python int."""
        result = shift = 0
        last = (bits - 1) // 7
        for i in range(last + 1):
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if i == last:
                if b & 0x80:
                    raise self.error("integer representation too long", self.pos - 1)
                used = bits - 7 * i           # payload bits of this byte that count
                rest = (b & 0x7F) >> (used - 1)  # the sign bit and the unused bits above it
                if rest not in (0, (1 << (8 - used)) - 1):
                    raise self.error("integer too large", self.pos - 1)
                break
            if not b & 0x80:
                break
        if result >> (shift - 1) & 1:
            result -= 1 << shift
        # Wrap to the declared width (the last byte may carry sign-extension bits).
        result &= (1 << bits) - 1
        return result - (1 << bits) if result >> (bits - 1) else result

    def name(self) -> str:
        n = self.u32()
        start = self.pos
        if n > self.end - start:
            raise self.error("length out of bounds")
        raw = self.bytes(n)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("malformed UTF-8 encoding", start) from None

    def vec_len(self) -> int:
        """A vector length; each element takes at least one byte, so longer is malformed."""
        n = self.u32()
        if n > self.end - self.pos:
            raise self.eof()
        return n

    def heap_type(self) -> HeapType:
        at = self.pos
        b = self.byte()
        heap = HEAP_TYPES.get(b)
        if heap is None:
            if b in GC_HEAP_CODES:
                raise UnsupportedFeature(
                    f"unsupported feature: gc (heap type {GC_HEAP_CODES[b]})", at)
            self.pos = at
            index = self.sleb(33)
            if index >= 0:
                raise UnsupportedFeature(
                    "unsupported feature: function references (indexed reference type)", at)
            raise DecodeError("malformed reference type", at)
        if heap in (HeapType.NOFUNC, HeapType.NOEXTERN):
            raise UnsupportedFeature(f"unsupported feature: gc (heap type {heap.value})", at)
        return heap

    def ref_type(self) -> RefType:
        at = self.pos
        b = self.peek()
        if b == REF_NULL_PREFIX or b == REF_PREFIX:
            self.pos += 1
            nullable = b == REF_NULL_PREFIX
            heap = self.heap_type()
            if not nullable and heap in (HeapType.FUNC, HeapType.EXTERN):
                raise UnsupportedFeature(
                    "unsupported feature: function references (non-nullable type)", at)
            return _REFS[nullable, heap]
        if b in HEAP_TYPES or b in GC_HEAP_CODES:
            return _REFS[True, self.heap_type()]
        raise DecodeError("malformed reference type", at)

    def val_type(self) -> ValType:
        b = self.peek()
        t = NUM_TYPES.get(b)
        if t is not None:
            self.pos += 1
            return t
        if b == V128_CODE:
            raise UnsupportedFeature("unsupported feature: SIMD (v128)", self.pos)
        if b in HEAP_TYPES or b in GC_HEAP_CODES or b in (REF_NULL_PREFIX, REF_PREFIX):
            return self.ref_type()
        raise DecodeError("malformed value type", self.pos)
