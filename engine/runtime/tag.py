"""``Tag``: an exception tag (a :class:`~engine.compile.layout.TagRecord`).

A tag's identity is its record's address: every instance allocates its own records
for the tags it defines, an importer uses the very record it is given, and
``Tag(store, ty)`` creates a fresh one from Python.
"""
from __future__ import annotations

from ..compile.layout import TagRecord
from ..syntax.types import FuncType
from . import native
from .store import Store


class Tag:
    """``Tag(store, FuncType(payload_types, ()))`` creates a host tag."""

    def __init__(self, store: Store, ty: FuncType) -> None:
        if ty.results:
            raise ValueError(f"a tag's type has no results, not {ty}")
        record = store.keep(native.slots(len(TagRecord)))
        record[TagRecord.TYPE_ID] = store.engine.type_id(ty)
        self.store = store
        self.record = native.address(record)

    @classmethod
    def _from_record(cls, store: Store, record: int) -> "Tag":
        tag = cls.__new__(cls)
        tag.store, tag.record = store, record
        return tag

    def type(self, store: Store | None = None) -> FuncType:
        """The tag's function type: its parameters are the payload's types."""
        return self.store.engine.func_type(native.read(self.record, TagRecord.TYPE_ID))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tag) and other.record == self.record

    def __hash__(self) -> int:
        return hash(self.record)

    def __repr__(self) -> str:
        return f"<Tag {self.type()} at {self.record:#x}>"
