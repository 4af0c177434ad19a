"""An emulated target's machine: its target server of the moment, and code loaded into it.

An :class:`Emulator` links object code for its target (the host's LLVM makes it:
cross-compilation needs nothing else, see ``engine/compile/jit.py``) into a shared
object with the cross ``ld`` and has the server ``dlopen`` it; a :class:`RemoteCode`
is the symbols' addresses in the server, unloaded once it is garbage.

The server is started by :meth:`Emulator.fresh` (the emulated engine calls it when a
store is made) and is replaced there after it dies, so one crash costs the runs in
flight and no later ones; everything tied to a dead server -- memory, code, callback
entries -- is dropped with it, never sent to its successor.
"""
from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from pathlib import Path

from ..compile.target import Target
from .process import OP_UNLOAD, TargetProcess
from .toolchain import link, server, toolchain


class RemoteCode:
    """Code loaded in a target server: the addresses of its symbols, valid while this
    object lives (like :class:`~engine.compile.jit.CompiledCode` in process)."""

    def __init__(self, process: TargetProcess, handle: int, symbols: list[str]) -> None:
        self.process = process
        self.handle = handle
        self.addresses = {name: process.symbol(handle, name) for name in symbols}
        missing = [name for name, address in self.addresses.items() if not address]
        if missing:
            raise LookupError(f"symbols not found in compiled code: {missing}")

    def __getitem__(self, name: str) -> int:
        return self.addresses[name]

    def __del__(self) -> None:
        self.process.defer(OP_UNLOAD, self.handle)


class Emulator:
    """``target``'s emulated machine (raises
    :class:`~engine.emulated.toolchain.EmulationUnavailable` without the tools)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.arch = target.arch
        self.tools = toolchain(self.arch)
        self.server = server(self.arch)
        self.process: TargetProcess | None = None
        self.starts = 0
        """How many servers this emulator has started (one more after each crash)."""
        self._dir = Path(tempfile.mkdtemp(prefix=f"exnfuzz-{self.arch}-"))
        atexit.register(shutil.rmtree, self._dir, True)
        self._names = itertools.count()

    def fresh(self) -> TargetProcess:
        """The running server; a new one if there is none yet or the last one died."""
        if self.process is None or self.process.dead is not None:
            if self.process is not None:
                self.process.close()
            self.process = TargetProcess(self.tools.command(self.server), self.target.big_endian)
            self.starts += 1
        return self.process

    def current(self) -> TargetProcess:
        """The server of the moment, dead or alive (requests to a dead one raise)."""
        return self.process if self.process is not None else self.fresh()

    def load(self, objects: list[bytes], symbols: list[str]) -> RemoteCode:
        """Link ``objects`` into one shared object and load it into the current server."""
        process = self.current()
        path = link(self.arch, objects, self._dir / f"code{next(self._names)}.so")
        try:
            handle = process.load(path)
        finally:
            path.unlink()     # the server has it mapped
        return RemoteCode(process, handle, symbols)

    def close(self) -> None:
        if self.process is not None:
            self.process.close()
            self.process = None


__all__ = ["Emulator", "RemoteCode"]
