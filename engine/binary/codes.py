"""Byte codes of the binary format shared by the decoder and the encoder."""
from __future__ import annotations

from ..syntax.types import F32, F64, I32, I64, HeapType, NumType, RefType

MAGIC = b"\x00asm"
VERSION = b"\x01\x00\x00\x00"

NUM_TYPES: dict[int, NumType] = {0x7F: I32, 0x7E: I64, 0x7D: F32, 0x7C: F64}
NUM_CODES = {t: c for c, t in NUM_TYPES.items()}

HEAP_TYPES: dict[int, HeapType] = {
    0x70: HeapType.FUNC, 0x6F: HeapType.EXTERN, 0x69: HeapType.EXN,
    0x73: HeapType.NOFUNC, 0x72: HeapType.NOEXTERN, 0x74: HeapType.NOEXN,
}
HEAP_CODES = {h: c for c, h in HEAP_TYPES.items()}
GC_HEAP_CODES = {0x6E: "any", 0x6D: "eq", 0x6C: "i31", 0x6B: "struct", 0x6A: "array",
                 0x71: "none", 0x68: "cont", 0x75: "nocont"}
V128_CODE = 0x7B
REF_NULL_PREFIX = 0x63   # (ref null ht)
REF_PREFIX = 0x64        # (ref ht)
FUNC_TYPE_FORM = 0x60
EMPTY_BLOCK = 0x40


def ref_code(t: RefType) -> bytes:
    """Shortest encoding: the one-byte shorthand for nullable abstract types."""
    code = HEAP_CODES[t.heap]
    return bytes([code]) if t.nullable else bytes([REF_PREFIX, code])


class SectionId:
    CUSTOM = 0
    TYPE = 1
    IMPORT = 2
    FUNCTION = 3
    TABLE = 4
    MEMORY = 5
    GLOBAL = 6
    EXPORT = 7
    START = 8
    ELEMENT = 9
    CODE = 10
    DATA = 11
    DATA_COUNT = 12
    TAG = 13


# Position of each known section in the required order (the tag section sits
# between memory and global, per the exception-handling proposal).
SECTION_ORDER: dict[int, int] = {
    SectionId.TYPE: 1, SectionId.IMPORT: 2, SectionId.FUNCTION: 3, SectionId.TABLE: 4,
    SectionId.MEMORY: 5, SectionId.TAG: 6, SectionId.GLOBAL: 7, SectionId.EXPORT: 8,
    SectionId.START: 9, SectionId.ELEMENT: 10, SectionId.DATA_COUNT: 11, SectionId.CODE: 12,
    SectionId.DATA: 13,
}
