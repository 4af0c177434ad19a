"""``Instance``: a module instantiated in a store with its imports bound.

Python does only what compiled code cannot: it checks the imports' types (the
spec's import matching), allocates the :class:`~engine.compile.layout.VMContext`
and its index-space arrays, points the imported slots at the imported records, puts
the module's shape in the instance context and calls the store runtime's
``rt_initialize``, which does the rest (``engine/compile/initialize.py``).
"""
from __future__ import annotations

from typing import Iterator, Sequence, Union

from ..compile.initialize import INITIALIZE
from ..compile.layout import PAGE_SIZE, VMContext
from ..compile.trampolines import NO_PARAMS
from ..errors import LinkError, WrongStore
from ..syntax.types import (ExternKind, FuncType, GlobalType, Limits, MemType, TableType,
                            TagType, subtype)
from . import native
from .func import Func, call_native
from .global_ import Global
from .memory import Memory
from .module import ExternType, Module
from .store import Store
from .table import Table
from .tag import Tag

Extern = Union[Func, Table, Memory, Global, Tag]

_KIND = {Func: ExternKind.FUNC, Table: ExternKind.TABLE, Memory: ExternKind.MEMORY,
         Global: ExternKind.GLOBAL, Tag: ExternKind.TAG}


def extern_kind(extern: Extern) -> ExternKind:
    return _KIND[type(extern)]


def _limits_match(actual: Limits, expected: Limits) -> bool:
    if actual.min < expected.min:
        return False
    if expected.max is None:
        return True
    return actual.max is not None and actual.max <= expected.max


def matches(extern: Extern, expected: ExternType) -> bool:
    """Whether ``extern`` may be imported where ``expected`` is declared (spec
    "import matching", with the current sizes of memories and tables)."""
    actual = extern.type()
    if isinstance(expected, FuncType):      # a function's or a tag's type
        return actual == expected
    if isinstance(expected, TableType):
        assert isinstance(actual, TableType)
        return actual.elem == expected.elem and _limits_match(actual.limits, expected.limits)
    if isinstance(expected, MemType):
        assert isinstance(actual, MemType)
        return _limits_match(actual.limits, expected.limits)
    assert isinstance(actual, GlobalType) and isinstance(expected, GlobalType)
    if actual.mut != expected.mut:
        return False
    return actual.type == expected.type if actual.mut else subtype(actual.type, expected.type)


