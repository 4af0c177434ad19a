"""Lowering of the numeric instructions (spec section 4.3.2-4.3.4) to LLVM IR.

Every instruction of :data:`~engine.syntax.instructions.OPS` with a fixed signature
and no memory operand -- tests, comparisons, unary and binary operators, conversions,
sign extensions and saturating truncations -- is lowered by :func:`lower_numeric`;
``t.const`` by :func:`lower_const`.

Where Wasm defines a result that LLVM leaves undefined (division overflow, shift
counts of the operand width or more, ``fptosi`` of an out-of-range value) the
lowering traps or masks first, so the IR never contains poison or undefined
behaviour.  Where LLVM may return a signalling NaN that Wasm requires to be quiet,
the result is quieted (see :func:`_quieting`).  Nothing here depends on the target:
the same IR is valid for any triple.
"""
from __future__ import annotations

import struct
from typing import Callable

import llvmlite.ir as ir

from ..errors import TrapCode
from ..syntax.instructions import OPS
from .emitter import Emitter
from .types import F32T, F64T, I1
from .types import I32T as I32
from .types import I64T as I64

LLVM_TYPES: dict[str, ir.Type] = {"i32": I32, "i64": I64, "f32": F32T, "f64": F64T}
"""Wasm number type name -> LLVM type.  The names double as intrinsic suffixes."""

_MANTISSA_BITS = {"f32": 24, "f64": 53}
_BITS_TYPE = {"f32": I32, "f64": I64}

Lowering = Callable[[Emitter, list[ir.Value], str, str], ir.Value]
"""``(emitter, operands, source type, result type) -> result``; types are Wasm names."""


def lower_const(op: str, imm: int) -> ir.Constant:
    """``i32.const``..``f64.const``.  Float immediates are raw IEEE bits and become a
    constant ``bitcast`` so NaN payloads (signalling ones too) survive exactly."""
    t = op.split(".")[0]
    if op != f"{t}.const" or t not in LLVM_TYPES:
        raise ValueError(f"not a constant instruction: {op}")
    if t in _BITS_TYPE:
        return ir.Constant(_BITS_TYPE[t], imm).bitcast(LLVM_TYPES[t])
    return ir.Constant(LLVM_TYPES[t], imm)


def lower_numeric(em: Emitter, op: str, args: list[ir.Value]) -> ir.Value:
    """Emit ``op`` applied to ``args`` (operand order as on the stack, bottom first)
    at the builder's position and return the result; traps go through ``em.trap_if``."""
    lowering = _LOWERINGS.get(op)
    if lowering is None:
        raise ValueError(f"not a numeric instruction: {op}")
    (src, *_), (dst,) = OPS[op].sig
    return lowering(em, args, src.value, dst.value)


def _intrinsic(em: Emitter, name: str, ret: ir.Type, args: list[ir.Value],
               extra: tuple[ir.Value, ...] = ()) -> ir.Value:
    """Call ``name`` on ``args`` followed by the constant ``extra`` operands."""
    operands = [*args, *extra]
    fn = em.intrinsic(name, ret, [a.type for a in operands])
    return em.builder.call(fn, operands)


def _bool(em: Emitter, cond: ir.Value) -> ir.Value:
    return em.builder.zext(cond, I32)


# Integer operators.

def _eqz(em: Emitter, args: list[ir.Value], src: str, dst: str) -> ir.Value:
    return _bool(em, em.builder.icmp_unsigned("==", args[0], ir.Constant(LLVM_TYPES[src], 0)))


def _compare(method: str, pred: str) -> Lowering:
    """A comparison by ``IRBuilder.<method>`` (``icmp_signed``, ``fcmp_ordered``, ...)."""
    def lower(em: Emitter, args: list[ir.Value], src: str, dst: str) -> ir.Value:
        return _bool(em, getattr(em.builder, method)(pred, *args))
    return lower


def _builder_op(method: str) -> Lowering:
    """A binary operator that is one LLVM instruction with Wasm's exact semantics."""
    def lower(em: Emitter, args: list[ir.Value], src: str, dst: str) -> ir.Value:
        return getattr(em.builder, method)(*args)
    return lower


def _shift(method: str) -> Lowering:
    """Wasm shifts take the count modulo the width; LLVM's are poison beyond it."""
    def lower(em: Emitter, args: list[ir.Value], src: str, dst: str) -> ir.Value:
        x, n = args
        ty = LLVM_TYPES[src]
        return getattr(em.builder, method)(x, em.builder.and_(n, ir.Constant(ty, ty.width - 1)))
    return lower


def _rotate(funnel: str) -> Lowering:
    """A funnel shift of a value with itself is a rotate; its count is already modular."""
    def lower(em: Emitter, args: list[ir.Value], src: str, dst: str) -> ir.Value:
        x, n = args
        return _intrinsic(em, f"llvm.{funnel}.{src}", LLVM_TYPES[src], [x, x, n])
    return lower


