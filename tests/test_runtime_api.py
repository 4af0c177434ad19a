"""The public runtime API (``engine.runtime``): modules, instances, exports of every
kind, imports through a linker, and how bad input and failed links are reported."""
from __future__ import annotations

import math

import pytest

from engine.errors import DecodeError, LinkError, TextError, Trap, TrapCode, ValidationError, WasmError
from engine.runtime import (EXTERNREF, F32, F64, FUNCREF, I32, I64, Engine, Func, FuncType,
                            Global, GlobalType, Instance, Limits, Linker, Memory, MemType, Module,
                            Store, Table, TableType)

ENGINE = Engine()


@pytest.fixture
def store() -> Store:
    return Store(ENGINE)


def instantiate(store: Store, wat: str, imports: list | None = None) -> dict:
    instance = Instance(store, Module(store.engine, wat), imports or [])
    return dict(instance.exports(store).items())


def test_module_accepts_binary_and_text_and_lists_imports_and_exports() -> None:
    wat = """(module (import "m" "f" (func (param i32))) (import "m" "g" (global (mut i64)))
               (memory (export "mem") 1 2) (func (export "id") (param f64) (result f64) local.get 0))"""
    from_text = Module(ENGINE, wat)
    from_binary = Module(ENGINE, __import__("wasmtime").wat2wasm(wat))
    assert from_text.imports == from_binary.imports
    assert [(i.module, i.name, i.type) for i in from_text.imports] == [
        ("m", "f", FuncType((I32,), ())), ("m", "g", GlobalType(True, I64))]
    assert [(e.name, e.type) for e in from_text.exports] == [
        ("mem", MemType(Limits(1, 2))), ("id", FuncType((F64,), (F64,)))]


def test_bad_input_raises_typed_errors() -> None:
    with pytest.raises(DecodeError):
        Module(ENGINE, b"\0asm\x01\0\0\0\x01")
    with pytest.raises(ValidationError, match="type mismatch"):
        Module.validate(ENGINE, "(module (func (result i32) (i64.const 0)))")
    with pytest.raises(TextError):
        Module(ENGINE, "(module (func")


def test_every_value_type_round_trips_through_a_call(store: Store) -> None:
    ex = instantiate(store, """(module (func (export "id")
          (param i32 i64 f32 f64 funcref externref) (result i32 i64 f32 f64 funcref externref)
          local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 local.get 5))""")
    marker = object()
    result = ex["id"](store, -1, 2**63 - 1, 1.5, -0.0, ex["id"], marker)
    assert result[:3] == [-1, 2**63 - 1, 1.5]
    assert math.copysign(1.0, result[3]) == -1.0
    assert result[4] == ex["id"] and result[5] is marker
    assert ex["id"](store, 0xFFFF_FFFF, 0, 0.0, 0.0, None, None)[0] == -1
    with pytest.raises(TypeError):
        ex["id"](store, 1.5, 0, 0.0, 0.0, None, None)
    with pytest.raises(TypeError):
        ex["id"](store, 1)


def test_call_slots_keeps_nan_payloads(store: Store) -> None:
    ex = instantiate(store, """(module (func (export "id") (param f32 f64) (result f32 f64)
                                  local.get 0 local.get 1))""")
    assert ex["id"].call_slots(store, [0x7FA0_0001, 0xFFF0_0000_0000_0002]) == [
        0x7FA0_0001, 0xFFF0_0000_0000_0002]


def test_globals_memories_and_tables_are_shared_with_python(store: Store) -> None:
    ex = instantiate(store, """(module
        (global (export "g") (mut i32) (i32.const 7)) (global (export "k") f64 (f64.const 2.5))
        (memory (export "mem") 1 3) (table (export "tab") 2 5 funcref)
        (func $f (export "f") (result i32) i32.const 42) (elem (i32.const 1) $f)
        (func (export "bump") (global.set 0 (i32.add (global.get 0) (i32.const 1))))
        (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
        (func (export "pages") (result i32) memory.size)
        (func (export "call") (param i32) (result i32) (call_indirect (result i32) (local.get 0))))""")
    g, mem, tab = ex["g"], ex["mem"], ex["tab"]
    ex["bump"](store)
    assert g.value(store) == 8
    g.set_value(store, -5)
    ex["bump"](store)
    assert g.value(store) == -4
    assert ex["k"].value(store) == 2.5
    with pytest.raises(WasmError, match="immutable"):
        ex["k"].set_value(store, 1.0)
    mem.write(store, b"\x11\x22", 100)
    assert ex["peek"](store, 101) == 0x22
    assert mem.grow(store, 2) == 1 and ex["pages"](store) == 3 and mem.size(store) == 3
    assert mem.read(store, 3 * 65536 - 2, 3 * 65536) == b"\0\0"
    with pytest.raises(WasmError):
        mem.grow(store, 1)
    with pytest.raises(WasmError):
        mem.read(store, 3 * 65536 - 1, 3 * 65536 + 1)
    assert mem.type(store) == MemType(Limits(3, 3))
    assert tab.get(store, 1) == ex["f"] and tab.get(store, 0) is None
    with pytest.raises(Trap) as trap:
        ex["call"](store, 0)
    assert trap.value.code is TrapCode.INDIRECT_CALL_TO_NULL
    tab.set(store, 0, ex["f"])
    assert ex["call"](store, 0) == 42
    assert tab.grow(store, 3, ex["f"]) == 2 and ex["call"](store, 4) == 42
    assert tab.type(store) == TableType(Limits(5, 5), FUNCREF)
    with pytest.raises(WasmError):
        tab.get(store, 5)


