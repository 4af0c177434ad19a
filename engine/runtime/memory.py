"""``Memory``: a linear memory (a :class:`~engine.compile.layout.MemoryRecord`).

Wasm memory is little-endian on every target; these methods move bytes, so they
need no byte swapping.
"""
from __future__ import annotations

from ..compile.layout import MAX_PAGES, PAGE_SIZE, MemoryRecord
from ..errors import WasmError
from ..syntax.types import Limits, MemType
from . import native
from .handle import Handle
from .store import Store


def new_memory_record(store: Store, ty: MemType) -> int:
    """Allocate a memory record as compiled ``instantiate`` would; the store frees it."""
    limits = ty.limits
    record = native.calloc(1, MemoryRecord.size())
    native.write(record, native.calloc(limits.min * PAGE_SIZE + 1, 1), MemoryRecord.BASE)
    native.write(record, limits.min * PAGE_SIZE, MemoryRecord.SIZE)
    native.write(record, MAX_PAGES if limits.max is None else limits.max, MemoryRecord.MAX_PAGES)

    def release() -> None:
        native.free(native.read(record, MemoryRecord.BASE))
        native.free(record)

    store.on_close(release)
    store.extern_types[record] = ty
    return record


class Memory(Handle):
    """``Memory(store, MemType(Limits(min, max)))`` creates one; instances export theirs."""

    def __init__(self, store: Store, ty: MemType) -> None:
        if ty.limits.min > MAX_PAGES or (ty.limits.max or 0) > MAX_PAGES:
            raise WasmError(f"memory size must be at most {MAX_PAGES} pages (4 GiB)")
        self.store = store
        self.record = new_memory_record(store, ty)

    def type(self, store: Store | None = None) -> MemType:
        """The current limits: the size now and the declared maximum."""
        declared: MemType = self.store.extern_types[self.record]
        return MemType(Limits(self.size(), declared.limits.max))

    def data_len(self, store: Store | None = None) -> int:
        return native.read(self.record, MemoryRecord.SIZE)

    def data_ptr(self, store: Store | None = None) -> int:
        """The address of byte 0 (it moves when the memory grows)."""
        return native.read(self.record, MemoryRecord.BASE)

    def size(self, store: Store | None = None) -> int:
        """The size in 64 KiB pages."""
        return self.data_len() // PAGE_SIZE

    def grow(self, store: Store | None, delta: int) -> int:
        """Grow by ``delta`` pages; return the old size in pages.  Raises
        :class:`WasmError` when that would pass the maximum (or memory runs out)."""
        old, size = self.size(), self.data_len()
        if delta < 0 or old + delta > native.read(self.record, MemoryRecord.MAX_PAGES):
            raise WasmError(f"failed to grow memory of {old} pages by {delta}")
        if delta:
            new_size = (old + delta) * PAGE_SIZE
            base = native.realloc(self.data_ptr(), new_size)
            if base is None:
                raise WasmError(f"failed to grow memory of {old} pages by {delta}: out of memory")
            native.fill(base + size, 0, new_size - size)
            native.write(self.record, base, MemoryRecord.BASE)
            native.write(self.record, new_size, MemoryRecord.SIZE)
        return old

    def _check(self, start: int, length: int) -> None:
        if start < 0 or length < 0 or start + length > self.data_len():
            raise WasmError(f"bytes [{start}, {start + length}) are out of bounds of a "
                            f"memory of {self.data_len()} bytes")

    def read(self, store: Store | None, start: int, stop: int) -> bytes:
        """The bytes ``[start, stop)``."""
        self._check(start, stop - start)
        return native.read_bytes(self.data_ptr() + start, stop - start)

    def write(self, store: Store | None, data: bytes, start: int = 0) -> None:
        self._check(start, len(data))
        native.write_bytes(self.data_ptr() + start, bytes(data))
