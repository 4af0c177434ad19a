"""``engine/runtime/native.py``'s functions on an emulated target's memory.

The runtime reaches native memory only through its ``native`` module: libc allocation,
8-byte slots, byte ranges, and three kinds of C function pointer.  :class:`Native` is
the same interface over a target server's pipe, so the runtime's own code runs
unchanged against the emulated machine (see :mod:`engine.emulated`):

* a slot is decoded and encoded in the **target's** byte order (the host's is never
  assumed); byte ranges -- linear memory, little-endian on every target -- move as they
  are;
* :meth:`Native.slots` is an array in the target's memory, indexed like the ctypes
  array it stands for, and freed when it is garbage (ctypes frees with the object too);
* ``ENTRY`` and ``RELEASE`` are calls made by the server; ``HOST_CALLBACK`` takes one of
  the server's callback entries (whose address goes into a host context) and runs the
  Python callable when compiled code calls it.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .machine import Emulator
from .process import OP_FREE, TargetProcess, int32

_MASK = 0xFFFF_FFFF_FFFF_FFFF


class Slots:
    """``count`` zeroed 8-byte slots in a target server's memory (at least one)."""

    __slots__ = ("process", "address", "count")

    def __init__(self, process: TargetProcess, count: int, values: Sequence[int] = ()) -> None:
        self.process = process
        self.count = max(count, 1)
        self.address = 0
        self.address = process.calloc(self.count, 8)
        if not self.address:
            raise MemoryError(f"the target cannot allocate {count} slots")
        if values:
            process.write_slots(self.address, list(values))

    def _index(self, index: int) -> int:
        if not 0 <= index < self.count:
            raise IndexError(f"slot {index} of {self.count}")
        return self.address + 8 * int(index)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(self.count)
            values = self.process.read_slots(self.address + 8 * start, max(stop - start, 0))
            return list(values[::step])
        return self.process.read_slots(self._index(index), 1)[0]

    def __setitem__(self, index: int, value: int) -> None:
        self.process.write_slots(self._index(index), (value,))

    def __len__(self) -> int:
        return self.count

    def __del__(self) -> None:
        if self.address:
            self.process.defer(OP_FREE, self.address)


class HostCallback:
    """A server callback entry bound to ``function(hostctx, buf) -> status`` while this
    object lives (the runtime keeps it as long as its host function)."""

    def __init__(self, process: TargetProcess, function: Callable[[int, int], int]) -> None:
        free = process.callback_entries
        if not free:
            raise MemoryError("the target server has no callback entry left")
        self.process = process
        self.address = free.pop()
        process.register(self.address, function)

    def __del__(self) -> None:
        self.process.callbacks.pop(self.address, None)
        self.process.callback_entries.append(self.address)


class Native:
    """The runtime's ``native`` module for ``emulator``'s target: every function of
    ``engine/runtime/native.py``, acting on the current target server."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    @property
    def process(self) -> TargetProcess:
        return self.emulator.current()

    # C function pointers: callables with the ctypes prototypes' signatures.

    def ENTRY(self, address: int) -> Callable[[int, int, int], int]:  # noqa: N802 -- native's name
        """``i32 entry(code, vmctx, buf)``, run by the server."""
        process = self.process

        def call(code: int, vmctx: int, buf: int) -> int:
            return int32(process.call(address, code, vmctx, buf))
        return call

    def RELEASE(self, address: int) -> Callable[[int], None]:  # noqa: N802
        """``void release(vmctx)``, run by the server."""
        process = self.process

        def release(vmctx: int) -> None:
            if process.dead is None:      # a dead server's instances are gone with it
                process.call(address, vmctx)
        return release

    def HOST_CALLBACK(self, function: Callable[[int, int], int]) -> HostCallback:  # noqa: N802
        return HostCallback(self.process, function)

    def ctypes_address(self, pointer: HostCallback) -> int:
        return pointer.address

    # Memory.

    def calloc(self, count: int, size: int) -> int:
        address = self.process.calloc(max(count, 1), size)
        if not address:
            raise MemoryError(f"calloc({count}, {size}) failed on the target")
        return address

    def realloc(self, address: int, size: int) -> int | None:
        return self.process.realloc(address, max(size, 1)) or None

    def free(self, address: int) -> None:
        self.process.free(address)

    def slots(self, count: int, values: Sequence[int] = ()) -> Slots:
        return Slots(self.process, count, values)

    def address(self, array: Slots) -> int:
        return array.address

    def read(self, address_: int, index: int = 0) -> int:
        return self.process.read_slots(address_ + 8 * index, 1)[0]

    def write(self, address_: int, value: int, index: int = 0) -> None:
        self.process.write_slots(address_ + 8 * index, (value & _MASK,))

    def read_bytes(self, address_: int, length: int) -> bytes:
        return self.process.read(address_, length)

    def write_bytes(self, address_: int, data: bytes) -> None:
        self.process.write(address_, bytes(data))

    def fill(self, address_: int, byte: int, length: int) -> None:
        self.process.fill(address_, byte, length)


__all__ = ["HostCallback", "Native", "Slots"]
