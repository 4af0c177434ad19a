"""``Tag``: an exception tag (a :class:`~engine.compile.layout.TagRecord`).

A tag's identity is its record's address: every instance allocates its own records
for the tags it defines, an importer uses the very record it is given, and
``Tag(store, ty)`` creates a fresh one from Python.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..compile.layout import TagRecord
from ..syntax.types import FuncType
from . import native
from .handle import Handle

if TYPE_CHECKING:
    from .store import Store


class Tag(Handle):
    """``Tag(store, FuncType(payload_types, ()))`` creates a host tag."""

    def __init__(self, store: Store, ty: FuncType) -> None:
        store.check_usable()
        if not isinstance(ty, FuncType):
            raise TypeError(f"expected a FuncType, got {ty!r}")
        if ty.results:
            raise ValueError(f"a tag's type has no results, not {ty}")
        record = store.keep(native.slots(len(TagRecord)))
        record[TagRecord.TYPE_ID] = store.keep(store.engine.hold_types([ty])).ids[0]
        self.store = store
        self.record = native.address(record)
        self._type: FuncType | None = ty

    @classmethod
    def _from_record(cls, store: "Store", record: int) -> "Tag":
        tag = super()._from_record(store, record)
        tag._type = None
        return tag

    def type(self, store: Store | None = None) -> FuncType:
        """The tag's function type: its parameters are the payload's types."""
        self._owner(store)
        if self._type is None:      # a tag's type never changes
            self._type = self.store.engine.func_type(native.read(self.record, TagRecord.TYPE_ID))
        return self._type

    def __repr__(self) -> str:
        return "<Tag of a closed store>" if self.store.closed else f"<Tag {self.type()} at {self.record:#x}>"