class Instance:
    """``Instance(store, module, imports)`` instantiates ``module`` with ``imports``
    given in the module's import order.  Raises :class:`~engine.errors.LinkError` when
    an import is missing or of the wrong type, and
    :class:`~engine.errors.Trap` when instantiation traps (a segment out of
    bounds, or the start function) -- what the instance already wrote into imported
    tables and memories stays, as the spec says."""

    def __init__(self, store: Store, module: Module, imports: Sequence[Extern]) -> None:
        store.check_usable()
        if not isinstance(module, Module):
            raise TypeError(f"expected a Module, got {module!r}")
        if module.engine is not store.engine:
            raise WrongStore("the module was compiled by another engine than the store's: "
                             "instantiate it in a store of its own engine")
        m = module.syntax
        imports = list(imports)
        if len(imports) != len(m.imports):
            raise LinkError(f"expected {len(m.imports)} imports, got {len(imports)}")
        seen = {k: 0 for k in ExternKind}
        for extern, imp in zip(imports, m.imports):
            expected = module.extern_type(imp.kind, seen[imp.kind])
            if isinstance(expected, TagType):
                expected = m.types[expected.type_idx]
            seen[imp.kind] += 1
            if _KIND.get(type(extern)) is not imp.kind:
                raise LinkError(f"incompatible import type for {imp.module}::{imp.name}: "
                                f"expected {imp.kind.name.lower()}, got {type(extern).__name__}")
            extern._owner(store)
            if not matches(extern, expected):
                raise LinkError(f"incompatible import type for {imp.module}::{imp.name}: "
                                f"expected {expected}, got {extern.type()}")
        for mem in m.mems:
            store.check_initial_size("memory", mem.type.limits.min * PAGE_SIZE)
        for table in m.tables:
            store.check_initial_size("table", table.type.limits.min)
        store.reserve(instances=1, tables=len(m.tables), memories=len(m.mems))
        self.store, self.module = store, module
        counts = {k: len(m.imported(k)) for k in ExternKind}
        self._vmctx = store.keep(native.slots(len(VMContext)))
        arrays = {
            VMContext.FUNCS: len(m.func_types()), VMContext.GLOBALS: len(m.global_types()),
            VMContext.TABLES: len(m.table_types()), VMContext.TAGS: len(m.tag_types()),
        }
        for field, length in arrays.items():
            self._vmctx[field] = native.address(store.keep(native.slots(length)))
        self._vmctx[VMContext.TYPE_IDS] = native.address(
            store.keep(native.slots(len(module.type_ids), module.type_ids)))
        self._vmctx[VMContext.STORE] = store.state_address
        self.vmctx = native.address(self._vmctx)
        self._bind(imports)
        vmctx = self.vmctx
        # The finalizer holds the module: its code must outlive the instance's release.
        store.on_close(lambda: module.release(vmctx))
        self._vmctx[VMContext.SHAPE] = module.shape
        try:
            call_native(store, NO_PARAMS, store.engine.store_runtime().code[INITIALIZE], vmctx, [])
        finally:
            self._register_types(counts)

    def _bind(self, imports: Sequence[Extern]) -> None:
        index = {k: 0 for k in ExternKind}
        fields = {ExternKind.FUNC: VMContext.FUNCS, ExternKind.TABLE: VMContext.TABLES,
                  ExternKind.GLOBAL: VMContext.GLOBALS, ExternKind.TAG: VMContext.TAGS}
        for extern in imports:
            kind = extern_kind(extern)
            if kind is ExternKind.MEMORY:
                self._vmctx[VMContext.MEMORY] = extern.record  # type: ignore[union-attr]
                continue
            native.write(self._vmctx[fields[kind]], extern.record, index[kind])
            index[kind] += 1

    def _register_types(self, imported: dict[ExternKind, int]) -> None:
        """Record the declared types of the memories, tables and globals instantiation
        allocated, and the function records (those it got to, if it trapped)."""
        m, types = self.module.syntax, self.store.extern_types
        funcs = self._vmctx[VMContext.FUNCS]
        defined = range(imported[ExternKind.FUNC], imported[ExternKind.FUNC] + len(m.funcs))
        self.store.func_records.update(record for record in (native.read(funcs, i) for i in defined)
                                       if record)
        if m.mems and self._vmctx[VMContext.MEMORY]:
            types[self._vmctx[VMContext.MEMORY]] = m.mems[0].type
        for i, table in enumerate(m.tables):
            record = native.read(self._vmctx[VMContext.TABLES], imported[ExternKind.TABLE] + i)
            if record:
                types[record] = table.type
        for i, g in enumerate(m.globals):
            cell = native.read(self._vmctx[VMContext.GLOBALS], imported[ExternKind.GLOBAL] + i)
            if cell:
                types[cell] = g.type

    def _extern(self, kind: ExternKind, index: int) -> Extern:
        store, vmctx = self.store, self._vmctx
        if kind is ExternKind.FUNC:
            return Func._from_record(store, native.read(vmctx[VMContext.FUNCS], index))
        if kind is ExternKind.TABLE:
            return Table._from_record(store, native.read(vmctx[VMContext.TABLES], index))
        if kind is ExternKind.MEMORY:
            return Memory._from_record(store, vmctx[VMContext.MEMORY])
        if kind is ExternKind.GLOBAL:
            return Global._from_record(store, native.read(vmctx[VMContext.GLOBALS], index))
        return Tag._from_record(store, native.read(vmctx[VMContext.TAGS], index))

    def exports(self, store: Store | None = None) -> "InstanceExports":
        if store is not None and store is not self.store:
            raise WrongStore("Instance used with the wrong store: it belongs to "
                             f"{self.store!r}, not {store!r}")
        self.store.check_usable()
        return InstanceExports({e.name: self._extern(e.kind, e.index)
                                for e in self.module.syntax.exports})


class InstanceExports:
    """An instance's exports by name (in declaration order)."""

    def __init__(self, externs: dict[str, Extern]) -> None:
        self._externs = externs

    def __getitem__(self, name: str) -> Extern:
        try:
            return self._externs[name]
        except KeyError:
            raise KeyError(f"no export named {name!r}") from None

    def get(self, name: str) -> Extern | None:
        return self._externs.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._externs

    def __iter__(self) -> Iterator[str]:
        return iter(self._externs)

    def __len__(self) -> int:
        return len(self._externs)

    def items(self):  # type: ignore[no-untyped-def]
        return self._externs.items()
