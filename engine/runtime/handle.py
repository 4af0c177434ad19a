"""``Handle``: what every extern object is -- a native record of a store, identified
by its address (two handles to one record are equal, as wasm sees one function,
memory, table, global or tag)."""
from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

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

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.record == self.record  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self.record)
