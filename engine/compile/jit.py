"""In-process code generation: optimise an IR module and load it with LLVM's ORC JIT.

Each loaded module is its own JIT library; dropping the returned
:class:`CompiledCode` unloads it (ORC's resource tracker frees the code), which is how
compiled modules are released when no longer referenced.
"""
from __future__ import annotations

import threading

import llvmlite.binding as llvm
import llvmlite.ir as ir

from .target import Target

_lock = threading.Lock()
_lljit: llvm.LLJIT | None = None
_counter = 0


class CompiledCode:
    """A loaded library: the addresses of its exported symbols."""

    def __init__(self, tracker: object, symbols: list[str]) -> None:
        self._tracker = tracker
        self.addresses = {name: tracker[name] for name in symbols}  # type: ignore[index]

    def __getitem__(self, name: str) -> int:
        return self.addresses[name]


def optimize(module: ir.Module, target: Target, opt_level: int) -> llvm.ModuleRef:
    """Parse, verify and run LLVM's standard pipeline at ``opt_level``."""
    ref = llvm.parse_assembly(str(module))
    ref.verify()
    if opt_level > 0:
        pto = llvm.PipelineTuningOptions(speed_level=opt_level)
        pb = llvm.create_pass_builder(target.machine, pto)
        pb.getModulePassManager().run(ref, pb)
    return ref


def load(module: llvm.ModuleRef, target: Target, symbols: list[str]) -> CompiledCode:
    """Load an optimised module into this process (the target must be the host)."""
    global _lljit, _counter
    with _lock:
        if _lljit is None:
            _lljit = llvm.create_lljit_compiler(target.machine)
        _counter += 1
        builder = llvm.JITLibraryBuilder().add_ir(str(module)).add_current_process()
        for name in symbols:
            builder.export_symbol(name)
        tracker = builder.link(_lljit, f"wasm_module_{_counter}")
    return CompiledCode(tracker, symbols)


def emit_object(module: llvm.ModuleRef, target: Target) -> bytes:
    """Object code for any target (cross-compilation needs no runtime)."""
    return target.machine.emit_object(module)
