"""Modules (spec section 2.5) as typed dataclasses, using the spec's names.

Fields marked ``compare=False`` are encoding hints or debugging aids (which of the
equivalent binary forms a segment used, byte offsets, the name section): two modules
that differ only there are the same module.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Union

from .instructions import Instr
from .types import ExternKind, FuncType, GlobalType, MemType, RefType, TableType, TagType, ValType

Expr = list[Instr]
"""A constant expression or body, without its closing ``end``."""


@dataclass(slots=True)
class Func:
    type_idx: int
    locals: list[ValType]
    body: Expr
    offsets: list[int] | None = field(default=None, compare=False, repr=False)
    """Byte offset of each instruction of ``body``, then of the closing ``end``."""


@dataclass(slots=True)
class Table:
    type: TableType


@dataclass(slots=True)
class Memory:
    type: MemType


@dataclass(slots=True)
class Global:
    type: GlobalType
    init: Expr


@dataclass(slots=True)
class Tag:
    type: TagType


class SegmentMode(enum.Enum):
    PASSIVE = "passive"
    ACTIVE = "active"
    DECLARATIVE = "declarative"


@dataclass(slots=True)
class Elem:
    type: RefType
    init: list[Expr]
    mode: SegmentMode
    table: int = 0
    offset: Expr | None = None
    form: int | None = field(default=None, compare=False)
    """Binary flag (0-7) the segment was decoded from; the encoder reuses it."""


@dataclass(slots=True)
class Data:
    init: bytes
    mode: SegmentMode
    memory: int = 0
    offset: Expr | None = None
    form: int | None = field(default=None, compare=False)
    """Binary flag (0-2) the segment was decoded from; the encoder reuses it."""


ImportDesc = Union[int, TableType, MemType, GlobalType, TagType]
"""A function import's type index, or the type of the imported table/memory/global/tag."""


@dataclass(slots=True)
class Import:
    module: str
    name: str
    kind: ExternKind
    desc: ImportDesc


@dataclass(slots=True)
class Export:
    name: str
    kind: ExternKind
    index: int


@dataclass(slots=True)
class Custom:
    name: str
    data: bytes
    after: int
    """Id of the last non-custom section before this one (0 at the front)."""


@dataclass(slots=True)
class Names:
    """Contents of the ``name`` custom section, where it could be read."""

    module: str | None = None
    funcs: dict[int, str] = field(default_factory=dict)
    locals: dict[int, dict[int, str]] = field(default_factory=dict)


@dataclass(slots=True)
class Module:
    types: list[FuncType] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    funcs: list[Func] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    mems: list[Memory] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    globals: list[Global] = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)
    start: int | None = None
    elems: list[Elem] = field(default_factory=list)
    datas: list[Data] = field(default_factory=list)
    data_count: int | None = None
    customs: list[Custom] = field(default_factory=list, compare=False)
    names: Names | None = field(default=None, compare=False)

    def imported(self, kind: ExternKind) -> list[Import]:
        return [i for i in self.imports if i.kind == kind]

    def func_types(self) -> list[FuncType]:
        """Type of every function in the function index space (imports first)."""
        return ([self.types[i.desc] for i in self.imported(ExternKind.FUNC)]  # type: ignore[index]
                + [self.types[f.type_idx] for f in self.funcs])

    def table_types(self) -> list[TableType]:
        return [i.desc for i in self.imported(ExternKind.TABLE)] + [t.type for t in self.tables]  # type: ignore[misc]

    def mem_types(self) -> list[MemType]:
        return [i.desc for i in self.imported(ExternKind.MEMORY)] + [m.type for m in self.mems]  # type: ignore[misc]

    def global_types(self) -> list[GlobalType]:
        return [i.desc for i in self.imported(ExternKind.GLOBAL)] + [g.type for g in self.globals]  # type: ignore[misc]

    def tag_types(self) -> list[TagType]:
        return [i.desc for i in self.imported(ExternKind.TAG)] + [t.type for t in self.tags]  # type: ignore[misc]
