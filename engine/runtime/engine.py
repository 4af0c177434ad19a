"""``Config`` and ``Engine``: compilation settings and what every store of an engine
shares (the signature registry, the trampolines, the epoch counter)."""
from __future__ import annotations

import ctypes
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


from ..compile import jit
from ..compile.module import CompileOptions
from ..compile.target import Target, host
from ..compile.trampolines import (BufferOrder, Shape, buffer_order, entry_symbol, host_symbol, pair,
                                   trampoline_objects)
from ..syntax.types import FuncType
from . import native
from .stack import on_large_stack


@dataclass
class Config:
    """Engine settings, named after ``wasmtime.Config``'s.

    * ``opt_level`` -- LLVM's optimisation level, 0 to 3: 0 compiles fastest, leaving
      the IR as emitted; 1 optimises it (exercising LLVM's optimiser at little cost);
      both generate machine code with LLVM's fast instruction selector and register
      allocator.  2 and 3 also optimise the machine code, at twice the compile time.
    * ``consume_fuel`` -- compiled code burns one unit of fuel per function entry and
      loop iteration and traps with ``OUT_OF_FUEL`` when the store's fuel runs out
      (stores start with none: call :meth:`Store.set_fuel`).
    * ``epoch_interruption`` -- compiled code traps with ``INTERRUPT`` at a function
      entry or loop iteration once the engine's epoch reaches the store's deadline
      (:meth:`Engine.increment_epoch` may be called from any thread).
    * ``max_wasm_stack`` -- native stack bytes wasm frames may use below the outermost
      entry into wasm; deeper calls trap with ``STACK_OVERFLOW``.  This bounds the call
      depth: a frame takes some tens of bytes, so the default allows thousands of
      nested calls.  It is a budget, checked against the stack the calling thread
      really has: wasm never goes closer than 128 KiB to the thread's stack bottom
      (``engine/runtime/stack.py``), so a budget larger than the thread's stack traps
      too, and never crashes.
    * ``collect_every`` -- collector stress (exnfuzz's own knob): 0 collects exception
      objects as the heap grows; ``N`` collects after every ``N`` allocations, which
      no program can observe but which frees at once any object whose root the
      engine forgot.
    * ``count_events`` -- compiled code counts what ran (catches by clause kind, label
      kind and depth; tail calls; throws): see :meth:`Store.events`.
    * ``canonicalize_nans`` -- every float operation whose NaN result the spec leaves
      open (arithmetic, ``min``/``max``, rounding, ``sqrt``, ``demote``/``promote``)
      returns the canonical NaN, positive, as wasmtime's
      ``cranelift_nan_canonicalization``: results then depend on nothing the spec
      leaves to the engine.  Off, such a NaN is what the hardware (or LLVM's constant
      folding) makes of it, quieted.
    """

    opt_level: int = 2
    consume_fuel: bool = False
    epoch_interruption: bool = False
    max_wasm_stack: int = 512 * 1024
    collect_every: int = 0
    count_events: bool = False
    canonicalize_nans: bool = False

    def compile_options(self) -> CompileOptions:
        if not isinstance(self.opt_level, int) or not 0 <= self.opt_level <= 3:
            raise ValueError(f"opt_level must be 0 to 3, not {self.opt_level!r}")
        if not isinstance(self.max_wasm_stack, int) or not 0 < self.max_wasm_stack < 2**63:
            raise ValueError(f"max_wasm_stack must be a positive number of bytes below 2**63, "
                             f"not {self.max_wasm_stack!r}")
        if self.collect_every < 0:
            raise ValueError(f"collect_every must be 0 (adaptive) or a positive count, not {self.collect_every}")
        return CompileOptions(self.opt_level, self.consume_fuel, self.epoch_interruption, self.count_events,
                              self.canonicalize_nans)


class Trampoline:
    """A loaded trampoline (see :mod:`engine.compile.trampolines`): its address, and the
    compiled code it lives in, which this object keeps loaded."""

    def __init__(self, code: jit.CompiledCode, symbol: str) -> None:
        self.code = code
        self.address = code[symbol]


