"""What keeps compiling and instantiating small modules cheap, as structure rather
than timings: a module carries the trampolines its use needs in its own code (one piece
of code, however many new shapes), and they go when it goes; cold code skips
optimisation; a function loads what the instance context leads to once; a module
carries its instantiation as data, which grows only with its initialisers (the store
runtime sets up and frees the records), and every record is still set up and freed."""
from __future__ import annotations

import ctypes
import gc
import re
import weakref

import pytest
import wasmtime

from engine.binary.decode import decode_module
from engine.compile import jit
from engine.compile.module import CompileOptions, ModuleCompiler
from engine.compile.target import host
from engine.runtime import (EXTERNREF, F32, F64, FUNCREF, I32, I64, Config, Engine, Func, FuncType,
                            GlobalType, Instance, Limits, MemType, Module, Store, TableType, Trap)

# Four signatures of shapes no engine has seen: two exported, two imported.
WAT = """(module
  (import "host" "f" (func $f (param f32 i64) (result f64)))
  (import "host" "g" (func $g (param funcref) (result i32 i32)))
  (table (export "t") 2 funcref)
  (elem (i32.const 0) $sum)
  (func $sum (export "sum") (param i32 i64 f64) (result i64)
    (i64.add (i64.extend_i32_u (local.get 0)) (local.get 1)))
  (func (export "both") (param f32 i64 funcref) (result f64 i32)
    (call $f (local.get 0) (local.get 1))
    (call $g (local.get 2))
    drop))"""


