"""Test-only scaffolding for lowering code: a probe :class:`~engine.compile.emitter.Emitter`,
probe functions, LLVM's optimisation pipeline and in-process JIT.

A probe is an LLVM function ``i32 @name(ptr out, i64 a0, i64 a1, ...)``: every operand
arrives as its IEEE/integer bits in an ``i64`` and the result leaves the same way
through ``out``, so no host float conversion can touch a NaN payload.  It returns 0
when the code ran to the end, or ``1 + TrapCode`` from the block a ``trap_if`` jumped to.
"""
from __future__ import annotations

import ctypes
from typing import Callable, Sequence

import llvmlite.binding as llvm
import llvmlite.ir as ir

from engine.compile.numeric import LLVM_TYPES
from engine.compile.target import Target, host
from engine.errors import TrapCode

I64 = ir.IntType(64)

Outcome = int | TrapCode
"""A probe's result bits (unsigned), or the trap it raised."""


class ProbeEmitter:
    """Implements :class:`~engine.compile.emitter.Emitter` for one probe function."""

    def __init__(self, module: ir.Module, target: Target, function: ir.Function) -> None:
        self.module = module
        self.target = target
        self.function = function
        self.builder = ir.IRBuilder(function.append_basic_block("entry"))
        self.canonicalize_nans = False

    def trap_if(self, cond: ir.Value, code: TrapCode) -> None:
        trap = self.function.append_basic_block(f"trap.{code.name.lower()}")
        cont = self.function.append_basic_block("cont")
        self.builder.cbranch(cond, trap, cont)
        self.builder.position_at_end(trap)
        self.builder.ret(ir.Constant(ir.IntType(32), 1 + code))
        self.builder.position_at_end(cont)

    def intrinsic(self, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
        existing = self.module.globals.get(name)
        if existing is not None:
            return existing
        return ir.Function(self.module, ir.FunctionType(ret, args), name)


def _width(t: str) -> int:
    return 32 if t in ("i32", "f32") else 64


def _from_bits(b: ir.IRBuilder, bits: ir.Value, t: str) -> ir.Value:
    value = b.trunc(bits, ir.IntType(32)) if _width(t) == 32 else bits
    return value if t[0] == "i" else b.bitcast(value, LLVM_TYPES[t])


def _to_bits(b: ir.IRBuilder, value: ir.Value, t: str) -> ir.Value:
    if t[0] == "f":
        value = b.bitcast(value, ir.IntType(_width(t)))
    return b.zext(value, I64) if _width(t) == 32 else value


def _start(module: ir.Module, target: Target, name: str, arity: int) -> ProbeEmitter:
    """A probe function ``name(out, arity x i64)`` with the builder at its entry."""
    fn_type = ir.FunctionType(ir.IntType(32), [ir.PointerType(), *[I64] * arity])
    return ProbeEmitter(module, target, ir.Function(module, fn_type, name))


def _finish(em: ProbeEmitter, value: ir.Value, result: str) -> None:
    """Store ``value``'s bits to ``out`` and return 0."""
    b = em.builder
    b.store(_to_bits(b, value, result), em.function.args[0])
    b.ret(ir.Constant(ir.IntType(32), 0))


def define_probe(module: ir.Module, target: Target, name: str, params: Sequence[str],
                 result: str, body: Callable[[ProbeEmitter, list[ir.Value]], ir.Value]) -> None:
    """Add probe ``name`` taking Wasm-typed ``params`` and returning ``result``,
    whose code is ``body(emitter, operands)``."""
    em = _start(module, target, name, len(params))
    bits = em.function.args[1:]
    _finish(em, body(em, [_from_bits(em.builder, a, t) for a, t in zip(bits, params)]), result)


def define_case_probe(module: ir.Module, target: Target, name: str, params: Sequence[str],
                      result: str, cases: Sequence[Sequence[ir.Value | None]],
                      body: Callable[[ProbeEmitter, list[ir.Value]], ir.Value]) -> None:
    """Add probe ``name(out, k, x)`` that runs ``body`` on the operands ``cases[k]``:
    constants, except that ``None`` stands for the run-time operand ``x`` (bits).
    Optimised, each case shows what LLVM made of the constants it knew."""
    em = _start(module, target, name, 2)
    b = em.builder
    _, index, x = em.function.args
    default = em.function.append_basic_block("no.case")
    switch = b.switch(index, default)
    for k, operands in enumerate(cases):
        block = em.function.append_basic_block(f"case.{k}")
        switch.add_case(ir.Constant(I64, k), block)
        b.position_at_end(block)
        args = [_from_bits(b, x, t) if v is None else v for v, t in zip(operands, params)]
        _finish(em, body(em, args), result)
    b.position_at_end(default)
    b.unreachable()


def new_module(target: Target) -> ir.Module:
    module = ir.Module(name="probes")
    module.triple = target.triple
    module.data_layout = target.data_layout
    return module


def parse(module: ir.Module) -> llvm.ModuleRef:
    ref = llvm.parse_assembly(str(module))
    ref.verify()
    return ref


def optimize(ref: llvm.ModuleRef, target: Target, level: int = 2) -> None:
    """Run LLVM's standard ``-O<level>`` module pipeline for ``target``."""
    pto = llvm.create_pipeline_tuning_options(speed_level=level)
    pb = llvm.create_pass_builder(target.machine, pto)
    pb.getModulePassManager().run(ref, pb)


class Jit:
    """Probes of one module compiled for the host and callable from Python."""

    def __init__(self, ref: llvm.ModuleRef) -> None:
        self.engine = llvm.create_mcjit_compiler(ref, host().machine)
        self.engine.finalize_object()

    def probe(self, name: str, arity: int) -> Probe:
        return Probe(self, name, arity)


class Probe:
    """A compiled probe taking ``arity`` operand bits.  It holds on to its
    :class:`Jit`: the machine code is freed with the execution engine."""

    def __init__(self, jit: Jit, name: str, arity: int) -> None:
        self.jit = jit
        address = jit.engine.get_function_address(name)
        assert address, f"no probe {name}"
        proto = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.POINTER(ctypes.c_uint64),
                                 *[ctypes.c_uint64] * arity)
        self._fn = proto(address)
        self._out = ctypes.c_uint64()

    def __call__(self, *args: int) -> Outcome:
        status = self._fn(ctypes.byref(self._out), *args)
        return self._out.value if status == 0 else TrapCode(status - 1)
