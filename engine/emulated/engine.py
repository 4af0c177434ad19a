"""The emulated runtime's ``Engine``: the runtime's own, with its code on the target.

:func:`emulated_engine` subclasses the ``Engine`` of a runtime loaded for an emulated
target (whose ``native`` is the target's, so its entry trampolines are calls made by the
server) and changes only what is about *where* code runs:

* :meth:`load_code` loads object code for the target into the server (the runtime's
  ``Module`` and trampolines go through it);
* the store runtime -- the exception collector, the memory and table helpers and the
  instance set-up, IR modules (``engine/compile/collector.py``, ``helpers.py``,
  ``setup.py``) -- is compiled for the target once, and loaded into each server the
  engine uses;
* the epoch counter is the server's, advanced by a signal, so a watchdog thread can
  interrupt wasm while the main thread waits on the pipe.

A store is where a run begins, so making one is where a dead server is replaced
(:func:`emulated_store`); the engine then forgets the trampolines and store runtime of
the old one.  Wasm's stack is the server's, so the floor wasm may not go below is
taken from the server's stack (:func:`server_stack_floor`), not from Python's thread.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..compile import helpers, jit
from ..compile.collector import EXN_ALLOC, EXN_COLLECT, ROOT_ADD
from ..compile.layout import StoreState
from ..compile.setup import store_runtime_module
from ..compile.target import Target
from .machine import Emulator, RemoteCode
from .process import TargetProcess, int32

_store_runtime_objects: dict[str, tuple[list[bytes], list[str], dict[StoreState, str]]] = {}
"""The store runtime's object code, exported symbols and store-state pointers per
target triple (the same for every server)."""


class RemoteStoreRuntime:
    """The code every store calls -- the exception-object runtime, the memory and
    table helpers and the instance set-up -- loaded in one server, shaped like the
    in-process ``engine.runtime.engine._StoreRuntime``."""

    def __init__(self, emulator: Emulator) -> None:
        target = emulator.target
        compiled = _store_runtime_objects.get(target.triple)
        if compiled is None:
            module, exported, pointers = store_runtime_module(target)
            compiled = _store_runtime_objects[target.triple] = (
                [jit.emit_object(jit.optimize(module, target, 2), target, 2)], exported, pointers)
        objects, exported, pointers = compiled
        self.code: RemoteCode = emulator.load(objects, exported)
        call, code = self.code.process.call, self.code
        self.state_pointers = {field: code[symbol] for field, symbol in pointers.items()}
        self.exn_alloc = lambda state, tag, nfields: call(code[EXN_ALLOC], state, tag, nfields)
        self.root_add = lambda state, kind, record: call(code[ROOT_ADD], state, kind, record)
        self.exn_collect = lambda state: call(code[EXN_COLLECT], state)
        self.memory_new = lambda record: int32(call(code[helpers.MEMORY_NEW], record))
        self.memory_grow = lambda state, record, delta: int32(call(code[helpers.MEMORY_GROW], state, record, delta))
        self.memory_free = lambda record: call(code[helpers.MEMORY_FREE], record)
        self.table_grow = lambda state, record, init, delta: int32(
            call(code[helpers.TABLE_GROW], state, record, init, delta))
        self.table_fill = lambda record, start, value, n: call(code[helpers.TABLE_FILL], record, start, value, n)


def emulated_engine(base: type, emulator: Emulator) -> type:
    """A subclass of the runtime ``Engine`` class ``base`` that runs code on ``emulator``."""

    class Engine(base):  # type: ignore[valid-type,misc]
        __doc__ = f"""{base.__doc__}

        This engine compiles for {emulator.target.triple} and runs the code in a target
        server under qemu-user (see :mod:`engine.emulated`)."""

        def __init__(self, config: Any = None) -> None:
            super().__init__(config)
            self.target: Target = emulator.target
            self.emulator = emulator
            self._server: TargetProcess | None = None

        def load_code(self, objects: list[bytes], symbols: list[str],
                      shared: Sequence[tuple[bytes, frozenset[str]]] = ()) -> RemoteCode:
            return emulator.load([*objects, *(obj for obj, _ in shared)], symbols)

        def store_runtime(self) -> RemoteStoreRuntime:
            with self._lock:
                server = emulator.fresh()
                if server is not self._server:
                    self._trampolines.clear()
                    self._lent.clear()
                    self._store_runtime = RemoteStoreRuntime(emulator)
                    self._server = server
                return self._store_runtime  # type: ignore[return-value]

        @property
        def epoch_address(self) -> int:
            return emulator.current().epoch_address

        @property
        def epoch(self) -> int:
            return emulator.current().read_slots(self.epoch_address, 1)[0]

        def increment_epoch(self) -> None:
            server = emulator.process      # may be called from any thread: start nothing
            if server is not None:
                server.interrupt()

    Engine.__qualname__ = Engine.__name__ = "Engine"
    return Engine


def emulated_store(base: type, emulator: Emulator) -> type:
    """A subclass of the runtime ``Store`` class ``base`` that starts a new server, if the
    last one died, before it allocates anything."""

    class Store(base):  # type: ignore[valid-type,misc]
        __doc__ = base.__doc__

        def __init__(self, engine: Any = None) -> None:
            emulator.fresh()
            super().__init__(engine)

    Store.__qualname__ = Store.__name__ = "Store"
    return Store


def server_stack_floor(emulator: Emulator, reserve: int) -> Callable[[], int]:
    """The runtime's ``stack_floor`` for ``emulator``: the lowest address wasm frames may
    use on the server's stack, ``reserve`` bytes (at most an eighth of it) above its
    bottom, as ``engine/runtime/stack.py`` reckons it for a thread of this process; 0
    where the server could not tell its stack."""
    def stack_floor() -> int:
        server = emulator.current()
        return server.stack_low + min(reserve, server.stack_size // 8) if server.stack_low else 0
    return stack_floor


__all__ = ["RemoteStoreRuntime", "emulated_engine", "emulated_store", "server_stack_floor"]
