"""exnfuzz's WebAssembly engine: decoder, validator, text printer, script runner."""
from .errors import DecodeError, TextError, UnsupportedFeature, ValidationError, WasmError

__all__ = ["DecodeError", "TextError", "UnsupportedFeature", "ValidationError", "WasmError"]
