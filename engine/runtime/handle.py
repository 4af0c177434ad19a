"""``Handle``: what every extern object is -- a native record of a store, identified
by its address (two handles to one record are equal, as wasm sees one function,
memory, table, global or tag).

The rules every handle keeps, so that no use of one can touch freed or foreign
memory:

* a handle belongs to exactly one store, for good, and keeps it alive;
* every public method that reads or writes native memory, or passes the handle on
  to native code, first calls :meth:`Handle._owner` with the store the caller named,
  which raises a :class:`~engine.errors.StoreError` unless the handle's store is that
  store (or none was named), is open, and is not in a call on another thread;
* a handle given to another object of a store (an import, a table element, a
  global's value, an argument) is checked against *that* store the same way.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from ..errors import WasmError, WrongStore
from ..syntax.types import Limits

if TYPE_CHECKING:
    from .store import Store

H = TypeVar("H", bound="Handle")


class Handle:
    store: "Store"
    record: int
    """The record's address: a FuncRecord, MemoryRecord, TableRecord, global cell or
    TagRecord (see ``engine/compile/layout.py``)."""

    @classmethod
    def _from_record(cls: type[H], store: "Store", record: int) -> H:
        """A handle to an existing record (an instance's export, a table element...)."""
        handle = cls.__new__(cls)
        handle.store, handle.record = store, record
        return handle

    def _owner(self, store: "Store | None" = None) -> "Store":
        """The handle's store, once it is known safe to use: ``store`` (the caller's,
        if named) must be it, and it must be open and free for this thread."""
        own = self.store
        if store is not None and store is not own:
            raise WrongStore(f"{type(self).__name__} used with the wrong store: it belongs to "
                             f"{own!r}, not {store!r} (objects never move between stores)")
        own.check_usable()
        return own

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and other.store is self.store  # type: ignore[attr-defined]
                and other.record == self.record)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self.record)


def check_limits(kind: str, limits: Limits, largest: int, unit: str) -> None:
    """Raise :class:`~engine.errors.WasmError` unless ``limits`` are valid for a new
    ``kind`` (``"memory"`` or ``"table"``) of at most ``largest`` ``unit``."""
    if not 0 <= limits.min <= largest or not 0 <= (limits.max or 0) <= largest:
        raise WasmError(f"{kind} size must be 0 to {largest} {unit}, not {limits}")
    if limits.max is not None and limits.max < limits.min:
        raise WasmError(f"{kind} maximum {limits.max} is below its minimum {limits.min}")
