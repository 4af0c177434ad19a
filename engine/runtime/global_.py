"""``Global``: a global variable -- an 8-byte cell (its record) holding the value's slot."""
from __future__ import annotations

from typing import Any

from ..errors import WasmError
from ..syntax.types import GlobalType
from . import native
from .handle import Handle
from .store import Store
from .values import from_slot, to_slot


class Global(Handle):
    """``Global(store, GlobalType(mut, valtype), value)`` creates one; instances
    export theirs.  ``value``/``set_value`` convert as :mod:`.values` describes."""

    def __init__(self, store: Store, ty: GlobalType, value: Any) -> None:
        store.check_usable()
        if not isinstance(ty, GlobalType):
            raise TypeError(f"expected a GlobalType, got {ty!r}")
        cell = store.keep(native.slots(1, [to_slot(store, ty.type, value)]))
        self.store = store
        self.record = native.address(cell)
        store.extern_types[self.record] = ty

    def type(self, store: Store | None = None) -> GlobalType:
        return self._owner(store).extern_types[self.record]

    def value(self, store: Store | None = None) -> Any:
        return from_slot(self.store, self.type(store).type, self.slot())

    def slot(self) -> int:
        """The raw slot (see :mod:`.values`): exact bits for floats."""
        self._owner()
        return native.read(self.record)

    def set_value(self, store: Store | None, value: Any) -> None:
        ty = self.type(store)
        if not ty.mut:
            raise WasmError("cannot set an immutable global")
        native.write(self.record, to_slot(self.store, ty.type, value))
