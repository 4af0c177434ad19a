"""The engine on emulated machines: its code for aarch64 and s390x, run under qemu-user.

The same compiler that JITs for the host emits object code for any
:class:`~engine.compile.target.Target`; this package runs that code on an emulated
machine of the target, on this x86-64 one, behind the very runtime the in-process
engine uses:

* A small C **target server** (``server.c``), built with the Debian cross compiler and
  run under qemu-user, owns the target's native memory and serves requests over a
  pipe: allocate and free, read and write slots and byte ranges, call a function, load
  a shared object.  When compiled code calls a host function, the server sends a
  callback message and serves nested requests until the host answers, so host -> wasm
  -> host crossings are nested request loops (:mod:`.process`).
* Each module's code is LLVM object code for the target, linked by the cross ``ld``
  into a shared object that the server ``dlopen``\\ s (:mod:`.machine`).
* The runtime (``engine/runtime``) is not rewritten for the target: :func:`runtime`
  loads its modules a second time, as the package ``engine.runtime_<arch>``, whose
  ``native`` module is the target's memory over the pipe (:mod:`.native`, decoding every
  slot in the target's byte order) and whose ``Engine`` compiles for the target and
  loads code into the server (:mod:`.engine`; its ``Store`` replaces a crashed server,
  and its stack floor is the server's).  Instance set-up, host functions,
  exceptions crossing the host boundary, the collector's roots: all of it is the
  runtime's own code, for every target.

Why this split: it keeps everything that is not the target's machine code on the
host, where it already works, and runs under emulation only what must -- the
compiled code and libc.  The alternative, the engine's own JIT inside an emulated
Python of the target, would need llvmlite (with its LLVM) and wasmtime built for the
target: PyPI has neither for s390x, and every Python instruction of the oracle would
be emulated too.  Linking each module with the server into an executable per case
(simpler to load) cannot hold the several modules of one store that ``.wast`` scripts
link together, and would start a process per module.  Measured on this machine
(``bench/emulated.py``, figures in the README): a request round trip takes 10-25
microseconds, starting a server 20-70 ms (once per target, and after a crash), linking
a module 3-5 ms; a generated fuzz case takes 1.2-1.3 times its in-process time.

For example (with the tools installed)::

    from engine.emulated import runtime
    rt = runtime("s390x")                   # engine.runtime's API, code on s390x
    store = rt.Store(rt.Engine())
    module = rt.Module(store.engine, '(module (func (export "f") (result i32) i32.const 7))')
    rt.Instance(store, module, []).exports(store)["f"](store)      # 7
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType

from ..compile.target import KNOWN_TARGETS
from .engine import emulated_engine, emulated_store, server_stack_floor
from .machine import Emulator
from .native import Native
from .process import TargetCrashed
from .toolchain import DEBIAN_PACKAGES, GNU_TRIPLES, EmulationUnavailable, missing

EMULATED = tuple(GNU_TRIPLES)
"""The architectures that run under emulation here."""

_RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime"
_lock = threading.Lock()
_emulators: dict[str, Emulator] = {}


def emulator(arch: str) -> Emulator:
    """``arch``'s emulated machine (one per process); raises
    :class:`EmulationUnavailable` when its tools are missing."""
    with _lock:
        found = _emulators.get(arch)
        if found is None:
            reason = missing(arch)
            if reason:
                raise EmulationUnavailable(reason)
            found = _emulators[arch] = Emulator(KNOWN_TARGETS[arch])
        return found


def runtime(arch: str) -> ModuleType:
    """``engine.runtime`` for the emulated ``arch``: the same API (``Engine``, ``Store``,
    ``Module``, ``Instance``, ``Func``, ...) and the same code, with native memory and
    code on the target (see the module docstring).  Loaded once per process."""
    name = f"engine.runtime_{arch}"
    with _lock:
        loaded = sys.modules.get(name)
        if loaded is not None:
            return loaded
    machine = emulator(arch)
    with _lock:
        spec = importlib.util.spec_from_file_location(
            name, _RUNTIME_DIR / "__init__.py", submodule_search_locations=[str(_RUNTIME_DIR)])
        assert spec is not None and spec.loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        try:
            package.native = sys.modules[f"{name}.native"] = Native(machine)  # type: ignore[attr-defined]
            engine_module = importlib.import_module(f"{name}.engine")
            engine_module.Engine = emulated_engine(engine_module.Engine, machine)  # type: ignore[attr-defined]
            stack_module = importlib.import_module(f"{name}.stack")
            stack_module.stack_floor = server_stack_floor(machine, stack_module.HOST_RESERVE)  # type: ignore[attr-defined]
            store_module = importlib.import_module(f"{name}.store")
            store_module.Store = emulated_store(store_module.Store, machine)  # type: ignore[attr-defined]
            spec.loader.exec_module(package)
        except BaseException:
            for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[module]
            raise
        package.emulator = machine  # type: ignore[attr-defined]
        return package


__all__ = ["DEBIAN_PACKAGES", "EMULATED", "EmulationUnavailable", "Emulator", "TargetCrashed", "emulator",
           "missing", "runtime"]