def _count(name: str) -> Lowering:
    """clz/ctz must be defined for 0 (the width), so ``is_zero_poison`` is false."""
    extra = () if name == "ctpop" else (ir.Constant(I1, 0),)

    def lower(em: Emitter, args: list[ir.Value], src: str, dst: str) -> ir.Value:
        return _intrinsic(em, f"llvm.{name}.{src}", LLVM_TYPES[src], args, extra)
    return lower


def _divide(name: str) -> Lowering:
    def lower(em: Emitter, args: list[ir.Value], src: str, dst: str) -> ir.Value:
        b = em.builder
        x, y = args
        ty = LLVM_TYPES[src]
        minus_one = ir.Constant(ty, -1)
        em.trap_if(b.icmp_unsigned("==", y, ir.Constant(ty, 0)), TrapCode.INTEGER_DIVISION_BY_ZERO)
        if name == "div_s":
            overflow = b.and_(b.icmp_unsigned("==", x, ir.Constant(ty, -(1 << (ty.width - 1)))),
                              b.icmp_unsigned("==", y, minus_one))
            em.trap_if(overflow, TrapCode.INTEGER_OVERFLOW)
            return b.sdiv(x, y)
        if name == "rem_s":
            # MIN srem -1 is undefined in LLVM (and faults on x86); x rem -1 and
            # x rem 1 are both 0, so dividing by 1 instead gives Wasm's result.
            y = b.select(b.icmp_unsigned("==", y, minus_one), ir.Constant(ty, 1), y)
            return b.srem(x, y)
        return (b.udiv if name == "div_u" else b.urem)(x, y)
    return lower


def _extend_sign(width: int) -> Lowering:
    def lower(em: Emitter, args: list[ir.Value], src: str, dst: str) -> ir.Value:
        return em.builder.sext(em.builder.trunc(args[0], ir.IntType(width)), LLVM_TYPES[dst])
    return lower


# Float operators.

def _float_intrinsic(name: str) -> Lowering:
    """An intrinsic overloaded on the operand type, such as ``llvm.minimum.f32``."""
    def lower(em: Emitter, args: list[ir.Value], src: str, dst: str) -> ir.Value:
        return _intrinsic(em, f"llvm.{name}.{src}", LLVM_TYPES[src], args)
    return lower


CANONICAL_NAN: float = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_0000))[0]
"""The canonical NaN, positive (a constant of either float type: LLVM narrows it for f32)."""


def _quieting(lowering: Lowering) -> Lowering:
    """Wasm arithmetic returns a quiet NaN, but LLVM may pass a signalling NaN operand
    through unchanged (its "unchanged NaN propagation": ``fmul x, 1.0`` folds to ``x``,
    ``fptrunc (fpext x)`` to ``x``, and x86 ``llvm.minimum`` selects the NaN operand).
    ``llvm.canonicalize`` quiets a signalling NaN and leaves every other value as is.
    With ``canonicalize_nans`` every NaN result is the canonical NaN instead."""
    def lower(em: Emitter, args: list[ir.Value], src: str, dst: str) -> ir.Value:
        value = lowering(em, args, src, dst)
        if em.canonicalize_nans:
            b = em.builder
            return b.select(b.fcmp_unordered("uno", value, value), ir.Constant(LLVM_TYPES[dst], CANONICAL_NAN), value)
        return _intrinsic(em, f"llvm.canonicalize.{dst}", LLVM_TYPES[dst], [value])
    return lower


def _fneg(em: Emitter, args: list[ir.Value], src: str, dst: str) -> ir.Value:
    return em.builder.fneg(args[0])


# Conversions.

def trunc_bounds(dst: str, signed: bool, src: str) -> tuple[float, float]:
    """The exclusive bounds ``(lo, hi)`` of the ``src`` values that ``trunc`` maps into
    the N-bit ``dst``: ``x`` converts iff ``lo < x < hi``.  ``hi`` is 2^N (unsigned) or
    2^(N-1); ``lo`` is -1 (unsigned) or the greatest ``src`` value <= -2^(N-1) - 1.
    Next to 2^(N-1) a p-bit significand steps by 2^(N-p), so that value is
    -2^(N-1) - max(1, 2^(N-p)): -2147483904.0 for i32 from f32, -2147483649.0 for i32
    from f64, -2^63 - 2^40 and -2^63 - 2^11 for i64 from f32 and f64."""
    n = LLVM_TYPES[dst].width
    if not signed:
        return -1.0, float(1 << n)
    half = 1 << (n - 1)
    return float(-(half + max(1, 1 << max(0, n - _MANTISSA_BITS[src])))), float(half)