class Entry(Trampoline):
    """An entry trampoline, callable from Python: ``entry.call(code, vmctx, buf)``."""

    def __init__(self, code: jit.CompiledCode, symbol: str) -> None:
        super().__init__(code, symbol)
        self.call = native.ENTRY(self.address)


@dataclass(frozen=True, eq=False)
class TypeIds:
    """Type ids held from an engine (:meth:`Engine.hold_types`) while this lives."""

    ids: tuple[int, ...]


def loaded_trampoline(code: jit.CompiledCode, symbol: str) -> Trampoline:
    return Entry(code, symbol) if symbol.startswith("entry_") else Trampoline(code, symbol)


class _StoreRuntime:
    """The loaded code every store calls, one per target for the process (it keeps no
    state: that is the store's): the exception-object runtime
    (``engine/compile/collector.py``), the memory and table helpers
    (``engine/compile/helpers.py``), through which Python creates and grows memories
    and tables with the same code as wasm, and the instance set-up every module shares
    (``engine/compile/setup.py``)."""

    def __init__(self, target: Target) -> None:
        from ..compile import collector, helpers, setup
        module, exported, pointers = setup.store_runtime_module(target)
        self.code = jit.load([jit.emit_object(jit.optimize(module, target, 2), target, 2)], target, exported)
        self.state_pointers = {field: self.code[symbol] for field, symbol in pointers.items()}
        """What each store state holds for compiled code to call, by field."""
        self.exn_alloc = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                          ctypes.c_int64)(self.code[collector.EXN_ALLOC])
        self.exn_collect = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(self.code[collector.EXN_COLLECT])
        self.root_add = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64,
                                         ctypes.c_void_p)(self.code[collector.ROOT_ADD])
        self.memory_new = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)(self.code[helpers.MEMORY_NEW])
        self.memory_grow = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p,
                                            ctypes.c_int32)(self.code[helpers.MEMORY_GROW])
        self.memory_free = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(self.code[helpers.MEMORY_FREE])
        self.table_grow = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p,
                                           ctypes.c_void_p, ctypes.c_uint32)(self.code[helpers.TABLE_GROW])
        self.table_fill = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p,
                                           ctypes.c_uint32)(self.code[helpers.TABLE_FILL])


_store_runtimes: dict[Target, _StoreRuntime] = {}
_store_runtimes_lock = threading.Lock()


def _store_runtime(target: Target) -> _StoreRuntime:
    with _store_runtimes_lock:
        found = _store_runtimes.get(target)
        if found is None:
            found = _store_runtimes[target] = on_large_stack(lambda: _StoreRuntime(target))
        return found


