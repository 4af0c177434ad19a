"""Typed errors raised by the engine.

Every rejection of an input is one of these; no other exception type escapes the
decoder, the validator or the text printer on any input.  Each carries the byte
offset it refers to and, where it applies, the function index and the instruction,
so a message reads like the spec interpreter's: ``type mismatch (at offset 0x2e,
function 3, instruction i32.add)``.

Running code raises :class:`Trap` (with a :class:`TrapCode`) and instantiating raises
:class:`LinkError` for imports that do not match.

Misuse of the runtime API raises a :class:`StoreError`, whatever the object and
whatever the call: an object of one store used with another (:class:`WrongStore`), an
object of a closed store (:class:`StoreClosed`), or a store used by a second thread
while a call into it runs (:class:`StoreBusy`).  Going past a store's limits raises
:class:`ResourceLimitExceeded` where no wasm instruction is involved (instantiation,
creating objects from Python); an instruction fails as the spec allows instead.
"""
from __future__ import annotations

import enum


class WasmError(Exception):
    """Base of all errors the engine raises about a module or script."""

    def __init__(self, message: str, offset: int | None = None,
                 func: int | None = None, instr: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.func = func
        self.instr = instr

    def __str__(self) -> str:
        where = []
        if self.offset is not None:
            where.append(f"at offset {self.offset:#x}")
        if self.func is not None:
            where.append(f"function {self.func}")
        if self.instr is not None:
            where.append(f"instruction {self.instr}")
        return f"{self.message} ({', '.join(where)})" if where else self.message


class DecodeError(WasmError):
    """The bytes are not a well-formed binary module (the spec's "malformed")."""


class UnsupportedFeature(DecodeError):
    """The module uses a proposal this engine does not implement (SIMD, GC, threads, ...)."""


class ValidationError(WasmError):
    """The module is well-formed but does not type-check (the spec's "invalid")."""


class TextError(WasmError):
    """A text module or script could not be read or printed."""


class LinkError(WasmError):
    """An import is missing or does not match the type the module declares for it."""


class StoreError(WasmError):
    """A runtime object was used where its store does not allow it; nothing was done."""


class WrongStore(StoreError):
    """An object of one store was used with another (as an argument, an import, a table
    element, a global's value, an exception's tag or payload)."""


class StoreClosed(StoreError):
    """The store of an object was closed: its objects can no longer be used."""


class StoreBusy(StoreError):
    """The store is in a call on another thread, or the call in progress forbids this
    (closing the store from a host function it called)."""


class ResourceLimitExceeded(WasmError):
    """Instantiating a module or creating an object would pass one of the store's
    limits (``Store.set_limits``)."""


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
