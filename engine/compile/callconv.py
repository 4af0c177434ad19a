"""The wasm calling convention: how compiled functions, entry trampolines and host
stubs call one another.

A wasm function ``[p*] -> [r*]`` compiles to ``tailcc {i32, r'*} (ptr vmctx, p'*)``:
the ``i32`` is the unwind status (0: returned normally; 1: unwinding -- the store's
:class:`~engine.compile.layout.StoreState` says whether for a trap or an exception),
``p'`` and ``r'`` are the parameters and results that travel in registers, and the
rest -- a :class:`Signature` says which -- travel through the store's *spill area*
(``StoreState.SPILL``), one 8-byte slot each, encoded as entry buffers and payloads
encode values (:func:`~engine.compile.types.to_slot`):

* a caller writes the spilled parameters just before the call and the callee reads
  them in its entry block, before anything that could call;
* a callee writes its spilled results just before it returns status 0 and its
  caller reads them right after the call.

Nothing runs between a write and its read that could use the area, so one area per
store serves every call.  ``tailcc`` makes ``return_call`` a guaranteed tail call
(``musttail``) between functions of any two signatures; a tail call writes its
callee's spilled parameters, and the callee's results reach the original caller,
whose result types validation made the same.

Why not let LLVM pass the rest on the stack, as the C convention does: LLVM 22 on
x86 never writes the stack arguments of a ``musttail`` call under ``tailcc``
(llvm/llvm-project#199224: wrong values, or a callee that pops more stack than its
caller got), aborts the process on a ``musttail`` call whose results need memory
(#131124), and returns a fourth float result on the x87 stack, which quiets
signalling NaNs.  Keeping every signature within the target's
:class:`~engine.compile.target.Registers` keeps all of that out of reach, and
``musttail`` keeps tail calls in constant stack.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import llvmlite.ir as ir

from ..syntax.types import F32, F64, FuncType, ValType
from .layout import SLOT, StoreState
from .target import Registers
from .types import I32T, PTR, llvm_type

WASM_CC = "tailcc"

NO_UNWIND = "nounwind"
"""The attribute of every function compiled code defines: nothing unwinds the native
stack through it (wasm unwinds by status, and a host callback returns one), so LLVM
emits no unwind tables for it -- which took some 4% off generating a fuzzed module's
code at level 0, and spares loading code the registration of its frames."""


def spill_offset(index: int) -> int:
    """Byte offset, in the store state, of the spill area's slot ``index``."""
    return StoreState.SPILL.offset + SLOT * index


def _split(types: tuple[ValType, ...], ints: int, floats: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Indices of ``types`` that get registers (the first ``ints`` integers and
    references and the first ``floats`` floats, in order), and of the rest."""
    left = {False: ints, True: floats}
    registers: list[int] = []
    spilled: list[int] = []
    for i, t in enumerate(types):
        is_float = t in (F32, F64)
        if left[is_float]:
            left[is_float] -= 1
            registers.append(i)
        else:
            spilled.append(i)
    return tuple(registers), tuple(spilled)


@dataclass(frozen=True)
class Signature:
    """Where each parameter and result of ``ft`` travels: the indices in registers
    (in order, after the instance context or the status) and those in the spill area
    (slot ``k`` holds the ``k``-th spilled value)."""

    ft: FuncType
    register_params: tuple[int, ...]
    spilled_params: tuple[int, ...]
    register_results: tuple[int, ...]
    spilled_results: tuple[int, ...]

    @cached_property
    def result_type(self) -> ir.LiteralStructType:
        return ir.LiteralStructType([I32T] + [llvm_type(self.ft.results[i]) for i in self.register_results])

    @cached_property
    def function_type(self) -> ir.FunctionType:
        return ir.FunctionType(self.result_type,
                               [PTR] + [llvm_type(self.ft.params[i]) for i in self.register_params])


@lru_cache(maxsize=4096)
def signature(ft: FuncType, registers: Registers) -> Signature:
    """``ft``'s :class:`Signature` on a target with ``registers``."""
    params = _split(ft.params, registers.int_params, registers.float_params)
    results = _split(ft.results, registers.int_results, registers.float_results)
    return Signature(ft, *params, *results)


__all__ = ["NO_UNWIND", "WASM_CC", "Signature", "signature", "spill_offset"]
