"""``Config`` and ``Engine``: compilation settings and what every store of an engine
shares (the signature registry, the trampolines, the epoch counter)."""
from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass

from ..compile import jit
from ..compile.module import CompileOptions
from ..compile.target import Target, host
from ..compile.trampolines import signature_key, trampoline_module
from ..syntax.types import FuncType
from . import native


@dataclass
class Config:
    """Engine settings, named after ``wasmtime.Config``'s.

    * ``opt_level`` -- LLVM's optimisation level, 0 to 3.
    * ``consume_fuel`` -- compiled code burns one unit of fuel per function entry and
      loop iteration and traps with ``OUT_OF_FUEL`` when the store's fuel runs out
      (stores start with none: call :meth:`Store.set_fuel`).
    * ``epoch_interruption`` -- compiled code traps with ``INTERRUPT`` at a function
      entry or loop iteration once the engine's epoch reaches the store's deadline
      (:meth:`Engine.increment_epoch` may be called from any thread).
    * ``max_wasm_stack`` -- native stack bytes wasm frames may use below the outermost
      entry into wasm; deeper calls trap with ``STACK_OVERFLOW``.  This bounds the call
      depth: a frame takes some tens of bytes, so the default allows thousands of
      nested calls.
    """

    opt_level: int = 2
    consume_fuel: bool = False
    epoch_interruption: bool = False
    max_wasm_stack: int = 512 * 1024

    def compile_options(self) -> CompileOptions:
        if not 0 <= self.opt_level <= 3:
            raise ValueError(f"opt_level must be 0 to 3, not {self.opt_level}")
        return CompileOptions(self.opt_level, self.consume_fuel, self.epoch_interruption)


class _Trampolines:
    """The loaded entry trampoline and host stub of one signature."""

    def __init__(self, ft: FuncType, target: Target) -> None:
        key = signature_key(ft)
        ir_module = trampoline_module(ft, target.triple, target.data_layout)
        self.code = jit.load(jit.optimize(ir_module, target, 2), target,
                             [f"entry_{key}", f"host_{key}"])
        self.entry = native.ENTRY(self.code[f"entry_{key}"])
        self.host_stub = self.code[f"host_{key}"]


class _Collector:
    """The loaded exception-object runtime (``engine/compile/collector.py``)."""

    def __init__(self, target: Target) -> None:
        from ..compile.collector import collector_module
        self.code = jit.load(jit.optimize(collector_module(target), target, 2), target,
                             ["exn_alloc", "exn_collect", "root_add"])
        self.exn_alloc_address = self.code["exn_alloc"]
        self.root_add_address = self.code["root_add"]
        self.exn_alloc = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                          ctypes.c_int64)(self.exn_alloc_address)
        self.exn_collect = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(self.code["exn_collect"])
        self.root_add = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64,
                                         ctypes.c_void_p)(self.root_add_address)


class Engine:
    """Compiles modules for the host and owns what all its stores share.

    Function types are canonicalised engine-wide: each distinct :class:`FuncType` gets
    one id, which ``call_indirect`` compares across instances.
    """

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.options = self.config.compile_options()
        self.target = host()
        self._lock = threading.Lock()
        self._type_ids: dict[FuncType, int] = {}
        self._types: list[FuncType] = []
        self._trampolines: dict[str, _Trampolines] = {}
        self._epoch = ctypes.c_uint64(0)
        self._collector: _Collector | None = None

    def collector(self) -> _Collector:
        with self._lock:
            if self._collector is None:
                self._collector = _Collector(self.target)
            return self._collector

    def type_id(self, ft: FuncType) -> int:
        """The canonical id of ``ft`` (ids start at 1)."""
        with self._lock:
            tid = self._type_ids.get(ft)
            if tid is None:
                self._types.append(ft)
                tid = self._type_ids[ft] = len(self._types)
            return tid

    def func_type(self, type_id: int) -> FuncType:
        return self._types[type_id - 1]

    def trampolines(self, ft: FuncType) -> _Trampolines:
        key = signature_key(ft)
        with self._lock:
            found = self._trampolines.get(key)
            if found is None:
                found = self._trampolines[key] = _Trampolines(ft, self.target)
            return found

    @property
    def epoch_address(self) -> int:
        return ctypes.addressof(self._epoch)

    @property
    def epoch(self) -> int:
        return self._epoch.value

    def increment_epoch(self) -> None:
        """Advance the epoch; safe to call from another thread while wasm runs."""
        self._epoch.value += 1
