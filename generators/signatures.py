"""Value types and signatures: of functions, host functions, tags and blocks.

Most signatures are small, as in real code, but a regular share has a *long tail*:
4 to 24 parameters or results -- past the registers every target passes them in
(x86-64 runs out after 5-6 integers, aarch64 after 7-8, s390x after 4-5; fewer for
results) -- often all of one register class, so that one class overflows while the
other does not.  That is where calling-convention bugs live
(``../shared/bug-classes.md``, classes 1-3 and 10).
"""
from __future__ import annotations

from engine.syntax.types import EXNREF, EXTERNREF, F32, F64, FUNCREF, I32, I64, ValType
from oracles.outcome import Num

from .choices import Choices

NUM = (I32, I64, F32, F64)
INT_CLASS = (I32, I64, FUNCREF, EXTERNREF, EXNREF)
"""Values passed in integer registers (references are pointers)."""
FLOAT_CLASS = (F32, F64)
TYPE_NAMES = {I32: "i32", I64: "i64", F32: "f32", F64: "f64",
              FUNCREF: "funcref", EXTERNREF: "externref", EXNREF: "exnref"}
LONG_COUNTS = (4, 5, 6, 7, 8, 9, 10, 12, 16, 24)
"""Counts of a long-tail signature: each count where some target runs out of
registers, and beyond."""
LONG = 12
"""Percent of signatures with a long tail."""

CONSTS = {
    I32: (0, 1, -1, 2, 7, 0x7FFF_FFFF, -0x8000_0000, 255, 65536),
    I64: (0, 1, -1, 3, 0x7FFF_FFFF_FFFF_FFFF, -0x8000_0000_0000_0000, 1 << 32),
    F32: (0, 0x3F80_0000, 0x8000_0000, 0x7FC0_0000, 0x7FA0_0001, 0xFF80_0000, 0x4F00_0000, 0xCF00_0001),
    F64: (0, 0x3FF0_0000_0000_0000, 0x8000_0000_0000_0000, 0x7FF8_0000_0000_0000, 0x7FF4_0000_0000_0001,
          0xFFF0_0000_0000_0000, 0x41E0_0000_0000_0000, 0xC3E0_0000_0000_0001),
}


def value_type(ch: Choices) -> ValType:
    return ch.weighted([(6, I32), (3, I64), (2, F32), (2, F64), (3, EXNREF), (1, FUNCREF), (1, EXTERNREF)])


def types(ch: Choices, most: int) -> tuple[ValType, ...]:
    """0 to ``most`` value types."""
    return tuple(value_type(ch) for _ in range(ch.int(0, most)))


def long_types(ch: Choices) -> tuple[ValType, ...]:
    """A long tail: :data:`LONG_COUNTS` values, all integers and references, all
    floats, or mixed."""
    count = ch.choice(LONG_COUNTS)
    kind = ch.int(0, 2)
    if kind == 0:
        return tuple(ch.weighted([(4, I32), (3, I64), (2, EXNREF), (1, FUNCREF), (1, EXTERNREF)]) for _ in range(count))
    if kind == 1:
        return tuple(ch.choice(FLOAT_CLASS) for _ in range(count))
    return tuple(value_type(ch) for _ in range(count))


def maybe_long(ch: Choices, most: int) -> tuple[ValType, ...]:
    """Mostly 0 to ``most`` types; :data:`LONG` percent of the time a long tail."""
    return long_types(ch) if ch.chance(LONG) else types(ch, most)


def payload(ch: Choices) -> tuple[ValType, ...]:
    """A tag's payload: 0-4 values, often all of one type (as in ``(param i32 i32)``),
    and sometimes a long tail."""
    if ch.chance(LONG):
        return long_types(ch)
    if ch.chance(40):
        return (value_type(ch),) * ch.int(2, 4)
    return types(ch, 4)


def literal(ch: Choices, t: ValType) -> str:
    """A value literal of type ``t`` for plans and invocations."""
    if t in NUM:
        bits = ch.choice(CONSTS[t]) if ch.chance(70) else ch.int(0, 1000)
        return str(Num(TYPE_NAMES[t], bits))
    if t == EXTERNREF and ch.chance(50):
        return "externref:ref"
    return f"{TYPE_NAMES[t]}:null"


def names(ts: tuple[ValType, ...]) -> tuple[str, ...]:
    return tuple(TYPE_NAMES[t] for t in ts)


_BY_NAME = {name: t for t, name in TYPE_NAMES.items()}


def types_of(type_names: tuple[str, ...]) -> tuple[ValType, ...]:
    return tuple(_BY_NAME[n] for n in type_names)


def shape_features(what: str, params: tuple[ValType, ...], results: tuple[ValType, ...]) -> list[str]:
    """Coverage-report names for a signature's long tail (``what``: function, host
    function, tag, block)."""
    out = []
    ints = sum(t in INT_CLASS for t in params)
    floats = len(params) - ints
    if ints >= 5 or floats >= 5:      # past s390x's registers, the fewest of any target
        out.append(f"{what} with parameters beyond the registers")
    if len(params) >= 12:
        out.append(f"{what} with 12+ parameters")
    if results:
        rints = sum(t in INT_CLASS for t in results)
        if rints >= 3 or len(results) - rints >= 4:      # past x86-64's
            out.append(f"{what} with results beyond the registers")
        if len(results) >= 12:
            out.append(f"{what} with 12+ results")
    return out
