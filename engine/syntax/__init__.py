"""Abstract syntax: types, instructions and modules."""
from .instructions import BY_CODE, OPS, BlockType, Catch, CatchKind, Imm, Instr, MemArg, OpInfo
from .module import (Custom, Data, Elem, Export, Expr, Func, Global, Import, Memory, Module,
                     Names, SegmentMode, Table, Tag)
from .types import (EXNREF, EXTERNREF, F32, F64, FUNCREF, I32, I64, NULLEXNREF, NULLEXTERNREF,
                    NULLFUNCREF, ExternKind, FuncType, GlobalType, HeapType, Limits, MemType,
                    NumType, RefType, TableType, TagType, ValType, defaultable, subtype)

__all__ = [
    "BY_CODE", "OPS", "BlockType", "Catch", "CatchKind", "Imm", "Instr", "MemArg", "OpInfo",
    "Custom", "Data", "Elem", "Export", "Expr", "Func", "Global", "Import", "Memory", "Module",
    "Names", "SegmentMode", "Table", "Tag", "EXNREF", "EXTERNREF", "F32", "F64", "FUNCREF",
    "I32", "I64", "NULLEXNREF", "NULLEXTERNREF", "NULLFUNCREF", "ExternKind", "FuncType",
    "GlobalType", "HeapType", "Limits", "MemType", "NumType", "RefType", "TableType", "TagType",
    "ValType", "defaultable", "subtype",
]
