"""Exceptions across the host boundary: :class:`ExnRef` and :class:`WasmException`.

An exception object lives in native memory, owned by its store and freed by the
collector (``engine/compile/collector.py``) once nothing reaches it.  Python's
references count: an :class:`ExnRef` registers its object in the store's host-roots
table for as long as the ``ExnRef`` lives, so an exnref held by Python stays valid
however many collections run -- the rooting problem wasmtime met when exceptions
crossed a host scope.
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Sequence

from ..compile.layout import ExnObject
from . import native
from .handle import Handle
from .tag import Tag
from ..syntax.types import EXNREF
from .values import check_slot, from_slot, to_slot

if TYPE_CHECKING:
    from .store import Store


class ExnRef(Handle):
    """A reference to an exception object, as wasm's ``exnref``.  Equal exnrefs are
    the same object: ``throw_ref`` of it rethrows that very exception."""

    def __init__(self, store: Store, pointer: int) -> None:
        """An exnref to the exception object at ``pointer``, which must be one of
        ``store``'s (a raw ``exnref`` slot, say in a ``slots=True`` host function)."""
        store.check_usable()
        self._root(store, check_slot(store, EXNREF, pointer))

    @classmethod
    def _of(cls, store: Store, pointer: int) -> "ExnRef":
        """An exnref to an object wasm code just handed over (known to be the store's)."""
        exnref = cls.__new__(cls)
        exnref._root(store, pointer)
        return exnref

    def _root(self, store: Store, pointer: int) -> None:
        self.store = store
        self.record = pointer
        slot = store.host_roots.add(pointer)
        weakref.finalize(self, store.host_roots.remove, slot)

    @property
    def pointer(self) -> int:
        """The exception object's address."""
        return self.record

    @property
    def tag(self) -> Tag:
        self._owner()
        return Tag._from_record(self.store, native.read(self.pointer, ExnObject.TAG))

    @property
    def payload(self) -> list[Any]:
        return [from_slot(self.store, t, native.read(self.pointer, ExnObject.FIELDS + i))
                for i, t in enumerate(self.tag.type().params)]

    def payload_slots(self) -> list[int]:
        """The payload as raw slots (exact bits; see :mod:`.values`)."""
        self._owner()
        return [native.read(self.pointer, ExnObject.FIELDS + i)
                for i in range(native.read(self.pointer, ExnObject.NFIELDS))]

    def __repr__(self) -> str:
        if self.store.closed:
            return "<ExnRef of a closed store>"
        return f"<ExnRef {self.tag.type()} at {self.pointer:#x}>"


class WasmException(Exception):
    """A wasm exception seen from Python.

    Raised by a call when an exception escapes wasm code, with its ``tag``,
    ``payload`` and ``exnref``.  A host function raises one to throw into the wasm
    code that called it: ``WasmException(tag, payload)`` makes a new exception object
    of ``tag`` (in the store of the call), and re-raising a caught one throws its very
    object again (``exnref`` is kept)."""

    def __init__(self, tag: Tag, payload: Sequence[Any] = (), *, exnref: ExnRef | None = None) -> None:
        if not isinstance(tag, Tag):
            raise TypeError(f"a WasmException's tag is a Tag, not {tag!r}")
        params = tag.type().params
        if len(payload) != len(params):
            raise TypeError(f"tag of type {tag.type()} takes {len(params)} payload values, "
                            f"got {len(payload)}")
        super().__init__(tag, list(payload))
        self.tag = tag
        self.payload = list(payload)
        self.exnref = exnref

    def __str__(self) -> str:
        return f"wasm exception with tag {self.tag.type()} and payload {self.payload}"

    @classmethod
    def _from_object(cls, store: Store, pointer: int) -> "WasmException":
        exnref = ExnRef._of(store, pointer)
        return cls(exnref.tag, exnref.payload, exnref=exnref)

    @classmethod
    def from_slots(cls, store: Store, tag: Tag, slots: Sequence[int]) -> "WasmException":
        """A new exception object of ``tag`` in ``store`` whose payload is ``slots``
        (raw, see :mod:`.values`: exact for every bit pattern)."""
        if len(slots) != len(tag.type(store).params):
            raise TypeError(f"tag of type {tag.type()} takes {len(tag.type().params)} payload "
                            f"values, got {len(slots)}")
        slots = [check_slot(store, t, slot) for t, slot in zip(tag.type().params, slots)]
        pointer = store.exn_alloc(tag.record, len(slots))
        for i, slot in enumerate(slots):
            native.write(pointer, slot, ExnObject.FIELDS + i)
        return cls._from_object(store, pointer)

    def _object(self, store: Store) -> int:
        """The exception object to throw in ``store``: its own, or a new one.  The tag
        (and any reference in the payload) must belong to ``store``: an exception never
        crosses stores."""
        params = self.tag.type(store).params
        if self.exnref is not None and self.exnref.store is store:
            return self.exnref.pointer
        slots = [to_slot(store, t, v) for t, v in zip(params, self.payload)]
        pointer = store.exn_alloc(self.tag.record, len(slots))
        for i, slot in enumerate(slots):
            native.write(pointer, slot, ExnObject.FIELDS + i)
        self.exnref = ExnRef._of(store, pointer)
        return pointer