class Engine:
    """Compiles modules for the host and owns what all its stores share.

    Function types are canonicalised engine-wide: each distinct :class:`FuncType` gets
    one id, which ``call_indirect`` compares across instances.  An id is held by what
    writes it into records (a module, a host function or tag) and goes to a new type
    once nothing holds it, so the endless signatures of a campaign do not pile up
    either (about 1 MiB per thousand generated cases when ids were kept for good).

    Trampolines are found by symbol (``entry_<sig>``, ``host_<sig>``): first among the
    pairs the engine compiled itself, each signature's in an LLVM module of its own and
    kept for the engine's lifetime; then among those live modules lend (:meth:`lend`; the
    newest lender of a symbol serves it); on a miss the engine compiles the signature's
    pair.  A module carries the trampolines its use needs and the engine lacks, in its
    own code, and they go with it: the endless supply of signatures a fuzzing campaign
    compiles leaves no code behind.
    """

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.options = self.config.compile_options()
        self.target = host()
        self._lock = threading.Lock()
        self._type_ids: dict[FuncType, int] = {}
        self._types: list[FuncType | None] = []
        self._holders: list[int] = []
        self._free_ids: list[int] = []
        self._released: list[int] = []
        """Ids whose holder was collected, one entry per hold; reclaimed under the lock
        (a finalizer may run inside any allocation, even one made with the lock held)."""
        self._trampolines: dict[str, Trampoline] = {}
        self._lent: weakref.WeakValueDictionary[str, Trampoline] = weakref.WeakValueDictionary()
        self._epoch = ctypes.c_uint64(0)
        self._store_runtime: _StoreRuntime | None = None

    def store_runtime(self) -> _StoreRuntime:
        with self._lock:
            if self._store_runtime is None:
                self._store_runtime = _store_runtime(self.target)
            return self._store_runtime

    def hold_types(self, types: Sequence[FuncType]) -> "TypeIds":
        """The canonical ids of ``types`` (ids start at 1; equal types, equal ids), held
        as long as the returned object lives."""
        with self._lock:
            while self._released:
                self._release(self._released.pop())
            ids = tuple(self._hold(ft) for ft in types)
        held = TypeIds(ids)
        weakref.finalize(held, self._released.extend, ids)
        return held

    def _hold(self, ft: FuncType) -> int:
        tid = self._type_ids.get(ft)
        if tid is None:
            if self._free_ids:
                tid = self._free_ids.pop()
                self._types[tid - 1] = ft
            else:
                self._types.append(ft)
                self._holders.append(0)
                tid = len(self._types)
            self._type_ids[ft] = tid
        self._holders[tid - 1] += 1
        return tid

    def _release(self, tid: int) -> None:
        self._holders[tid - 1] -= 1
        if not self._holders[tid - 1]:
            del self._type_ids[self._types[tid - 1]]  # type: ignore[arg-type]
            self._types[tid - 1] = None
            self._free_ids.append(tid)

    def func_type(self, type_id: int) -> FuncType:
        """The type of a held id."""
        ft = self._types[type_id - 1]
        assert ft is not None, f"type id {type_id} is not held"
        return ft

    def buffer_order(self, ft: FuncType) -> BufferOrder:
        """Where the buffers of ``ft``'s trampolines hold its values (see
        :mod:`~engine.compile.trampolines`)."""
        return buffer_order(ft, self.target.registers)

    def entry(self, ft: FuncType) -> Entry:
        """The entry trampoline of ``ft``'s shape (compiled now if none is loaded)."""
        shape = self.buffer_order(ft).shape
        return self._trampoline(entry_symbol(shape), shape)  # type: ignore[return-value]

    def host_stub(self, ft: FuncType) -> Trampoline:
        """The host stub of ``ft``'s shape (compiled now if none is loaded)."""
        shape = self.buffer_order(ft).shape
        return self._trampoline(host_symbol(shape), shape)

    def _trampoline(self, symbol: str, shape: Shape) -> Trampoline:
        with self._lock:
            found = self._trampolines.get(symbol) or self._lent.get(symbol)
            if found is None:
                symbols = pair(shape)
                code = on_large_stack(lambda: self.load_code(
                    [], list(symbols), trampoline_objects(self.target).compile(symbols)))
                for name in symbols:
                    self._trampolines[name] = loaded_trampoline(code, name)
                found = self._trampolines[symbol]
            return found

    def load_code(self, objects: list[bytes], symbols: list[str],
                  shared: Sequence[tuple[bytes, frozenset[str]]] = ()) -> jit.CompiledCode:
        """Load object files for the engine's target where the engine runs code (this
        process) as one piece of code, the addresses of ``symbols``: ``objects`` of its
        own and ``shared`` ones (see :func:`~engine.compile.jit.load`)."""
        return jit.load(objects, self.target, symbols, shared)

    def unloaded(self, symbols: Iterable[str]) -> list[str]:
        """Those of the trampoline ``symbols`` the engine does not keep loaded (in order,
        without duplicates): what a module should carry."""
        with self._lock:
            return [s for s in dict.fromkeys(symbols) if s not in self._trampolines]

    def lend(self, code: jit.CompiledCode, symbols: list[str]) -> list[Trampoline]:
        """Offer the trampolines ``symbols`` of a module's ``code`` to every caller while
        the returned objects live (the module keeps them; whoever uses one keeps it)."""
        loaded = [loaded_trampoline(code, symbol) for symbol in symbols]
        with self._lock:
            for trampoline, symbol in zip(loaded, symbols):
                self._lent[symbol] = trampoline
        return loaded

    @property
    def epoch_address(self) -> int:
        return ctypes.addressof(self._epoch)

    @property
    def epoch(self) -> int:
        return self._epoch.value

    def increment_epoch(self) -> None:
        """Advance the epoch; safe to call from another thread while wasm runs."""
        self._epoch.value += 1
