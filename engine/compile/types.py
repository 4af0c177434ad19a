"""LLVM types for Wasm values, and values as 8-byte slots.

How functions of these types call one another is :mod:`.callconv`'s.
"""
from __future__ import annotations

import functools

import llvmlite.ir as ir

from ..syntax.types import F32, F64, I32, I64, ValType
from . import irtext

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32T = ir.IntType(32)
I64T = ir.IntType(64)
F32T = ir.FloatType()
F64T = ir.DoubleType()
PTR = ir.PointerType()

_VAL = {I32: I32T, I64: I64T, F32: F32T, F64: F64T}

NULL = irtext.Value(PTR, "null")


@functools.lru_cache(maxsize=4096)
def i64(value: int) -> irtext.Constant:
    """An ``i64`` constant of the text builder (llvmlite's cost five times as much)."""
    return irtext.Constant(I64T, value)


@functools.lru_cache(maxsize=4096)
def i32(value: int) -> irtext.Constant:
    return irtext.Constant(I32T, value)


Builder = ir.IRBuilder | irtext.IRBuilder
"""The helpers below serve both builders: modules are written as text
(:mod:`.irtext`), the store runtime and the tests' probes are built with llvmlite."""
Value = ir.Value | irtext.Value


def llvm_type(t: ValType) -> ir.Type:
    """Numbers map to their LLVM type; every reference is a pointer (null is null)."""
    return _VAL.get(t, PTR)  # type: ignore[arg-type]


def field_ptr(builder: Builder, base: Value, offset: int) -> Value:
    """Address of the field at byte ``offset`` of a record (offsets come from ``layout``)."""
    if not offset:
        return base
    if isinstance(builder, irtext.IRBuilder):
        return builder.field(base, offset)
    return builder.gep(base, [I64T(offset)], source_etype=I8)


def declare(module: ir.Module | irtext.Module, name: str,
            fnty: ir.FunctionType) -> ir.Function | irtext.Function:
    """Function ``name`` of ``module`` (an intrinsic or libc), declared on first use; the
    module is written as text (:mod:`.irtext`) or built with llvmlite (the store runtime,
    see ``collector.py``)."""
    existing = module.globals.get(name)
    if existing is not None:
        return existing
    function = irtext.Function if isinstance(module, irtext.Module) else ir.Function
    return function(module, fnty, name)  # type: ignore[arg-type]


def zero(t: ValType) -> ir.Constant:
    lt = llvm_type(t)
    return lt(None) if lt is PTR else lt(0)


def to_slot(b: Builder, v: Value) -> Value:
    """A value as an 8-byte slot (entry buffers, exception payloads): integers and float
    bits zero-extended, references as addresses."""
    if v.type == PTR:
        return b.ptrtoint(v, I64T)
    if v.type == F32T:
        return b.zext(b.bitcast(v, I32T), I64T)
    if v.type == F64T:
        return b.bitcast(v, I64T)
    return b.zext(v, I64T) if v.type == I32T else v


def from_slot(b: Builder, v: Value, t: ir.Type) -> Value:
    if t == PTR:
        return b.inttoptr(v, PTR)
    if t == F32T:
        return b.bitcast(b.trunc(v, I32T), F32T)
    if t == F64T:
        return b.bitcast(v, F64T)
    return b.trunc(v, I32T) if t == I32T else v


class _Callee:
    """A code pointer seen as a callee: llvmlite takes an indirect call's function type
    from its callee, which an opaque pointer lacks.  Everything else is the pointer's."""

    def __init__(self, value: Value, fnty: ir.FunctionType) -> None:
        self._value = value
        self.function_type = fnty

    def __getattr__(self, name: str) -> object:
        return getattr(self._value, name)


def callable_pointer(builder: Builder, ptr: Value, fnty: ir.FunctionType) -> Value:
    """``ptr`` usable as the callee of ``builder.call`` with type ``fnty``."""
    return _Callee(ptr, fnty)  # type: ignore[return-value]