def loads(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Record the symbols of every piece of code loaded from now on."""
    loaded: list[list[str]] = []
    real = jit.load

    def load(objects, target, symbols, shared=()):  # type: ignore[no-untyped-def]
        loaded.append(list(symbols))
        return real(objects, target, symbols, shared)

    monkeypatch.setattr(jit, "load", load)
    return loaded


def run(engine: Engine) -> tuple[list, Module]:
    store = Store(engine)
    module = Module(engine, WAT)
    f = Func(store, FuncType((F32, I64), (F64,)), lambda x, y: x + y)
    g = Func(store, FuncType((FUNCREF,), (I32, I32)), lambda ref: (int(ref is None), 7))
    exports = Instance(store, module, [f, g]).exports(store)
    results = [exports["sum"](store, 2, 40, 0.5), exports["both"](store, 1.5, 2, None),
               exports["t"].get(store, 0)(store, 1, 1, 0.0)]
    return results, module


@pytest.mark.parametrize("opt_level", [0, 1, 2])
def test_new_signatures_compile_with_the_module_in_one_piece_of_code(
        monkeypatch: pytest.MonkeyPatch, opt_level: int) -> None:
    engine = Engine(Config(opt_level=opt_level))
    Store(engine)       # the engine's collector, compiled once
    loaded = loads(monkeypatch)
    results, _ = run(engine)
    assert results == [42, [3.5, 1], 2]
    # instantiate's entry, both exports' entries and both imports' host stubs.
    assert len(loaded) == 1
    assert sorted(s for s in loaded[0] if s.startswith(("entry_", "host_"))) == [
        "entry__", "entry_lld_l", "entry_llf_ld", "host_l_ll", "host_lf_d"]


def test_a_modules_trampolines_go_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine()
    _, module = run(engine)
    code = weakref.ref(module._code)
    del module
    gc.collect()
    assert code() is None
    # Later users of those signatures get the engine's own pair, compiled once.
    loaded = loads(monkeypatch)
    store = Store(engine)
    for _ in range(3):
        Func(store, FuncType((F32, I64), (F64,)), lambda x, y: x)
    assert loaded == [["entry_lf_d", "host_lf_d"]]


def test_a_module_carries_no_trampoline_the_engine_keeps(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine()
    store = Store(engine)
    hosts = [Func(store, FuncType((F32, I64), (F64,)), lambda x, y: x + y),
             Func(store, FuncType((FUNCREF,), (I32, I32)), lambda ref: (0, 0))]
    loaded = loads(monkeypatch)
    exports = Instance(store, Module(engine, WAT), hosts).exports(store)
    assert exports["sum"](store, 1, 2, 0.0) == 3
    assert len(loaded) == 1
    assert not [s for s in loaded[0] if s.startswith("host_") or s == "entry_lf_d"]


def test_one_trampoline_serves_functions_of_its_signature_from_any_module(
        monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine()
    store = Store(engine)
    lender = Instance(store, Module(engine, '(module (func (export "id") (param i64) (result i64) '
                                            'local.get 0))'), []).exports(store)
    other = Instance(store, Module(engine, '(module (table (export "t") 1 funcref) '
                                           '(elem (i32.const 0) $neg) (func $neg (param i64) '
                                           '(result i64) (i64.sub (i64.const 0) (local.get 0))))'),
                     []).exports(store)
    # ``other`` exports no function, so it carries no entry for (i64) -> i64: its
    # function is called through the one ``lender`` carries.
    loaded = loads(monkeypatch)
    assert other["t"].get(store, 0)(store, 5) == -5
    assert lender["id"](store, 5) == 5
    assert loaded == []


def ir(wat: str):  # type: ignore[no-untyped-def]
    return ModuleCompiler(decode_module(wasmtime.wat2wasm(wat)), host(), CompileOptions()).compile()


def body(text: str, name: str) -> str:
    start = text.index(f'@"{name}"(') if f'@"{name}"(' in text else text.index(f"@{name}(")
    return text[start:text.index("\n}", start)]


def test_cold_functions_are_left_unoptimised() -> None:
    # The parameter is set, so it lives in a stack slot until optimisation.
    wat = """(module
      (func (export "a") (param i32) (result i32) (local.tee 0 (i32.add (local.get 0) (i32.const 1))))
      (func (export "b") (param i32) (result i32) (local.tee 0 (i32.add (local.get 0) (i32.const 1)))))"""
    module = ir(wat)
    for fn in module.functions:         # keep both to compare their optimised bodies
        fn.linkage = ""
    text = str(jit.optimize(module, host(), 2, cold=["wasm_func_1"]))
    assert "alloca" not in body(text, "wasm_func_0")
    assert "alloca" in body(text, "wasm_func_1")


def test_a_function_loads_what_the_instance_context_leads_to_once() -> None:
    wat = """(module (global $g (mut i32) (i32.const 1)) (global $h (mut i64) (i64.const 2))
      (func (export "f") (result i32)
        (global.set $g (i32.add (global.get $g) (global.get $g)))
        (global.set $h (i64.extend_i32_u (global.get $g)))
        (global.get $g)))"""
    module = ir(wat)
    text = str(module)
    f = body(text, "wasm_func_0")
    globals_offset = 8 * 4        # VMContext.GLOBALS
    assert len(re.findall(rf"getelementptr i8, ptr %a0, i64 {globals_offset}\n", f)) == 1
    # The store state, the globals array and each global's cell, once each.
    assert f.count("load ptr") == 4


def program_words(wat: str) -> int:
    """Words of the module's initialization program."""
    return int(re.search(r'@"init" = internal constant \[(\d+) x i64\]', str(ir(wat))).group(1))


def defining(n: int, globals_: int) -> str:
    """A module with a memory, ``n`` functions, tables and tags and ``globals_`` globals."""
    return ("(module (memory 1 2)" + " (func (param i32) (result i32) (local.get 0))" * n
            + " (table 1 funcref)" * n + " (tag (param i64))" * n
            + " (global (mut i64) (i64.const 7))" * globals_ + ")")


def test_a_module_carries_its_instantiation_as_data() -> None:
    # No code of its own but its functions: the store runtime's rt_initialize runs the
    # module's program (engine/compile/initialize.py).
    module = ir(defining(30, 1))
    assert [fn.name for fn in module.functions if not fn.is_declaration] == [f"wasm_func_{i}" for i in range(30)]
    size = program_words(defining(1, 1))
    assert program_words(defining(30, 1)) == size
    # A global costs its initialiser and the store into its cell: four words.
    assert program_words(defining(1, 31)) == size + 4 * 30


def test_instances_see_each_defined_record_as_declared() -> None:
    wat = """(module
      (type $ii (func (param i32) (result i32))) (type $l (func (param i64)))
      (import "" "t" (table $imported 1 funcref))
      (func $neg (type $ii) (i32.sub (i32.const 0) (local.get 0)))
      (func $drop (type $l))
      (func (export "via") (param i32 i32) (result i32)
        (call_indirect $t1 (type $ii) (local.get 0) (local.get 1)))
      (table $t1 (export "t1") 3 funcref) (table (export "t2") 2 7 externref)
      (memory (export "m") 2 5)
      (tag (export "e1") (param i32)) (tag (export "e2") (param i64 f32))
      (global (export "g1") i32 (i32.const 11)) (global (export "g2") (mut f64) (f64.const 2.5))
      (elem (table $t1) (i32.const 1) func $neg $drop)
      (export "neg" (func $neg)) (export "drop" (func $drop)))"""
    store = Store(Engine())
    module = Module(store.engine, wat)
    imported = Func(store, FuncType((), ()), lambda: None)
    table = Module(store.engine, '(module (table (export "t") 1 funcref))')
    exports = [Instance(store, module, [Instance(store, table, []).exports(store)["t"]]).exports(store)
               for _ in range(2)]
    for e in exports:
        assert e["neg"](store, 5) == -5 and e["drop"].type() == FuncType((I64,), ())
        assert e["via"](store, 4, 1) == -4
        with pytest.raises(Trap):       # $drop's record holds its own type's id
            e["via"](store, 4, 2)
        assert e["t1"].type() == TableType(Limits(3, None), FUNCREF)
        assert e["t2"].type() == TableType(Limits(2, 7), EXTERNREF)
        assert e["m"].type() == MemType(Limits(2, 5))
        assert e["e1"].type() == FuncType((I32,), ()) and e["e2"].type() == FuncType((I64, F32), ())
        assert e["g1"].value() == 11 and e["g1"].type() == GlobalType(False, I32)
        assert e["g2"].value() == 2.5
    # Every instance has records of its own: distinct tags, tables and globals.
    assert exports[0]["e1"] != exports[1]["e1"] and exports[0]["e2"] != exports[1]["e2"]
    exports[0]["g2"].set_value(store, 1.0)
    assert exports[0]["t1"].grow(store, 2, imported) == 3 and exports[0]["t1"].size() == 5
    assert exports[1]["g2"].value() == 2.5 and exports[1]["t1"].size() == 3


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def malloc_in_use() -> int:
    """Bytes libc's ``malloc`` has handed out and not got back (glibc's ``mallinfo2``)."""
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("needs glibc's mallinfo2")
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd


@pytest.mark.parametrize("start", ["", "(start $trap)"])
def test_release_frees_what_instantiate_allocated(start: str) -> None:
    """Per instance, 1.6 MB of table elements, 512 KiB of memory and a 32 KiB block of
    records and cells -- whether instantiation completes or its start function traps."""
    wat = ("(module (memory 8) (table 100000 funcref) (table 100000 externref) (table 1 exnref)"
           " (tag (param i32)) (global (mut exnref) (ref.null exn))"
           + " (global (mut i64) (i64.const 1))" * 4000
           + ' (func $f (export "f") (result i32) (i32.const 1)) (func $trap unreachable)'
           + f' (elem (i32.const 0) func $f) (data (i32.const 0) "x") {start})')
    engine = Engine()
    module = Module(engine, wat)

    def instance_lifetime() -> None:
        store = Store(engine)
        try:
            assert Instance(store, module, []).exports(store)["f"](store) == 1
        except Trap:
            assert start
        store.close()

    instance_lifetime()
    gc.collect()
    before = malloc_in_use()
    for _ in range(10):
        instance_lifetime()
    gc.collect()
    assert malloc_in_use() - before < 4096
