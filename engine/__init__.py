"""exnfuzz's WebAssembly engine: decoder, validator, text printer, LLVM JIT with a
wasmtime-shaped runtime API (:mod:`engine.runtime`), and a script runner."""
from .errors import (DecodeError, LinkError, TextError, Trap, TrapCode, UnsupportedFeature,
                     ValidationError, WasmError)

__all__ = ["DecodeError", "LinkError", "TextError", "Trap", "TrapCode", "UnsupportedFeature",
           "ValidationError", "WasmError"]
