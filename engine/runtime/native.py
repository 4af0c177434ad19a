"""The runtime's window onto native memory: libc allocation, 8-byte slot access and
the C signatures of the compiled entry points.

Records the compiled code may ``realloc`` or ``free`` (memory bytes, table elements)
are allocated with libc here too, never by ``ctypes``, so either side can own them.
"""
from __future__ import annotations

import ctypes

_libc = ctypes.CDLL(None)
_libc.calloc.restype = ctypes.c_void_p
_libc.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
_libc.realloc.restype = ctypes.c_void_p
_libc.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.free.restype = None
_libc.free.argtypes = [ctypes.c_void_p]

ENTRY = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
"""``i32 entry(code, vmctx, buf)``: an entry trampoline."""
HOST_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)
"""``i32 callback(hostctx, buf)``: what a host stub calls."""
RELEASE = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
"""``void release(vmctx)``."""


def calloc(count: int, size: int) -> int:
    """Zeroed libc memory (at least one byte, so the pointer is never null)."""
    address = _libc.calloc(max(count, 1), size)
    if not address:
        raise MemoryError(f"calloc({count}, {size}) failed")
    return address


def realloc(address: int, size: int) -> int | None:
    """libc ``realloc``; ``None`` when it fails (the old block is then still valid)."""
    return _libc.realloc(address, max(size, 1)) or None


def free(address: int) -> None:
    _libc.free(address)


def slots(count: int, values: tuple[int, ...] | list[int] = ()) -> ctypes.Array:
    """A ctypes array of ``count`` 8-byte slots (at least one)."""
    return (ctypes.c_uint64 * max(count, 1))(*values)


def address(array: ctypes.Array) -> int:
    return ctypes.addressof(array)


def read(address_: int, index: int = 0) -> int:
    """The unsigned 8-byte slot ``index`` of the array at ``address_``."""
    return ctypes.c_uint64.from_address(address_ + 8 * index).value


def write(address_: int, value: int, index: int = 0) -> None:
    ctypes.c_uint64.from_address(address_ + 8 * index).value = value & 0xFFFF_FFFF_FFFF_FFFF


def read_bytes(address_: int, length: int) -> bytes:
    return ctypes.string_at(address_, length)


def write_bytes(address_: int, data: bytes) -> None:
    ctypes.memmove(address_, data, len(data))


def fill(address_: int, byte: int, length: int) -> None:
    ctypes.memset(address_, byte, length)


def ctypes_address(pointer: object) -> int:
    """The address of a ctypes function pointer."""
    return ctypes.cast(pointer, ctypes.c_void_p).value or 0
