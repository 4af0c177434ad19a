"""Instructions (spec section 2.4) as a flat sequence, and the one opcode table.

A function body is a flat list of :class:`Instr`, exactly as in the binary format:
``block``/``loop``/``if``/``try_table`` open a structured instruction, ``else`` splits
an ``if``, ``end`` closes one.  The implicit ``end`` closing a body or a constant
expression is *not* stored.

``OPS`` maps every supported instruction name (the spec's text name) to an
:class:`OpInfo` giving its binary opcode, the kind of its immediates and, for
instructions with a fixed type, its signature.  Decoder, encoder, printer and
validator are all driven by this one table.

Immediates (``Instr.imm``) by :class:`Imm` kind:

==============  ==========================================================
``NONE``        ``()``
``BLOCK``       ``(blocktype,)`` -- ``None``, a value type, or a type index
``LABEL``       ``(labelidx,)``
``BR_TABLE``    ``(labels: tuple[int, ...], default: int)``
``FUNC``        ``(funcidx,)``
``CALL_INDIRECT`` ``(typeidx, tableidx)``
``LOCAL``/``GLOBAL``/``TABLE``/``TAG``/``ELEM``/``DATA``/``MEM`` ``(index,)``
``MEMARG``      ``(MemArg,)``
``I32``/``I64`` ``(signed value,)``
``F32``/``F64`` ``(raw IEEE bits as unsigned int,)`` -- keeps NaN payloads exact
``HEAP``        ``(HeapType,)``
``SELECT_T``    ``(tuple of value types,)`` -- typed ``select``; plain ``select`` has ``()``
``TRY_TABLE``   ``(blocktype, tuple[Catch, ...])``
``TWO``         ``(index, index)`` -- memory.init (data, mem), table.init (elem,
                table), table.copy (dst, src), memory.copy (dst, src)
==============  ==========================================================
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Union

from .types import F32, F64, I32, I64, NumType, ValType


class Imm(enum.Enum):
    NONE = 0
    BLOCK = 1
    LABEL = 2
    BR_TABLE = 3
    FUNC = 4
    CALL_INDIRECT = 5
    LOCAL = 6
    GLOBAL = 7
    TABLE = 8
    MEMARG = 9
    MEM = 10
    I32 = 11
    I64 = 12
    F32 = 13
    F64 = 14
    HEAP = 15
    SELECT_T = 16
    TRY_TABLE = 17
    TAG = 18
    ELEM = 19
    DATA = 20
    TWO = 21


@dataclass(frozen=True, slots=True)
class MemArg:
    align: int   # log2 of the alignment hint
    offset: int


class CatchKind(enum.IntEnum):
    CATCH = 0
    CATCH_REF = 1
    CATCH_ALL = 2
    CATCH_ALL_REF = 3

    @property
    def text(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Catch:
    """One ``try_table`` clause; ``tag`` is ``None`` for the ``catch_all`` kinds."""

    kind: CatchKind
    tag: int | None
    label: int


BlockType = Union[None, ValType, int]


@dataclass(slots=True)
class Instr:
    op: str
    imm: tuple[Any, ...] = ()

    def __repr__(self) -> str:
        return f"{self.op}{''.join(' ' + repr(a) for a in self.imm)}"


@dataclass(frozen=True, slots=True)
class OpInfo:
    name: str
    code: tuple[int, ...]          # (byte,) or (prefix, sub)
    imm: Imm
    sig: tuple[tuple[ValType, ...], tuple[ValType, ...]] | None = None
    natural_align: int | None = None  # log2 bytes, for memory accesses


OPS: dict[str, OpInfo] = {}
BY_CODE: dict[tuple[int, ...], OpInfo] = {}


def _op(name: str, code: tuple[int, ...], imm: Imm = Imm.NONE,
        sig: tuple[tuple[ValType, ...], tuple[ValType, ...]] | None = None,
        natural_align: int | None = None) -> None:
    info = OpInfo(name, code, imm, sig, natural_align)
    OPS[name] = info
    BY_CODE[code] = info


# Control, parametric, variable, table and reference instructions.
for _name, _code, _imm in [
    ("unreachable", 0x00, Imm.NONE), ("nop", 0x01, Imm.NONE),
    ("block", 0x02, Imm.BLOCK), ("loop", 0x03, Imm.BLOCK), ("if", 0x04, Imm.BLOCK),
    ("else", 0x05, Imm.NONE), ("throw", 0x08, Imm.TAG), ("throw_ref", 0x0A, Imm.NONE),
    ("end", 0x0B, Imm.NONE), ("br", 0x0C, Imm.LABEL), ("br_if", 0x0D, Imm.LABEL),
    ("br_table", 0x0E, Imm.BR_TABLE), ("return", 0x0F, Imm.NONE),
    ("call", 0x10, Imm.FUNC), ("call_indirect", 0x11, Imm.CALL_INDIRECT),
    ("return_call", 0x12, Imm.FUNC), ("return_call_indirect", 0x13, Imm.CALL_INDIRECT),
    ("try_table", 0x1F, Imm.TRY_TABLE),
    ("drop", 0x1A, Imm.NONE), ("select", 0x1B, Imm.NONE),
    ("local.get", 0x20, Imm.LOCAL), ("local.set", 0x21, Imm.LOCAL),
    ("local.tee", 0x22, Imm.LOCAL), ("global.get", 0x23, Imm.GLOBAL),
    ("global.set", 0x24, Imm.GLOBAL), ("table.get", 0x25, Imm.TABLE),
    ("table.set", 0x26, Imm.TABLE),
    ("memory.size", 0x3F, Imm.MEM), ("memory.grow", 0x40, Imm.MEM),
    ("i32.const", 0x41, Imm.I32), ("i64.const", 0x42, Imm.I64),
    ("f32.const", 0x43, Imm.F32), ("f64.const", 0x44, Imm.F64),
    ("ref.null", 0xD0, Imm.HEAP), ("ref.is_null", 0xD1, Imm.NONE),
    ("ref.func", 0xD2, Imm.FUNC),
]:
    _op(_name, (_code,), _imm)

# Typed ``select`` (0x1C) shares the name ``select``; its immediate is the type list.
BY_CODE[(0x1C,)] = OpInfo("select", (0x1C,), Imm.SELECT_T)

# Loads and stores: (name, opcode, value type, natural alignment).
for _name, _code, _t, _align in [
    ("i32.load", 0x28, I32, 2), ("i64.load", 0x29, I64, 3), ("f32.load", 0x2A, F32, 2),
    ("f64.load", 0x2B, F64, 3), ("i32.load8_s", 0x2C, I32, 0), ("i32.load8_u", 0x2D, I32, 0),
    ("i32.load16_s", 0x2E, I32, 1), ("i32.load16_u", 0x2F, I32, 1),
    ("i64.load8_s", 0x30, I64, 0), ("i64.load8_u", 0x31, I64, 0),
    ("i64.load16_s", 0x32, I64, 1), ("i64.load16_u", 0x33, I64, 1),
    ("i64.load32_s", 0x34, I64, 2), ("i64.load32_u", 0x35, I64, 2),
]:
    _op(_name, (_code,), Imm.MEMARG, ((I32,), (_t,)), _align)
for _name, _code, _t, _align in [
    ("i32.store", 0x36, I32, 2), ("i64.store", 0x37, I64, 3), ("f32.store", 0x38, F32, 2),
    ("f64.store", 0x39, F64, 3), ("i32.store8", 0x3A, I32, 0), ("i32.store16", 0x3B, I32, 1),
    ("i64.store8", 0x3C, I64, 0), ("i64.store16", 0x3D, I64, 1), ("i64.store32", 0x3E, I64, 2),
]:
    _op(_name, (_code,), Imm.MEMARG, ((I32, _t), ()), _align)


def _numeric(start: int, t: NumType, kind: str, names: str) -> None:
    """Register a run of consecutive numeric opcodes of one shape."""
    shapes = {"test": ((t,), (I32,)), "rel": ((t, t), (I32,)),
              "un": ((t,), (t,)), "bin": ((t, t), (t,))}
    for i, n in enumerate(names.split()):
        _op(f"{t.value}.{n}", (start + i,), Imm.NONE, shapes[kind])


_numeric(0x45, I32, "test", "eqz")
_numeric(0x46, I32, "rel", "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u")
_numeric(0x50, I64, "test", "eqz")
_numeric(0x51, I64, "rel", "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u")
_numeric(0x5B, F32, "rel", "eq ne lt gt le ge")
_numeric(0x61, F64, "rel", "eq ne lt gt le ge")
_numeric(0x67, I32, "un", "clz ctz popcnt")
_numeric(0x6A, I32, "bin", "add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr")
_numeric(0x79, I64, "un", "clz ctz popcnt")
_numeric(0x7C, I64, "bin", "add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr")
_numeric(0x8B, F32, "un", "abs neg ceil floor trunc nearest sqrt")
_numeric(0x92, F32, "bin", "add sub mul div min max copysign")
_numeric(0x99, F64, "un", "abs neg ceil floor trunc nearest sqrt")
_numeric(0xA0, F64, "bin", "add sub mul div min max copysign")
_numeric(0xC0, I32, "un", "extend8_s extend16_s")
_numeric(0xC2, I64, "un", "extend8_s extend16_s extend32_s")

_T = {"i32": I32, "i64": I64, "f32": F32, "f64": F64}


def _source_type(name: str) -> str:
    """The operand type of a conversion: ``i64.trunc_sat_f32_u`` -> ``f32``."""
    return next(part for part in name.split(".")[1].split("_") if part in _T)


for _i, _name in enumerate(
        "i32.wrap_i64 i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u "
        "i64.extend_i32_s i64.extend_i32_u i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s "
        "i64.trunc_f64_u f32.convert_i32_s f32.convert_i32_u f32.convert_i64_s "
        "f32.convert_i64_u f32.demote_f64 f64.convert_i32_s f64.convert_i32_u "
        "f64.convert_i64_s f64.convert_i64_u f64.promote_f32 i32.reinterpret_f32 "
        "i64.reinterpret_f64 f32.reinterpret_i32 f64.reinterpret_i64".split()):
    _op(_name, (0xA7 + _i,), Imm.NONE, ((_T[_source_type(_name)],), (_T[_name[:3]],)))
for _i, _name in enumerate(
        "i32.trunc_sat_f32_s i32.trunc_sat_f32_u i32.trunc_sat_f64_s i32.trunc_sat_f64_u "
        "i64.trunc_sat_f32_s i64.trunc_sat_f32_u i64.trunc_sat_f64_s i64.trunc_sat_f64_u".split()):
    _op(_name, (0xFC, _i), Imm.NONE, ((_T[_source_type(_name)],), (_T[_name[:3]],)))

for _name, _sub, _imm in [
    ("memory.init", 8, Imm.TWO), ("data.drop", 9, Imm.DATA), ("memory.copy", 10, Imm.TWO),
    ("memory.fill", 11, Imm.MEM), ("table.init", 12, Imm.TWO), ("elem.drop", 13, Imm.ELEM),
    ("table.copy", 14, Imm.TWO), ("table.grow", 15, Imm.TABLE), ("table.size", 16, Imm.TABLE),
    ("table.fill", 17, Imm.TABLE),
]:
    _op(_name, (0xFC, _sub), _imm)

# Opcodes of proposals this engine does not implement, named for the error message.
UNSUPPORTED_OPCODES: dict[int, str] = {
    0x06: "legacy exceptions (try)", 0x07: "legacy exceptions (catch)",
    0x09: "legacy exceptions (rethrow)", 0x18: "legacy exceptions (delegate)",
    0x19: "legacy exceptions (catch_all)", 0x14: "function references (call_ref)",
    0x15: "function references (return_call_ref)", 0xD3: "gc (ref.eq)",
    0xD4: "function references (ref.as_non_null)", 0xD5: "function references (br_on_null)",
    0xD6: "function references (br_on_non_null)", 0xFB: "gc", 0xFD: "SIMD", 0xFE: "threads",
}
