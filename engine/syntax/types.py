"""Types of the WebAssembly abstract syntax (spec section 2.3), with the
exception-handling proposal's ``exn`` heap types.

Value types are interned constants: ``I32``..``F64`` are :class:`NumType` members and
reference types are :class:`RefType` values, so they compare with ``==`` and hash.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Union


class NumType(enum.Enum):
    I32 = "i32"
    I64 = "i64"
    F32 = "f32"
    F64 = "f64"

    def __repr__(self) -> str:
        return self.value

    __str__ = __repr__


class HeapType(enum.Enum):
    """Abstract heap types; ``NO*`` are the bottom types whose only value is null."""

    FUNC = "func"
    EXTERN = "extern"
    EXN = "exn"
    NOFUNC = "nofunc"
    NOEXTERN = "noextern"
    NOEXN = "noexn"

    @property
    def top(self) -> "HeapType":
        return _TOP[self]


_TOP = {
    HeapType.FUNC: HeapType.FUNC, HeapType.NOFUNC: HeapType.FUNC,
    HeapType.EXTERN: HeapType.EXTERN, HeapType.NOEXTERN: HeapType.EXTERN,
    HeapType.EXN: HeapType.EXN, HeapType.NOEXN: HeapType.EXN,
}
_BOTTOMS = {HeapType.NOFUNC, HeapType.NOEXTERN, HeapType.NOEXN}


@dataclass(frozen=True, slots=True)
class RefType:
    nullable: bool
    heap: HeapType

    def __repr__(self) -> str:
        short = _SHORTHAND.get(self)
        if short:
            return short
        return f"(ref {'null ' if self.nullable else ''}{self.heap.value})"

    __str__ = __repr__


ValType = Union[NumType, RefType]

I32, I64, F32, F64 = NumType.I32, NumType.I64, NumType.F32, NumType.F64
FUNCREF = RefType(True, HeapType.FUNC)
EXTERNREF = RefType(True, HeapType.EXTERN)
EXNREF = RefType(True, HeapType.EXN)
NULLFUNCREF = RefType(True, HeapType.NOFUNC)
NULLEXTERNREF = RefType(True, HeapType.NOEXTERN)
NULLEXNREF = RefType(True, HeapType.NOEXN)

_SHORTHAND = {FUNCREF: "funcref", EXTERNREF: "externref", EXNREF: "exnref",
              NULLFUNCREF: "nullfuncref", NULLEXTERNREF: "nullexternref",
              NULLEXNREF: "nullexnref"}


def is_num(t: ValType) -> bool:
    return isinstance(t, NumType)


def is_ref(t: ValType) -> bool:
    return isinstance(t, RefType)


def heap_subtype(a: HeapType, b: HeapType) -> bool:
    return a is b or (a in _BOTTOMS and a.top is b.top)


def subtype(a: ValType, b: ValType) -> bool:
    """``a <: b`` (spec 3.3 / function-references subtyping restricted to abstract types)."""
    if a is b or a == b:
        return True
    if isinstance(a, RefType) and isinstance(b, RefType):
        return (b.nullable or not a.nullable) and heap_subtype(a.heap, b.heap)
    return False


def defaultable(t: ValType) -> bool:
    """Whether a local of this type has a default value (non-null refs do not)."""
    return isinstance(t, NumType) or t.nullable


@dataclass(frozen=True, slots=True)
class FuncType:
    params: tuple[ValType, ...]
    results: tuple[ValType, ...]

    def __repr__(self) -> str:
        return f"[{' '.join(map(str, self.params))}] -> [{' '.join(map(str, self.results))}]"


@dataclass(frozen=True, slots=True)
class Limits:
    min: int
    max: int | None = None


@dataclass(frozen=True, slots=True)
class TableType:
    limits: Limits
    elem: RefType


@dataclass(frozen=True, slots=True)
class MemType:
    limits: Limits


@dataclass(frozen=True, slots=True)
class GlobalType:
    mut: bool
    type: ValType


@dataclass(frozen=True, slots=True)
class TagType:
    """A tag's type: an index into the type section; its function type has no results."""

    type_idx: int


class ExternKind(enum.IntEnum):
    """Import/export kinds, valued as their binary codes."""

    FUNC = 0
    TABLE = 1
    MEMORY = 2
    GLOBAL = 3
    TAG = 4
