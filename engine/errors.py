"""Typed errors raised by the engine.

Every rejection of an input is one of these; no other exception type escapes the
decoder, the validator or the text printer on any input.  Each carries the byte
offset it refers to and, where it applies, the function index and the instruction,
so a message reads like the spec interpreter's: ``type mismatch (at offset 0x2e,
function 3, instruction i32.add)``.
"""
from __future__ import annotations


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
