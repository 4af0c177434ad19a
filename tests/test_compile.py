"""The code generator accepts every valid Wasm 2.0 module of the conformance suite:
the IR it emits passes LLVM's verifier and optimiser, for the host and for the
big-endian s390x target."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.binary.decode import decode_module
from engine.compile import jit
from engine.compile.module import CompileOptions, ModuleCompiler
from engine.compile.target import S390X, host
from engine.errors import WasmError
from engine.script import suites
from engine.script.wast import iter_modules
from engine.valid import validate_module

SUITE = suites.location() / "spec-wg2.0" / "core"


def valid_modules():
    if not SUITE.is_dir():
        pytest.skip(f"conformance suite not found at {SUITE} (see engine/script/suites.py)")
    for file, line, data, expected, _text in iter_modules(SUITE):
        if expected != "valid":
            continue
        try:
            module = decode_module(data)
            validate_module(module)
        except WasmError:
            continue
        yield f"{Path(file).name}:{line}", module


def test_every_valid_suite_module_compiles_and_verifies():
    compiled = 0
    for where, module in valid_modules():
        ir_module = ModuleCompiler(module, host(), CompileOptions(opt_level=0)).compile()
        try:
            jit.optimize(ir_module, host(), 0)
        except Exception as e:  # LLVM's verifier reports through RuntimeError
            pytest.fail(f"{where}: {e}")
        compiled += 1
    assert compiled > 900, compiled


def test_big_endian_target_byte_swaps_memory_accesses():
    import wasmtime
    data = wasmtime.wat2wasm('(module (memory 1) (func (export "f") (param i32) (result i64)'
                             ' (i64.load (local.get 0))))')
    module = decode_module(data)
    text = str(ModuleCompiler(module, S390X, CompileOptions()).compile())
    assert "llvm.bswap.i64" in text
    assert "llvm.bswap" not in str(ModuleCompiler(module, host(), CompileOptions()).compile())
    obj = jit.emit_object(jit.optimize(ModuleCompiler(module, S390X, CompileOptions()).compile(),
                                       S390X, 2), S390X)
    assert obj[:4] == b"\x7fELF" and obj[5] == 2  # ELFDATA2MSB: big-endian object
