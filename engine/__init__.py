"""exnfuzz's WebAssembly engine: decoder, validator, text printer, LLVM JIT with a
wasmtime-shaped runtime API (:mod:`engine.runtime`), and a script runner."""
from .errors import (DecodeError, LinkError, TextError, Trap, TrapCode, UnsupportedFeature,
                     ValidationError, WasmError)

__all__ = ["DecodeError", "LinkError", "TextError", "Trap", "TrapCode", "UnsupportedFeature",
           "ValidationError", "WasmError", "WasmException"]


def __getattr__(name: str) -> object:
    # ``WasmException`` lives with the runtime, which only users who run code import.
    if name == "WasmException":
        from .runtime.exception import WasmException
        return WasmException
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
