"""``Module``: a validated module compiled to native code for the engine's target."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

import wasmtime

from ..binary.decode import decode_module
from ..compile import jit
from ..compile import setup
from ..compile.module import ModuleCompiler
from ..compile.trampolines import module_trampolines, trampoline_objects, trampolines_text
from ..errors import TextError
from ..syntax import module as syntax
from ..syntax.types import ExternKind, FuncType, GlobalType, MemType, TableType, TagType
from ..valid import validate_module
from . import native
from .stack import on_large_stack
from .engine import Engine

ExternType = Union[FuncType, TableType, MemType, GlobalType, TagType]


@dataclass(frozen=True)
class ImportType:
    module: str
    name: str
    type: ExternType


@dataclass(frozen=True)
class ExportType:
    name: str
    type: ExternType


def _binary(wasm: bytes | str) -> bytes:
    """Binary modules pass through; text goes through wasmtime's ``wat2wasm``.  Bytes
    are text only if they are UTF-8 without NUL, as wasmtime decides; anything else --
    an empty file, random bytes -- is a binary without its header."""
    if isinstance(wasm, (bytes, bytearray)):
        data = bytes(wasm)
        if data[:4] == b"\0asm" or not data or b"\0" in data:
            return data
        try:
            wasm = data.decode("utf-8")
        except UnicodeDecodeError:
            return data
    try:
        return wasmtime.wat2wasm(wasm)
    except wasmtime.WasmtimeError as e:
        # The first line says what and where; the rest echoes the source.
        raise TextError(str(e).strip().splitlines()[0]) from None


class Module:
    """``Module(engine, wasm)`` decodes, validates and compiles ``wasm`` (binary, or
    text in the WebAssembly text format).  Raises
    :class:`~engine.errors.DecodeError`, :class:`~engine.errors.ValidationError` or
    :class:`~engine.errors.TextError` for bad input."""

    def __init__(self, engine: Engine, wasm: bytes | str) -> None:
        self.engine = engine
        self.syntax = self._load(wasm)
        target, opt_level = engine.target, engine.options.opt_level
        compiler = ModuleCompiler(self.syntax, target, engine.options)
        ir_module = compiler.compile()
        shape = compiler.shape_symbol
        # The trampolines this module's users need and the engine lacks come along in
        # the same code, not in code of their own per shape.
        wanted = module_trampolines(self.syntax, target.registers)
        carried = engine.unloaded(wanted)

        def build() -> jit.CompiledCode:
            objects = trampoline_objects(target)
            found, missing = objects.objects({symbol: wanted[symbol] for symbol in carried})
            # Trampolines no code has yet are compiled into this module's, which then
            # provides them to later modules.  They run once per call from Python: not
            # worth optimising (the wasm functions are).
            extra = trampolines_text(ir_module, missing) if missing else ""
            code = jit.emit_object(jit.optimize(ir_module, target, opt_level, extra=extra,
                                                cold=list(missing)), target, opt_level)
            if not missing:
                return engine.load_code([code], [shape, *carried], found)
            provided = frozenset([shape, *missing])
            objects.provide(code, provided)
            return engine.load_code([], [shape, *carried], [(code, provided), *found])

        self._code = on_large_stack(build)
        self.trampolines = engine.lend(self._code, carried)
        self.shape = self._code[shape]
        """The address of the module's shape, which instantiation reads."""
        self.release = native.RELEASE(engine.store_runtime().code[setup.RELEASE])
        """Free what instantiating this module allocated in an instance context (the
        store runtime's ``rt_release``, which reads this module's shape: the caller
        keeps the module)."""
        self._types_held = engine.hold_types(self.syntax.types)   # for as long as the module lives
        self.type_ids = self._types_held.ids

    @staticmethod
    def _load(wasm: bytes | str) -> syntax.Module:
        module = decode_module(_binary(wasm))
        validate_module(module)
        return module

    @staticmethod
    def validate(engine: Engine, wasm: bytes | str) -> None:
        """Raise if ``wasm`` is not a valid module (without compiling it)."""
        Module._load(wasm)

    @classmethod
    def from_file(cls, engine: Engine, path: str | Path) -> "Module":
        data = Path(path).read_bytes()
        return cls(engine, data)

    def extern_type(self, kind: ExternKind, index: int) -> ExternType:
        m = self.syntax
        if kind is ExternKind.FUNC:
            return m.func_types()[index]
        if kind is ExternKind.TABLE:
            return m.table_types()[index]
        if kind is ExternKind.MEMORY:
            return m.mem_types()[index]
        if kind is ExternKind.GLOBAL:
            return m.global_types()[index]
        return m.tag_types()[index]

    @property
    def imports(self) -> list[ImportType]:
        m = self.syntax
        return [ImportType(i.module, i.name,
                           m.types[i.desc] if i.kind is ExternKind.FUNC else i.desc)  # type: ignore[index,arg-type]
                for i in m.imports]

    @property
    def exports(self) -> list[ExportType]:
        return [ExportType(e.name, self.extern_type(e.kind, e.index)) for e in self.syntax.exports]