def test_python_created_externs_can_be_imported(store: Store) -> None:
    mem = Memory(store, MemType(Limits(1, None)))
    glob = Global(store, GlobalType(True, F32), 0.5)
    tab = Table(store, TableType(Limits(2, None), EXTERNREF), "x")
    ex = instantiate(store, """(module (import "" "mem" (memory 1)) (import "" "g" (global (mut f32)))
        (import "" "tab" (table 2 externref))
        (func (export "run") (result externref)
          (i32.store (i32.const 8) (i32.const 0x01020304))
          (global.set 0 (f32.mul (global.get 0) (f32.const 4)))
          (drop (memory.grow (i32.const 1)))
          (table.get 0 (i32.const 1))))""", [mem, glob, tab])
    assert ex["run"](store) == "x"
    assert mem.read(store, 8, 12) == bytes([4, 3, 2, 1])  # little-endian on every target
    assert glob.value(store) == 2.0 and mem.size(store) == 2


def test_linker_resolves_by_name_and_reports_link_errors(store: Store) -> None:
    linker = Linker(ENGINE)
    calls = []
    linker.define_func("env", "log", FuncType((I32,), ()), calls.append)
    provider = linker.instantiate(store, Module(ENGINE, """(module
        (func (export "twice") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
        (memory (export "mem") 1))"""))
    linker.define_instance(store, "lib", provider)
    user = Module(ENGINE, """(module (import "env" "log" (func $log (param i32)))
        (import "lib" "twice" (func $twice (param i32) (result i32)))
        (func (export "go") (call $log (call $twice (i32.const 21)))))""")
    linker.instantiate(store, user).exports(store)["go"](store)
    assert calls == [42]
    with pytest.raises(LinkError, match="unknown import"):
        linker.instantiate(store, Module(ENGINE, '(module (import "env" "nope" (func)))'))
    with pytest.raises(LinkError, match="incompatible import type"):
        linker.instantiate(store, Module(ENGINE, '(module (import "lib" "twice" (func (param i64))))'))
    with pytest.raises(LinkError, match="incompatible import type"):
        linker.instantiate(store, Module(ENGINE, '(module (import "lib" "mem" (memory 2)))'))
    with pytest.raises(LinkError, match="defined twice"):
        linker.define_func("env", "log", FuncType((), ()), print)


def test_call_indirect_checks_signatures_across_instances(store: Store) -> None:
    lib = instantiate(store, """(module (table (export "tab") 3 funcref)
        (func $i (result i32) i32.const 1) (func $l (result i64) i64.const 2)
        (elem (i32.const 0) $i $l))""")
    user = instantiate(store, """(module (import "" "tab" (table 3 funcref))
        (type $ri (func (result i32)))
        (func (export "call") (param i32) (result i32) (call_indirect (type $ri) (local.get 0))))""",
                       [lib["tab"]])
    assert user["call"](store, 0) == 1
    for index, code in [(1, TrapCode.BAD_SIGNATURE), (2, TrapCode.INDIRECT_CALL_TO_NULL),
                        (3, TrapCode.TABLE_OUT_OF_BOUNDS)]:
        with pytest.raises(Trap) as trap:
            user["call"](store, index)
        assert trap.value.code is code


def test_failed_instantiation_keeps_its_earlier_writes(store: Store) -> None:
    """Spec 2.0: segments are applied in order; a trap leaves earlier ones in place."""
    lib = instantiate(store, '(module (table (export "tab") 2 funcref) (memory (export "mem") 1))')
    module = Module(ENGINE, """(module (import "" "tab" (table 2 funcref)) (import "" "mem" (memory 1))
        (func $f (result i32) i32.const 9) (elem (i32.const 0) $f)
        (data (i32.const 0) "ok") (data (i32.const 65535) "xx"))""")
    with pytest.raises(Trap) as trap:
        Instance(store, module, [lib["tab"], lib["mem"]])
    assert trap.value.code is TrapCode.MEMORY_OUT_OF_BOUNDS
    assert lib["mem"].read(store, 0, 2) == b"ok"
    assert lib["tab"].get(store, 0)(store) == 9


def test_start_function_runs_during_instantiation(store: Store) -> None:
    seen = []
    log = Func(store, FuncType((I32,), ()), seen.append)
    instantiate(store, '(module (import "" "log" (func (param i32))) (start 1) '
                       '(func (call 0 (i32.const 5))))', [log])
    assert seen == [5]
    with pytest.raises(Trap) as trap:
        instantiate(store, "(module (start 0) (func unreachable))")
    assert trap.value.code is TrapCode.UNREACHABLE


@pytest.mark.parametrize("body, code", [
    ("(i32.div_s (i32.const 1) (i32.const 0))", TrapCode.INTEGER_DIVISION_BY_ZERO),
    ("(i32.div_s (i32.const 0x80000000) (i32.const -1))", TrapCode.INTEGER_OVERFLOW),
    ("(i32.trunc_f32_s (f32.const nan))", TrapCode.BAD_CONVERSION_TO_INTEGER),
    ("(i32.load (i32.const 65533))", TrapCode.MEMORY_OUT_OF_BOUNDS),
    ("(unreachable)", TrapCode.UNREACHABLE),
    ("(table.get 0 (i32.const 1))", TrapCode.TABLE_OUT_OF_BOUNDS),
])
def test_traps_carry_wasmtimes_trap_codes(store: Store, body: str, code: TrapCode) -> None:
    ex = instantiate(store, f"""(module (memory 1) (table 1 funcref)
        (func (export "f") {body} drop))""")
    with pytest.raises(Trap) as trap:
        ex["f"](store)
    assert trap.value.code is code and str(trap.value) == code.message
