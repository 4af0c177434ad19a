"""The validation context C (spec 3.1.1): what an instruction may refer to."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..syntax.types import FuncType, GlobalType, MemType, RefType, TableType


@dataclass(slots=True)
class Context:
    types: list[FuncType]
    funcs: list[FuncType]
    tables: list[TableType]
    mems: list[MemType]
    globals: list[GlobalType]
    tags: list[FuncType]
    elems: list[RefType]
    datas: int | None
    """Number of data segments as the data count section declares it, if present."""
    refs: set[int] = field(default_factory=set)
    """Functions that ``ref.func`` may name: those referenced outside function bodies."""
    imported_globals: int = 0
