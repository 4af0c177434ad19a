"""``Memory``: a linear memory (a :class:`~engine.compile.layout.MemoryRecord`).

Wasm memory is little-endian on every target; these methods move bytes, so they
need no byte swapping.  Memories are created and grown by the same native helpers
compiled code uses (``engine/compile/helpers.py``): a reserved range whose pages are
committed when first touched.
"""
from __future__ import annotations

from ..compile.layout import MAX_PAGES, PAGE_SIZE, MemoryRecord
from ..errors import ResourceLimitExceeded, WasmError
from ..syntax.types import Limits, MemType
from . import native
from .handle import Handle, check_limits
from .store import Store


def new_memory_record(store: Store, ty: MemType) -> int:
    """Allocate a memory record as instantiation would; the store frees it."""
    limits = ty.limits
    store.check_initial_size("memory", limits.min * PAGE_SIZE)
    store.reserve(memories=1)
    runtime = store.runtime
    record = native.calloc(1, MemoryRecord.size())
    native.write(record, limits.min * PAGE_SIZE, MemoryRecord.SIZE)
    max_pages = MAX_PAGES if limits.max is None else limits.max
    native.write(record, max_pages, MemoryRecord.MAX_PAGES)
    if runtime.memory_new(record):
        native.free(record)
        raise WasmError(f"cannot reserve address space for a memory of up to {max_pages} pages")

    def release() -> None:
        runtime.memory_free(record)
        native.free(record)

    store.on_close(release)
    store.extern_types[record] = ty
    return record


class Memory(Handle):
    """``Memory(store, MemType(Limits(min, max)))`` creates one; instances export theirs."""

    def __init__(self, store: Store, ty: MemType) -> None:
        store.check_usable()
        if not isinstance(ty, MemType):
            raise TypeError(f"expected a MemType, got {ty!r}")
        check_limits("memory", ty.limits, MAX_PAGES, "pages (4 GiB)")
        self.store = store
        self.record = new_memory_record(store, ty)

    def type(self, store: Store | None = None) -> MemType:
        """The current limits: the size now and the declared maximum."""
        declared: MemType = self._owner(store).extern_types[self.record]
        return MemType(Limits(self.size(), declared.limits.max))

    def data_len(self, store: Store | None = None) -> int:
        self._owner(store)
        return native.read(self.record, MemoryRecord.SIZE)

    def data_ptr(self, store: Store | None = None) -> int:
        """The address of byte 0 (it never moves; the bytes past ``data_len`` are not
        accessible)."""
        self._owner(store)
        return native.read(self.record, MemoryRecord.BASE)

    def size(self, store: Store | None = None) -> int:
        """The size in 64 KiB pages."""
        return self.data_len(store) // PAGE_SIZE

    def grow(self, store: Store | None, delta: int) -> int:
        """Grow by ``delta`` pages; return the old size in pages.  Raises
        :class:`~engine.errors.ResourceLimitExceeded` past the store's limit and
        :class:`WasmError` past the maximum (or when the system refuses the memory)."""
        own = self._owner(store)
        old = self.size()
        if not isinstance(delta, int) or not 0 <= delta <= MAX_PAGES:
            raise WasmError(f"failed to grow memory of {old} pages by {delta!r}: a delta is "
                            f"0 to {MAX_PAGES} pages")
        limit = own.limits.memory_size
        if limit is not None and (old + delta) * PAGE_SIZE > limit:
            raise ResourceLimitExceeded(f"failed to grow memory of {old} pages by {delta}: the "
                                        f"store's limit is {limit} bytes")
        if own.runtime.memory_grow(own.state_address, self.record, delta) == -1:
            raise WasmError(f"failed to grow memory of {old} pages by {delta} (maximum "
                            f"{native.read(self.record, MemoryRecord.MAX_PAGES)} pages)")
        return old

    def _check(self, start: int, length: int) -> None:
        if not isinstance(start, int) or not isinstance(length, int):
            raise TypeError(f"memory offsets are ints, not {start!r} and {length!r}")
        if start < 0 or length < 0 or start + length > self.data_len():
            raise WasmError(f"bytes [{start}, {start + length}) are out of bounds of a "
                            f"memory of {self.data_len()} bytes")

    def read(self, store: Store | None, start: int, stop: int) -> bytes:
        """The bytes ``[start, stop)``."""
        self._owner(store)
        self._check(start, stop - start)
        return native.read_bytes(self.data_ptr() + start, stop - start)

    def write(self, store: Store | None, data: bytes, start: int = 0) -> None:
        self._owner(store)
        data = bytes(data)
        self._check(start, len(data))
        native.write_bytes(self.data_ptr() + start, data)
