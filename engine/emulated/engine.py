"""The emulated runtime's ``Engine``: the runtime's own, with its code on the target.

:func:`emulated_engine` subclasses the ``Engine`` of a runtime loaded for an emulated
target (whose ``native`` is the target's, so its entry trampolines are calls made by the
server) and changes only what is about *where* code runs:

* :meth:`load_code` generates object code for the target and loads it into the server
  (the runtime's ``Module`` and trampolines go through it);
* the exception collector (an IR module, ``engine/compile/collector.py``) is compiled
  for the target once, and loaded into each server the engine uses;
* the epoch counter is the server's, advanced by a signal, so a watchdog thread can
  interrupt wasm while the main thread waits on the pipe.

A store is where a run begins, so making one is where a dead server is replaced
(:func:`emulated_store`); the engine then forgets the trampolines and collector of the
old one.
"""
from __future__ import annotations

from typing import Any

import llvmlite.binding as llvm

from ..compile import jit
from ..compile.collector import EXN_ALLOC, EXN_COLLECT, EXPORTS, ROOT_ADD, collector_module
from ..compile.target import Target
from .machine import Emulator, RemoteCode
from .process import TargetProcess

_collector_objects: dict[str, bytes] = {}
"""The collector's object code per target triple (the same for every server)."""


class RemoteCollector:
    """The exception collector loaded in one server, shaped like the in-process one."""

    def __init__(self, emulator: Emulator) -> None:
        target = emulator.target
        obj = _collector_objects.get(target.triple)
        if obj is None:
            obj = _collector_objects[target.triple] = emulator.object_code(
                jit.optimize(collector_module(target), target, 2), 2)
        self.code: RemoteCode = emulator.load(obj, list(EXPORTS))
        process = self.code.process
        self.exn_alloc_address = self.code[EXN_ALLOC]
        self.root_add_address = self.code[ROOT_ADD]
        collect = self.code[EXN_COLLECT]
        self.exn_alloc = lambda state, tag, nfields: process.call(self.exn_alloc_address, state, tag, nfields)
        self.root_add = lambda state, kind, record: process.call(self.root_add_address, state, kind, record)
        self.exn_collect = lambda state: process.call(collect, state)


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

        def load_code(self, module: llvm.ModuleRef, symbols: list[str], opt_level: int) -> RemoteCode:
            return emulator.load(emulator.object_code(module, opt_level), symbols)

        def collector(self) -> RemoteCollector:
            with self._lock:
                server = emulator.fresh()
                if server is not self._server:
                    self._trampolines.clear()
                    self._lent.clear()
                    self._collector = RemoteCollector(emulator)
                    self._server = server
                return self._collector  # type: ignore[return-value]

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


__all__ = ["RemoteCollector", "emulated_engine", "emulated_store"]
