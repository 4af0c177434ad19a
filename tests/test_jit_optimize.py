"""What ``jit.optimize`` adds to LLVM's function pipeline: inlining of small leaf
functions, and dropping the NaN quieting that hardware arithmetic already does --
without losing the quieting where LLVM folded the arithmetic away."""
from __future__ import annotations

import struct

import wasmtime

from engine.binary.decode import decode_module
from engine.compile import jit
from engine.compile.module import CompileOptions, ModuleCompiler
from engine.compile.target import host
from engine.runtime import Engine, Instance, Module, Store


def ir_module(wat: str):
    return ModuleCompiler(decode_module(wasmtime.wat2wasm(wat)), host(), CompileOptions()).compile()


def function_body(text: str, name: str) -> str:
    start = text.index(f"@{name}(")
    return text[start:text.index("\n}", start)]


def test_only_small_leaf_functions_are_marked_for_inlining():
    big = " ".join(f"(local.set 0 (i32.mul (local.get 0) (i32.const {k})))" for k in range(40))
    module = ir_module(f"""(module
      (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func $caller (param i32) (result i32) (call $leaf (local.get 0)))
      (func $tail (param i32) (result i32) (return_call $leaf (local.get 0)))
      (func $big (param i32) (result i32) {big} (local.get 0))
      (func $float (param f64) (result f64) (f64.sqrt (local.get 0))))""")
    jit.mark_inlinable(module)
    marked = {fn.name for fn in module.functions if "alwaysinline" in fn.attributes}
    # $leaf and $float (an intrinsic call only) qualify; callers, tail callers and big
    # functions do not; nor do the exported entry points.
    assert marked == {"wasm_func_0", "wasm_func_4"}


def test_nested_small_callers_do_not_multiply():
    """Forty levels of small functions, each calling the next twice: inlining them all
    would mean 2^40 copies; only the leaf is inlined, so the code stays linear."""
    funcs = ["(func $f0 (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))"]
    funcs += [f"(func $f{k} (param i32) (result i32) (i32.add (call $f{k - 1} (local.get 0))"
              f" (call $f{k - 1} (i32.const {k}))))" for k in range(1, 40)]
    ref = jit.optimize(ir_module(f"(module {' '.join(funcs)})"), host(), 2)
    assert str(ref).count("\n") < 5_000


def test_quieting_is_dropped_after_arithmetic_and_kept_where_folded():
    wat = """(module
      (func (export "mul") (param f64 f64) (result f64) (f64.mul (local.get 0) (local.get 1)))
      (func (export "mul1") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 1))))"""
    text = str(jit.optimize(ir_module(wat), host(), 2))
    assert "llvm.canonicalize" not in function_body(text, "wasm_func_0")
    # LLVM folds x * 1.0 to x, so only the canonicalize can quiet a signalling NaN.
    assert "llvm.canonicalize" in function_body(text, "wasm_func_1")

    engine = Engine()
    store = Store(engine)
    exports = Instance(store, Module(engine, wat), []).exports(store)
    snan = 0x7FF4_0000_0000_0000
    one = struct.unpack("<Q", struct.pack("<d", 1.0))[0]
    quiet_bit = 1 << 51
    for func, args in ((exports["mul"], [snan, one]), (exports["mul"], [one, snan]),
                       (exports["mul1"], [snan])):
        (result,) = func.call_slots(store, args)
        assert result & 0x7FF0_0000_0000_0000 == 0x7FF0_0000_0000_0000 and result & quiet_bit, \
            hex(result)


def test_alias_tags_are_written_only_for_the_optimiser():
    wat = """(module (memory 1) (global $g (mut i32) (i32.const 0))
      (func (export "f") (param i32) (result i32)
        (global.set $g (i32.load (local.get 0))) (global.get $g)))"""
    wasm = wasmtime.wat2wasm(wat)
    text = {level: str(ModuleCompiler(decode_module(wasm), host(), CompileOptions(opt_level=level)).compile())
            for level in (0, 1)}
    assert "!tbaa" not in text[0]
    assert '!"linear memory"' in text[1] and '!"engine record"' in text[1]
    assert len(text[0]) < len(text[1])
