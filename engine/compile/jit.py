"""In-process code generation: optimise an IR module and load it as native code.

Two choices here keep a long fuzzing campaign's memory flat, where the obvious ones
leak on every module (measured with ``bench/rss.py``; llvmlite 0.50 / LLVM 22):

* Optimisation runs LLVM's *function simplification pipeline* (SROA, EarlyCSE,
  InstCombine, SimplifyCFG, LICM, loop rotation, induction variables, GVN, DSE, ...)
  over each defined function.  One pass manager per target and level is built once
  and reused; each module gets a fresh pass builder, because llvmlite registers
  instrumentation callbacks in the builder on every run, so a builder shared by all
  modules would collect callbacks without bound.  (The only such callback that
  outlives its run looks at its dead owner only for ``optnone`` functions, which we
  never emit.)  Building and running the whole per-module default pipeline instead
  leaks some 70 KB per module inside llvmlite; a builder leaks about 1.5 KB.
* Each module gets its own MCJIT execution engine; closing it frees the code.  ORC's
  LLJIT (through llvmlite) never removes a library once created, about 7 KB per module.
"""
from __future__ import annotations

import threading

import llvmlite.binding as llvm
import llvmlite.ir as ir

from .target import Target

_lock = threading.Lock()
_pipelines: dict[tuple[str, int], llvm.FunctionPassManager] = {}


class CompiledCode:
    """Native code loaded in this process: the addresses of its exported symbols.
    The code stays mapped as long as this object lives."""

    def __init__(self, engine: llvm.ExecutionEngine, symbols: list[str]) -> None:
        self._engine = engine
        self.addresses = {name: engine.get_function_address(name) for name in symbols}
        missing = [name for name, address in self.addresses.items() if not address]
        if missing:
            raise LookupError(f"symbols not found in compiled code: {missing}")

    def __getitem__(self, name: str) -> int:
        return self.addresses[name]

    def __del__(self) -> None:
        self._engine.close()


def _pipeline(target: Target, opt_level: int) -> llvm.FunctionPassManager:
    key = (target.triple, opt_level)
    fpm = _pipelines.get(key)
    if fpm is None:
        pto = llvm.PipelineTuningOptions(speed_level=opt_level)
        fpm = _pipelines[key] = llvm.create_pass_builder(target.machine, pto).getFunctionPassManager()
    return fpm


def optimize(module: ir.Module, target: Target, opt_level: int) -> llvm.ModuleRef:
    """Parse, verify and optimise at ``opt_level`` (0: none)."""
    ref = llvm.parse_assembly(str(module))
    ref.verify()
    if opt_level > 0:
        pto = llvm.PipelineTuningOptions(speed_level=opt_level)
        with _lock:
            fpm = _pipeline(target, opt_level)
            builder = llvm.create_pass_builder(target.machine, pto)
            for fn in ref.functions:
                if not fn.is_declaration:
                    fpm.run(fn, builder)
            builder.close()
    return ref


def load(module: llvm.ModuleRef, target: Target, symbols: list[str]) -> CompiledCode:
    """Load an optimised module into this process (the target must be the host)."""
    with _lock:
        engine = llvm.create_mcjit_compiler(module, target.new_machine())
        engine.finalize_object()
        return CompiledCode(engine, symbols)


def emit_object(module: llvm.ModuleRef, target: Target) -> bytes:
    """Object code for any target (cross-compilation needs no runtime)."""
    return target.machine.emit_object(module)
