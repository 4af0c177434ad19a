"""Traps: :class:`TrapCode` (same names and values as ``wasmtime.TrapCode`` for
everything a core-Wasm engine can raise) and the :class:`Trap` exception."""
from __future__ import annotations

import enum

from ..errors import WasmError


class TrapCode(enum.IntEnum):
    STACK_OVERFLOW = 0
    MEMORY_OUT_OF_BOUNDS = 1
    HEAP_MISALIGNED = 2
    TABLE_OUT_OF_BOUNDS = 3
    INDIRECT_CALL_TO_NULL = 4
    BAD_SIGNATURE = 5
    INTEGER_OVERFLOW = 6
    INTEGER_DIVISION_BY_ZERO = 7
    BAD_CONVERSION_TO_INTEGER = 8
    UNREACHABLE = 9
    INTERRUPT = 10
    OUT_OF_FUEL = 11
    NULL_REFERENCE = 13
    ALLOCATION_TOO_LARGE = 15
    UNHANDLED_TAG = 19
    UNCAUGHT_EXCEPTION = 49

    @property
    def message(self) -> str:
        """The spec interpreter's wording, as ``assert_trap`` expects it."""
        return _MESSAGES.get(self, self.name.lower().replace("_", " "))


_MESSAGES = {
    TrapCode.STACK_OVERFLOW: "call stack exhausted",
    TrapCode.MEMORY_OUT_OF_BOUNDS: "out of bounds memory access",
    TrapCode.TABLE_OUT_OF_BOUNDS: "out of bounds table access",
    TrapCode.INDIRECT_CALL_TO_NULL: "uninitialized element",
    TrapCode.BAD_SIGNATURE: "indirect call type mismatch",
    TrapCode.INTEGER_OVERFLOW: "integer overflow",
    TrapCode.INTEGER_DIVISION_BY_ZERO: "integer divide by zero",
    TrapCode.BAD_CONVERSION_TO_INTEGER: "invalid conversion to integer",
    TrapCode.UNREACHABLE: "unreachable",
    TrapCode.INTERRUPT: "interrupt",
    TrapCode.OUT_OF_FUEL: "all fuel consumed",
    TrapCode.NULL_REFERENCE: "null reference",
}


class Trap(WasmError):
    """Execution trapped.  ``code`` is ``None`` for a host function's own error, which
    is kept as ``__cause__``."""

    def __init__(self, code: TrapCode | None, message: str | None = None) -> None:
        super().__init__(message or (code.message if code is not None else "host error"))
        self.code = code
