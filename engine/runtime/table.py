"""``Table``: a table of references (a :class:`~engine.compile.layout.TableRecord`)."""
from __future__ import annotations

from typing import Any

from ..compile.layout import TableRecord
from ..errors import WasmError
from ..syntax.types import Limits, TableType
from . import native
from .handle import Handle
from .store import Store
from .values import from_slot, to_slot

_NO_MAX = 0xFFFF_FFFF


def new_table_record(store: Store, ty: TableType, init: int = 0) -> int:
    """Allocate a table record as compiled ``instantiate`` would; the store frees it."""
    limits = ty.limits
    record = native.calloc(1, TableRecord.size())
    elems = native.calloc(limits.min + 1, 8)
    for i in range(limits.min if init else 0):
        native.write(elems, init, i)
    native.write(record, elems, TableRecord.ELEMS)
    native.write(record, limits.min, TableRecord.SIZE)
    native.write(record, _NO_MAX if limits.max is None else limits.max, TableRecord.MAX)

    def release() -> None:
        native.free(native.read(record, TableRecord.ELEMS))
        native.free(record)

    store.on_close(release)
    store.extern_types[record] = ty
    return record


class Table(Handle):
    """``Table(store, TableType(Limits(min, max), FUNCREF), init)`` creates one, every
    element set to ``init``; instances export theirs."""

    def __init__(self, store: Store, ty: TableType, init: Any = None) -> None:
        self.store = store
        self.record = new_table_record(store, ty, to_slot(store, ty.elem, init))

    def type(self, store: Store | None = None) -> TableType:
        """The current limits (the length now, the declared maximum) and element type."""
        declared: TableType = self.store.extern_types[self.record]
        return TableType(Limits(self.size(), declared.limits.max), declared.elem)

    def size(self, store: Store | None = None) -> int:
        return native.read(self.record, TableRecord.SIZE)

    def _index(self, index: int) -> int:
        if not 0 <= index < self.size():
            raise WasmError(f"table index {index} is out of bounds of a table of {self.size()}")
        return index

    def get(self, store: Store | None, index: int) -> Any:
        slot = native.read(native.read(self.record, TableRecord.ELEMS), self._index(index))
        return from_slot(self.store, self.type().elem, slot)

    def set(self, store: Store | None, index: int, value: Any) -> None:
        slot = to_slot(self.store, self.type().elem, value)
        native.write(native.read(self.record, TableRecord.ELEMS), slot, self._index(index))

    def grow(self, store: Store | None, delta: int, init: Any = None) -> int:
        """Grow by ``delta`` elements set to ``init``; return the old length."""
        old = self.size()
        if delta < 0 or old + delta > native.read(self.record, TableRecord.MAX):
            raise WasmError(f"failed to grow table of {old} elements by {delta}")
        slot = to_slot(self.store, self.type().elem, init)
        elems = native.realloc(native.read(self.record, TableRecord.ELEMS), 8 * (old + delta + 1))
        if elems is None:
            raise WasmError(f"failed to grow table of {old} elements by {delta}: out of memory")
        for i in range(old, old + delta):
            native.write(elems, slot, i)
        native.write(self.record, elems, TableRecord.ELEMS)
        native.write(self.record, old + delta, TableRecord.SIZE)
        return old
