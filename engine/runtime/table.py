"""``Table``: a table of references (a :class:`~engine.compile.layout.TableRecord`)."""
from __future__ import annotations

from typing import Any

from ..compile.layout import TableRecord
from ..errors import ResourceLimitExceeded, WasmError
from ..syntax.types import Limits, TableType
from . import native
from .handle import Handle, check_limits
from .store import Store
from .values import from_slot, to_slot

_NO_MAX = 0xFFFF_FFFF


def new_table_record(store: Store, ty: TableType, init: int = 0) -> int:
    """Allocate a table record as instantiation would; the store frees it."""
    limits = ty.limits
    store.check_initial_size("table", limits.min)
    store.reserve(tables=1)
    record = native.calloc(1, TableRecord.size())
    native.write(record, native.calloc(limits.min + 1, 8), TableRecord.ELEMS)
    native.write(record, limits.min, TableRecord.SIZE)
    native.write(record, _NO_MAX if limits.max is None else limits.max, TableRecord.MAX)
    if init:
        store.runtime.table_fill(record, 0, init, limits.min)

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
        store.check_usable()
        if not isinstance(ty, TableType):
            raise TypeError(f"expected a TableType, got {ty!r}")
        check_limits("table", ty.limits, _NO_MAX, "elements")
        self.store = store
        self.record = new_table_record(store, ty, to_slot(store, ty.elem, init))

    def type(self, store: Store | None = None) -> TableType:
        """The current limits (the length now, the declared maximum) and element type."""
        declared: TableType = self._owner(store).extern_types[self.record]
        return TableType(Limits(self.size(), declared.limits.max), declared.elem)

    def size(self, store: Store | None = None) -> int:
        self._owner(store)
        return native.read(self.record, TableRecord.SIZE)

    def _index(self, index: int) -> int:
        if not isinstance(index, int) or not 0 <= index < self.size():
            raise WasmError(f"table index {index!r} is out of bounds of a table of {self.size()}")
        return index

    def get(self, store: Store | None, index: int) -> Any:
        own = self._owner(store)
        slot = native.read(native.read(self.record, TableRecord.ELEMS), self._index(index))
        return from_slot(own, self.type().elem, slot)

    def set(self, store: Store | None, index: int, value: Any) -> None:
        own = self._owner(store)
        slot = to_slot(own, self.type().elem, value)
        native.write(native.read(self.record, TableRecord.ELEMS), slot, self._index(index))

    def grow(self, store: Store | None, delta: int, init: Any = None) -> int:
        """Grow by ``delta`` elements set to ``init``; return the old length.  Raises
        :class:`~engine.errors.ResourceLimitExceeded` past the store's limit and
        :class:`WasmError` past the maximum (or when memory runs out)."""
        own = self._owner(store)
        old = self.size()
        if not isinstance(delta, int) or not 0 <= delta <= _NO_MAX:
            raise WasmError(f"failed to grow table of {old} elements by {delta!r}: a delta is "
                            f"0 to {_NO_MAX} elements")
        limit = own.limits.table_elements
        if limit is not None and old + delta > limit:
            raise ResourceLimitExceeded(f"failed to grow table of {old} elements by {delta}: the "
                                        f"store's limit is {limit} elements")
        slot = to_slot(own, self.type().elem, init)
        if own.runtime.table_grow(own.state_address, self.record, slot, delta) == -1:
            raise WasmError(f"failed to grow table of {old} elements by {delta} (maximum "
                            f"{native.read(self.record, TableRecord.MAX)}, or out of memory)")
        return old
