"""``Global``: a global variable -- an 8-byte cell holding the value's slot."""
from __future__ import annotations

from typing import Any

from ..errors import WasmError
from ..syntax.types import GlobalType
from . import native
from .store import Store
from .values import from_slot, to_slot


class Global:
    """``Global(store, GlobalType(mut, valtype), value)`` creates one; instances
    export theirs.  ``value``/``set_value`` convert as :mod:`.values` describes."""

    def __init__(self, store: Store, ty: GlobalType, value: Any) -> None:
        cell = store.keep(native.slots(1, [to_slot(store, ty.type, value)]))
        self.store = store
        self.cell = native.address(cell)
        store.extern_types[self.cell] = ty

    @classmethod
    def _from_cell(cls, store: Store, cell: int) -> "Global":
        global_ = cls.__new__(cls)
        global_.store, global_.cell = store, cell
        return global_

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Global) and other.cell == self.cell

    def __hash__(self) -> int:
        return hash(self.cell)

    def type(self, store: Store | None = None) -> GlobalType:
        return self.store.extern_types[self.cell]

    def value(self, store: Store | None = None) -> Any:
        return from_slot(self.store, self.type().type, self.slot())

    def slot(self) -> int:
        """The raw slot (see :mod:`.values`): exact bits for floats."""
        return native.read(self.cell)

    def set_value(self, store: Store | None, value: Any) -> None:
        if not self.type().mut:
            raise WasmError("cannot set an immutable global")
        native.write(self.cell, to_slot(self.store, self.type().type, value))