def _trunc(signed: bool) -> Lowering:
    """Trapping truncation: NaN is an invalid conversion, a value whose integer part
    does not fit is an overflow.  The bounds are exact in the source type, so the
    comparisons are exact too."""
    def lower(em: Emitter, args: list[ir.Value], src: str, dst: str) -> ir.Value:
        b = em.builder
        (x,) = args
        fty = LLVM_TYPES[src]
        em.trap_if(b.fcmp_unordered("uno", x, x), TrapCode.BAD_CONVERSION_TO_INTEGER)
        lo, hi = trunc_bounds(dst, signed, src)
        out_of_range = b.or_(b.fcmp_ordered("<=", x, ir.Constant(fty, lo)),
                             b.fcmp_ordered(">=", x, ir.Constant(fty, hi)))
        em.trap_if(out_of_range, TrapCode.INTEGER_OVERFLOW)
        return (b.fptosi if signed else b.fptoui)(x, LLVM_TYPES[dst])
    return lower


def _trunc_sat(signed: bool) -> Lowering:
    def lower(em: Emitter, args: list[ir.Value], src: str, dst: str) -> ir.Value:
        name = f"llvm.fpto{'s' if signed else 'u'}i.sat.{dst}.{src}"
        return _intrinsic(em, name, LLVM_TYPES[dst], args)
    return lower


def _cast(method: str) -> Lowering:
    """A conversion that is exactly one LLVM cast instruction."""
    def lower(em: Emitter, args: list[ir.Value], src: str, dst: str) -> ir.Value:
        return getattr(em.builder, method)(args[0], LLVM_TYPES[dst])
    return lower


_REL = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">="}

_INT_LOWERINGS: dict[str, Lowering] = {
    "eqz": _eqz,
    **{f"{rel}{sign}": _compare("icmp_signed" if sign == "_s" else "icmp_unsigned", pred)
       for rel, pred in _REL.items() for sign in (("",) if rel in ("eq", "ne") else ("_s", "_u"))},
    **{name: _builder_op(method) for name, method in
       [("add", "add"), ("sub", "sub"), ("mul", "mul"),
        ("and", "and_"), ("or", "or_"), ("xor", "xor")]},
    "shl": _shift("shl"), "shr_s": _shift("ashr"), "shr_u": _shift("lshr"),
    "rotl": _rotate("fshl"), "rotr": _rotate("fshr"),
    "clz": _count("ctlz"), "ctz": _count("cttz"), "popcnt": _count("ctpop"),
    **{name: _divide(name) for name in ("div_s", "div_u", "rem_s", "rem_u")},
    **{f"extend{w}_s": _extend_sign(w) for w in (8, 16, 32)},
    "wrap_i64": _cast("trunc"), "extend_i32_s": _cast("sext"), "extend_i32_u": _cast("zext"),
    "convert_i32_s": _cast("sitofp"), "convert_i32_u": _cast("uitofp"),
    "convert_i64_s": _cast("sitofp"), "convert_i64_u": _cast("uitofp"),
    "reinterpret_i32": _cast("bitcast"), "reinterpret_i64": _cast("bitcast"),
}
"""Lowerings of instructions whose operands are integers, by name without the type."""

_FLOAT_LOWERINGS: dict[str, Lowering] = {
    # ne is the one comparison that holds for NaN operands.
    **{rel: _compare("fcmp_unordered" if rel == "ne" else "fcmp_ordered", pred)
       for rel, pred in _REL.items()},
    **{name: _quieting(_builder_op(method)) for name, method in
       [("add", "fadd"), ("sub", "fsub"), ("mul", "fmul"), ("div", "fdiv")]},
    # minimum/maximum propagate NaN and order -0 below +0, as Wasm min/max do.
    "min": _quieting(_float_intrinsic("minimum")), "max": _quieting(_float_intrinsic("maximum")),
    # abs, neg and copysign only touch the sign bit, so NaN payloads pass unchanged.
    "abs": _float_intrinsic("fabs"), "neg": _fneg, "copysign": _float_intrinsic("copysign"),
    **{name: _quieting(_float_intrinsic(intrinsic)) for name, intrinsic in
       [("ceil", "ceil"), ("floor", "floor"), ("trunc", "trunc"), ("nearest", "roundeven"),
        ("sqrt", "sqrt")]},
    **{f"{kind}_{f}_{sign}": lowering(sign == "s")
       for kind, lowering in (("trunc", _trunc), ("trunc_sat", _trunc_sat))
       for f in ("f32", "f64") for sign in "su"},
    "demote_f64": _quieting(_cast("fptrunc")), "promote_f32": _quieting(_cast("fpext")),
    "reinterpret_f32": _cast("bitcast"), "reinterpret_f64": _cast("bitcast"),
}
"""Lowerings of instructions whose operands are floats, by name without the type."""


def _lowerings() -> dict[str, Lowering]:
    """The full table by instruction name; a numeric instruction of ``OPS`` without a
    lowering fails here, at import."""
    table = {}
    for op, info in OPS.items():
        if info.sig is None or info.natural_align is not None:
            continue
        src = info.sig[0][0].value
        name = op.split(".", 1)[1]
        table[op] = (_FLOAT_LOWERINGS if src in _MANTISSA_BITS else _INT_LOWERINGS)[name]
    return table


_LOWERINGS = _lowerings()
