"""Matching what an action produced against what a script expects.

Results are compared as raw slots (exact bits; an ``f32`` or ``i32`` zero-extended),
as the reference interpreter compares values: NaN patterns by their bits,
``(ref.null ...)`` as any null, ``(ref.extern n)`` as that very host reference,
``(ref.func)`` / ``(ref.extern)`` as any non-null reference of that kind.  An expected
trap message matches when it occurs in one of the trap's wordings -- the spec
interpreter's or wasmtime's -- as wasmtime's runner checks them (``run.ml`` checks a
prefix, which an occurrence covers).
"""
from __future__ import annotations

import re
from collections.abc import Callable

from ..errors import TrapCode
from ..syntax.types import F32, F64, I32, HeapType, NumType, RefType, ValType
from .values import Either, NanPattern, Num, RefExtern, RefNull, RefPattern, Result

_CANONICAL_NAN = {F32: 0x7FC0_0000, F64: 0x7FF8_0000_0000_0000}
_SIGN = {F32: 1 << 31, F64: 1 << 63}

TRAP_ALIASES = {TrapCode.TABLE_OUT_OF_BOUNDS: ("undefined element",)}
"""Other spec-interpreter wordings of a trap code.  The interpreter says "undefined
element" when ``call_indirect``'s index is past the table and "out of bounds table
access" for the table instructions; wasmtime, and so :class:`TrapCode`, has one code
for both."""

WASMTIME_WORDING = {
    TrapCode.STACK_OVERFLOW: "call stack exhausted",
    TrapCode.MEMORY_OUT_OF_BOUNDS: "out of bounds memory access",
    TrapCode.HEAP_MISALIGNED: "unaligned atomic",
    TrapCode.TABLE_OUT_OF_BOUNDS: "undefined element: out of bounds table access",
    TrapCode.INDIRECT_CALL_TO_NULL: "uninitialized element",
    TrapCode.BAD_SIGNATURE: "indirect call type mismatch",
    TrapCode.INTEGER_OVERFLOW: "integer overflow",
    TrapCode.INTEGER_DIVISION_BY_ZERO: "integer divide by zero",
    TrapCode.BAD_CONVERSION_TO_INTEGER: "invalid conversion to integer",
    TrapCode.UNREACHABLE: "wasm `unreachable` instruction executed",
    TrapCode.INTERRUPT: "interrupt",
    TrapCode.OUT_OF_FUEL: "all fuel consumed by WebAssembly",
    TrapCode.NULL_REFERENCE: "null reference",
    TrapCode.ALLOCATION_TOO_LARGE: "allocation size too large",
    TrapCode.UNHANDLED_TAG: "unhandled tag",
}
"""How wasmtime words each trap (its ``Trap`` display, which it prefixes with "wasm
trap: "); scripts written for wasmtime's runner expect a part of it."""

HostIndex = Callable[[int], int | None]
"""The ``n`` of the ``(ref.extern n)`` an externref slot holds, or None."""


def result_mismatch(expected: tuple[Result, ...], types: tuple[ValType, ...], slots: list[int],
                    host_index: HostIndex) -> str | None:
    """Why ``slots`` (of ``types``) do not match ``expected``; None when they do."""
    if len(slots) != len(expected):
        return f"expected {len(expected)} results, got {len(slots)}: {show_all(types, slots)}"
    for i, (want, t, slot) in enumerate(zip(expected, types, slots)):
        if not matches(want, t, slot, host_index):
            return f"result {i}: expected {show_result(want)}, got {show_all(types, slots)}"
    return None


def matches(expected: Result, t: ValType, slot: int, host_index: HostIndex) -> bool:
    """Whether the result ``slot`` of type ``t`` is one ``expected`` allows."""
    if isinstance(expected, Either):
        return any(matches(e, t, slot, host_index) for e in expected.alternatives)
    if isinstance(expected, Num):
        return t == expected.type and slot == expected.bits
    if isinstance(expected, NanPattern):
        return t == expected.type and _is_nan(expected, slot)
    if not isinstance(t, RefType):
        return False
    if isinstance(expected, RefNull):
        return slot == 0
    if isinstance(expected, RefExtern):
        return slot != 0 and t.heap.top is HeapType.EXTERN and host_index(slot) == expected.index
    assert isinstance(expected, RefPattern)
    if expected.kind == "null":
        return slot == 0
    return slot != 0 and t.heap.top.value == expected.kind


def _is_nan(pattern: NanPattern, slot: int) -> bool:
    """Whether ``slot`` is a NaN of the pattern's kind (either sign)."""
    t = pattern.type
    if slot >> (32 if t == F32 else 64):
        return False  # not a zero-extended value
    magnitude = slot & ~_SIGN[t]
    if pattern.kind == "canonical":
        return magnitude == _CANONICAL_NAN[t]
    # Arithmetic NaNs: all exponent bits and the quiet bit set, any other payload bits.
    return magnitude & _CANONICAL_NAN[t] == _CANONICAL_NAN[t]


_OPERAND = re.compile(r" [0-9]+$")


def trap_matches(code: TrapCode | None, expected: str) -> bool:
    """Whether a trap of ``code`` is the one a script expects by ``expected``: the
    expected message occurs in one of the trap's wordings.  The interpreter may append
    the faulting operand ("uninitialized element 2"), which a trap code does not carry;
    the wording before it must match."""
    if code is None:
        return False
    expected = _OPERAND.sub("", expected)
    wordings = [code.message, *TRAP_ALIASES.get(code, ())]
    if code in WASMTIME_WORDING:
        wordings.append(f"wasm trap: {WASMTIME_WORDING[code]}")
    return any(expected in wording for wording in wordings)


def show(t: ValType, slot: int) -> str:
    if isinstance(t, NumType):
        digits = 8 if t in (I32, F32) else 16
        return f"({t}.const bits 0x{slot:0{digits}x})"
    return f"({t} {'null' if slot == 0 else hex(slot)})"


def show_all(types: tuple[ValType, ...], slots: list[int]) -> str:
    return " ".join(show(t, s) for t, s in zip(types, slots)) or "nothing"


def show_result(expected: Result) -> str:
    if isinstance(expected, Num):
        return show(expected.type, expected.bits)
    if isinstance(expected, NanPattern):
        return f"({expected.type}.const nan:{expected.kind})"
    if isinstance(expected, Either):
        return f"(either {' '.join(show_result(e) for e in expected.alternatives)})"
    if isinstance(expected, RefNull):
        return f"(ref.null {expected.heap})"
    if isinstance(expected, RefExtern):
        return f"(ref.extern {expected.index})"
    return f"(ref.{expected.kind})"
