"""Abuse of the runtime API and of the machine: nothing a Python caller or a wasm
module does may crash the process, read freed memory or exhaust the machine.

Every case runs in a child process (anything here could crash, and a crash must fail
the case, not the suite) and must end in the typed error it names -- or, where the
spec or wasmtime says the operation succeeds or fails softly, in that outcome -- and
a clean exit: never a signal.  The child prints one line per outcome; the test
compares them.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRELUDE = """
import gc, sys, threading
from engine.errors import (DecodeError, ResourceLimitExceeded, StoreBusy, StoreClosed,
                           StoreError, Trap, TrapCode, WasmError, WrongStore)
from engine.runtime import *

ENGINE = Engine(Config(opt_level=0))

def outcome(thunk):
    '''What calling ``thunk`` did: ``ok <result>`` (the type's name for an object) or
    ``<error type>`` (with the trap code or the cause of a host error).'''
    try:
        result = thunk()
        if not isinstance(result, (int, float, str, bytes, list, type(None))):
            result = type(result).__name__
    except Trap as trap:
        cause = trap.__cause__
        return (f"Trap {trap.code.name}" if trap.code is not None
                else f"Trap from {type(cause).__name__}")
    except Exception as error:
        return type(error).__name__
    return f"ok {result!r}"

def show(label, thunk):
    print(label, outcome(thunk), flush=True)

def instance(store, wat, imports=()):
    module = Module(store.engine, wat)
    return Instance(store, module, list(imports)).exports(store)
"""


def run_child(body: str, timeout: float = 300, **constants: object) -> list[str]:
    """Run ``PRELUDE``, ``constants`` and ``body`` in a fresh interpreter; its output
    lines, once it exited cleanly (a signal or an uncaught error fails the test with the
    child's stderr)."""
    code = PRELUDE + "".join(f"{name} = {value!r}\n" for name, value in constants.items())
    code += textwrap.dedent(body)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, (f"child exited with {proc.returncode}"
                                  f"{' (signal %d)' % -proc.returncode if proc.returncode < 0 else ''}\n"
                                  f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")
    return proc.stdout.splitlines()


def outcomes(body: str, timeout: float = 300, **constants: object) -> dict[str, str]:
    """The child's ``label outcome`` lines, by label."""
    return dict(line.split(" ", 1) for line in run_child(body, timeout, **constants) if " " in line)


# -- closed stores ------------------------------------------------------------------------

def test_every_object_of_a_closed_store_raises_store_closed() -> None:
    seen = outcomes("""
        store = Store(ENGINE)
        tag = Tag(store, FuncType((I32,), ()))
        ex = instance(store, '''(module (import "" "t" (tag $t (param i32)))
            (memory (export "mem") 1) (table (export "tab") 2 funcref)
            (global (export "g") (mut i32) (i32.const 7))
            (func (export "f") (result i32) i32.const 1)
            (func (export "raise") (throw $t (i32.const 5))))''', [tag])
        try:
            ex["raise"](store)
        except WasmException as caught:
            exnref = caught.exnref
        f, mem, tab, g = ex["f"], ex["mem"], ex["tab"], ex["g"]
        store.close()
        show("call", lambda: f(store))
        show("call_slots", lambda: f.call_slots(store, []))
        show("func_type", lambda: f.type())
        show("mem_read", lambda: mem.read(store, 0, 16))
        show("mem_write", lambda: mem.write(store, b"x"))
        show("mem_grow", lambda: mem.grow(store, 1))
        show("mem_ptr", lambda: mem.data_ptr(store))
        show("tab_get", lambda: tab.get(store, 0))
        show("tab_set", lambda: tab.set(store, 0, None))
        show("tab_grow", lambda: tab.grow(store, 1))
        show("global_value", lambda: g.value(store))
        show("global_set", lambda: g.set_value(store, 1))
        show("tag_type", lambda: tag.type())
        show("exn_payload", lambda: exnref.payload)
        show("exn_tag", lambda: exnref.tag)
        show("exn_slots", lambda: exnref.payload_slots())
        show("throw_closed_tag", lambda: WasmException(tag, [1]))
        show("exports", lambda: ex)  # already built: a dict of handles, harmless
        show("new_func", lambda: Func(store, FuncType((), ()), lambda: None))
        show("new_instance", lambda: Instance(store, Module(ENGINE, "(module)"), []))
        show("new_memory", lambda: Memory(store, MemType(Limits(1, None))))
        show("new_table", lambda: Table(store, TableType(Limits(1, None), FUNCREF)))
        show("new_global", lambda: Global(store, GlobalType(False, I32), 1))
        show("new_tag", lambda: Tag(store, FuncType((), ())))
        show("set_limits", lambda: store.set_limits(memory_size=1))
        show("double_close", lambda: store.close())
        show("repr", lambda: (repr(f), repr(tag), repr(exnref)))
    """)
    expected_ok = {"exports", "double_close", "repr"}
    for label, result in seen.items():
        if label in expected_ok:
            assert result.startswith("ok"), (label, result)
        else:
            assert result == "StoreClosed", (label, result)
    assert len(seen) == 27


def test_a_store_cannot_be_closed_from_a_host_function_it_called() -> None:
    seen = outcomes("""
        store = Store(ENGINE)
        host = Func(store, FuncType((), ()), lambda: store.close())
        ex = instance(store, '(module (import "" "h" (func $h)) (func (export "f") call $h))', [host])
        show("close_inside", lambda: ex["f"](store))
        show("still_open", lambda: store.closed)
        show("close_after", lambda: store.close())
        show("call_after", lambda: ex["f"](store))
    """)
    assert seen == {"close_inside": "Trap from StoreBusy", "still_open": "ok False",
                    "close_after": "ok None", "call_after": "StoreClosed"}


def test_a_store_is_used_by_one_thread_at_a_time() -> None:
    seen = outcomes("""
        store = Store(ENGINE)
        other = {}
        def host():
            def use():
                other["call"] = outcome(lambda: ex["g"](store))
                other["memory"] = outcome(lambda: ex["mem"].read(store, 0, 1))
                other["close"] = outcome(lambda: store.close())
            thread = threading.Thread(target=use)
            thread.start()
            thread.join()
        ex = instance(store, '''(module (import "" "h" (func $h)) (memory (export "mem") 1)
            (func (export "f") call $h) (func (export "g")))''', [Func(store, FuncType((), ()), host)])
        show("outer", lambda: ex["f"](store))
        for label, result in other.items():
            print("thread_" + label, result)
        show("after", lambda: ex["g"](store))
    """)
    assert seen == {"outer": "ok None", "thread_call": "StoreBusy", "thread_memory": "StoreBusy",
                    "thread_close": "StoreBusy", "after": "ok None"}


# -- objects of another store -------------------------------------------------------------

def test_objects_never_cross_stores() -> None:
    seen = outcomes("""
        a, b = Store(ENGINE), Store(ENGINE)
        fa = Func(a, FuncType((), ()), lambda: None)
        ga = Global(a, GlobalType(True, I32), 1)
        ma = Memory(a, MemType(Limits(1, None)))
        ta = Table(a, TableType(Limits(1, None), FUNCREF))
        tag_a = Tag(a, FuncType((), ()))
        ex_b = instance(b, '''(module (import "" "t" (tag $t))
            (table (export "tab") 2 funcref) (global (export "g") (mut funcref) (ref.null func))
            (func (export "call") (param funcref) (result i32) (ref.is_null (local.get 0)))
            (func (export "exn") (param exnref))
            (func (export "raise") (throw $t)))''', [Tag(b, FuncType((), ()))])
        try:
            instance(a, '(module (tag $t (export "t")) (func (export "r") (throw $t)))')["r"](a)
        except WasmException as caught:
            exn_a = caught.exnref
        wat_f = '(module (import "" "f" (func)))'
        show("import_func", lambda: Instance(b, Module(ENGINE, wat_f), [fa]))
        show("import_global", lambda: Instance(b, Module(ENGINE, '(module (import "" "g" (global (mut i32))))'), [ga]))
        show("import_memory", lambda: Instance(b, Module(ENGINE, '(module (import "" "m" (memory 1)))'), [ma]))
        show("import_table", lambda: Instance(b, Module(ENGINE, '(module (import "" "t" (table 1 funcref)))'), [ta]))
        show("import_tag", lambda: Instance(b, Module(ENGINE, '(module (import "" "t" (tag)))'), [tag_a]))
        show("table_set", lambda: ex_b["tab"].set(b, 0, fa))
        show("table_grow_init", lambda: ex_b["tab"].grow(b, 1, fa))
        show("global_set", lambda: ex_b["g"].set_value(b, fa))
        show("funcref_arg", lambda: ex_b["call"](b, fa))
        show("exnref_arg", lambda: ex_b["exn"](b, exn_a))
        show("named_wrong_store", lambda: fa(b))
        show("memory_wrong_store", lambda: ma.read(b, 0, 1))
        show("linker_define", lambda: Linker(ENGINE).define(b, "", "f", fa))
        host_returns_a = Func(b, FuncType((), (FUNCREF,)), lambda: fa)
        ex_h = instance(b, '''(module (import "" "h" (func $h (result funcref)))
            (func (export "f") (result i32) (ref.is_null (call $h))))''', [host_returns_a])
        show("host_returns_foreign", lambda: ex_h["f"](b))
        throws_a = Func(b, FuncType((), ()), lambda: (_ for _ in ()).throw(WasmException(tag_a, [])))
        ex_t = instance(b, '(module (import "" "h" (func $h)) (func (export "f") call $h))', [throws_a])
        show("host_throws_foreign_tag", lambda: ex_t["f"](b))
        def rethrow():
            raise WasmException(exn_a.tag, [], exnref=exn_a)
        ex_r = instance(b, '(module (import "" "h" (func $h)) (func (export "f") call $h))',
                        [Func(b, FuncType((), ()), rethrow)])
        show("host_rethrows_foreign", lambda: ex_r["f"](b))
        other_engine = Engine(Config(opt_level=0))
        show("module_of_other_engine", lambda: Instance(b, Module(other_engine, "(module)"), []))
        a.close()
        del fa, ga, ma, ta, tag_a, exn_a
        gc.collect()
        show("b_still_works", lambda: ex_b["call"](b, None))
        show("b_table_untouched", lambda: ex_b["tab"].get(b, 0))
    """)
    wrong = {label for label, result in seen.items() if result == "WrongStore"}
    assert wrong == {"import_func", "import_global", "import_memory", "import_table", "import_tag",
                     "table_set", "table_grow_init", "global_set", "funcref_arg", "exnref_arg",
                     "named_wrong_store", "memory_wrong_store", "linker_define",
                     "module_of_other_engine"}, seen
    assert seen["host_returns_foreign"] == "Trap from WrongStore"
    assert seen["host_throws_foreign_tag"] == "Trap from WrongStore"
    assert seen["host_rethrows_foreign"] == "Trap from WrongStore"
    assert seen["b_still_works"] == "ok 1" and seen["b_table_untouched"] == "ok None"


# -- the native stack ---------------------------------------------------------------------

RECURSION = """
wat = '''(module (import "" "h" (func $h (param i32)))
  (func $plain (export "plain") (param i32) (result i32)
    (i32.add (i32.const 1) (call $plain (i32.add (local.get 0) (i32.const 1)))))
  (func $host (export "host") (param i32) (result i32)
    (call $h (local.get 0))
    (i32.add (i32.const 1) (call $host (i32.add (local.get 0) (i32.const 1))))))'''
engine = Engine(Config(opt_level=0, max_wasm_stack=MAX_STACK))
module = Module(engine, wat)
def run():
    store = Store(engine)
    deepest = []
    def h(n):
        deepest[:] = [repr([n, {"depth": str(n) * 3}])]   # some Python work at the bottom
    ex = Instance(store, module, [Func(store, FuncType((I32,), ()), h)]).exports(store)
    show("plain", lambda: ex["plain"](store, 0))
    show("host", lambda: ex["host"](store, 0))
    show("again", lambda: ex["plain"](store, 0))
if THREAD_STACK:
    threading.stack_size(THREAD_STACK)
    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
else:
    run()
"""


@pytest.mark.parametrize("max_stack, thread_stack", [
    (64 << 10, 0), (512 << 10, 0), (16 << 20, 0), (1 << 30, 0),
    (512 << 10, 256 << 10), (16 << 20, 1 << 20), (1 << 30, 128 << 10), (1 << 30, 32 << 10),
], ids=lambda n: f"{n >> 10}K" if n else "main")
def test_deep_recursion_traps_whatever_the_budget_and_the_thread_stack(max_stack: int,
                                                                       thread_stack: int) -> None:
    """``max_wasm_stack`` larger than the thread's stack (16 MiB and 1 GiB on the main
    thread's 8 MiB; the default 512 KiB on a 256 KiB thread) once segfaulted; now the
    limit holds against the stack the code runs on, host calls at the deepest point
    included -- and LLVM itself runs on a large stack whatever thread compiles."""
    seen = outcomes(RECURSION, MAX_STACK=max_stack, THREAD_STACK=thread_stack)
    assert seen == {"plain": "Trap STACK_OVERFLOW", "host": "Trap STACK_OVERFLOW",
                    "again": "Trap STACK_OVERFLOW"}


def test_max_wasm_stack_must_be_a_positive_size() -> None:
    seen = outcomes("""
        for value in (0, -1, 2**64, 1.5):
            show(f"max_wasm_stack={value!r}", lambda: Engine(Config(max_wasm_stack=value)))
    """)
    assert set(seen.values()) == {"ValueError"}, seen


# -- limits and growth --------------------------------------------------------------------

GROW = """(module (memory (export "mem") 0) (table (export "tab") 0 funcref)
  (func (export "mem_grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "tab_grow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0)))
  (func (export "touch") (param i32) (result i32)
    (i32.store (local.get 0) (i32.const 7)) (i32.load (local.get 0))))"""


def test_memory_grows_lazily_and_tables_grow_within_the_limits() -> None:
    """memory.grow 65535 reserved and zeroed 4 GiB eagerly; now pages are committed when
    touched.  table.grow 0x7fffffff took 16 GiB; a table_elements limit refuses it."""
    seen = outcomes("""
        def rss_mib():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * 4096 / 2**20
        store = Store(ENGINE)
        ex = instance(store, GROW)
        before = rss_mib()
        show("mem_grow", lambda: ex["mem_grow"](store, 65535))
        show("touch_last_page", lambda: ex["touch"](store, 65535 * 65536 - 4))
        show("touch_past_end", lambda: ex["touch"](store, 65535 * 65536))
        print("rss_small", rss_mib() - before < 16)
        show("mem_size", lambda: ex["mem"].size(store))
        show("mem_grow_past_4GiB", lambda: ex["mem_grow"](store, 2))
        show("python_grow_past_4GiB", lambda: ex["mem"].grow(store, 2))
        store.set_limits(table_elements=1_000_000)
        show("tab_grow_huge", lambda: ex["tab_grow"](store, 0x7FFF_FFFF))
        show("tab_grow_max_u32", lambda: ex["tab_grow"](store, -1))
        show("tab_grow_within", lambda: ex["tab_grow"](store, 1000))
        show("python_tab_grow_huge", lambda: ex["tab"].grow(store, 0x7FFF_FFFF))
        print("rss_still_small", rss_mib() - before < 32)
    """, GROW=GROW)
    assert seen == {
        "mem_grow": "ok 0", "touch_last_page": "ok 7", "touch_past_end": "Trap MEMORY_OUT_OF_BOUNDS",
        "rss_small": "True", "mem_size": "ok 65535", "mem_grow_past_4GiB": "ok -1",
        "python_grow_past_4GiB": "WasmError", "tab_grow_huge": "ok -1", "tab_grow_max_u32": "ok -1",
        "tab_grow_within": "ok 0", "python_tab_grow_huge": "ResourceLimitExceeded",
        "rss_still_small": "True"}



@pytest.mark.parametrize("opt_level", [0, 2])
def test_code_loads_anywhere_among_live_memories(opt_level: int) -> None:
    """Each live linear memory reserves 8 GiB of address space, and MCJIT maps a
    module's code and its constants separately as it loads them.  With the small code
    model a function's 32-bit reference to its constants overflowed once live memories
    pushed the two mappings apart: RuntimeDyld's assertion aborted the process after a
    few hundred modules."""
    lines = run_child("""
        ENGINE = Engine(Config(opt_level=OPT_LEVEL))
        live, wrong = [], 0
        for i in range(600):
            helpers = "".join(f"(func (param f64) (result f64) local.get 0 f64.const {j}.5 f64.div)"
                              for j in range(i % 40))
            wat = (f'(module (memory 1) (func (export "f") (param f64) (result f64) local.get 0 '
                   f'f64.const {i}.125 f64.mul f64.const 3.25 f64.add) {helpers})')
            store = Store(ENGINE)
            result = instance(store, wat)["f"](store, 2.0)
            wrong += result != 2.0 * (i + 0.125) + 3.25
            live.append(store)
        print("modules", len(live), "wrong", wrong)
    """, OPT_LEVEL=opt_level)
    assert lines == ["modules 600 wrong 0"]

def test_store_limits_as_wasmtime_has_them() -> None:
    seen = outcomes("""
        store = Store(ENGINE)
        store.set_limits(memory_size=3 * 65536, table_elements=10, instances=3, tables=2, memories=2)
        ex = instance(store, GROW)
        show("mem_grow_to_limit", lambda: ex["mem_grow"](store, 3))
        show("mem_grow_past_limit", lambda: ex["mem_grow"](store, 1))
        show("python_mem_grow_past_limit", lambda: ex["mem"].grow(store, 1))
        show("tab_grow_to_limit", lambda: ex["tab_grow"](store, 10))
        show("tab_grow_past_limit", lambda: ex["tab_grow"](store, 1))
        show("big_initial_memory", lambda: instance(store, "(module (memory 4))"))
        show("big_initial_table", lambda: instance(store, "(module (table 11 funcref))"))
        show("host_big_memory", lambda: Memory(store, MemType(Limits(4, None))))
        show("second_memory", lambda: Memory(store, MemType(Limits(1, None))))
        show("third_memory", lambda: Memory(store, MemType(Limits(1, None))))
        show("second_table", lambda: Table(store, TableType(Limits(1, None), FUNCREF)))
        show("third_table", lambda: Table(store, TableType(Limits(1, None), FUNCREF)))
        show("second_instance", lambda: instance(store, "(module)"))
        show("third_instance", lambda: instance(store, "(module)"))
        show("fourth_instance", lambda: instance(store, "(module)"))
        store.set_limits(memory_size=3 * 65536, table_elements=10, trap_on_grow_failure=True)
        show("mem_grow_traps", lambda: ex["mem_grow"](store, 1))
        show("tab_grow_traps", lambda: ex["tab_grow"](store, 0x7FFF_FFFF))
        show("zero_grow_still_fine", lambda: ex["mem_grow"](store, 0))
        show("bad_limit", lambda: store.set_limits(memory_size="lots"))
        print("limits", store.limits)
    """, GROW=GROW)
    assert seen.pop("limits").startswith("StoreLimits(memory_size=196608, table_elements=10, "
                                         "instances=10000")
    assert seen == {
        "mem_grow_to_limit": "ok 0", "mem_grow_past_limit": "ok -1",
        "python_mem_grow_past_limit": "ResourceLimitExceeded", "tab_grow_to_limit": "ok 0",
        "tab_grow_past_limit": "ok -1", "big_initial_memory": "ResourceLimitExceeded",
        "big_initial_table": "ResourceLimitExceeded", "host_big_memory": "ResourceLimitExceeded",
        "second_memory": "ok 'Memory'", "third_memory": "ResourceLimitExceeded",
        "second_table": "ok 'Table'", "third_table": "ResourceLimitExceeded",
        "second_instance": "ok 'InstanceExports'", "third_instance": "ok 'InstanceExports'",
        "fourth_instance": "ResourceLimitExceeded",
        "mem_grow_traps": "Trap ALLOCATION_TOO_LARGE", "tab_grow_traps": "Trap ALLOCATION_TOO_LARGE",
        "zero_grow_still_fine": "ok 3", "bad_limit": "TypeError"}


# -- arguments ----------------------------------------------------------------------------

def test_oversized_and_malformed_arguments_are_typed_errors() -> None:
    seen = outcomes("""
        fuel_engine = Engine(Config(opt_level=0, consume_fuel=True))
        store = Store(ENGINE)
        ex = instance(store, '''(module (memory (export "mem") 1) (table (export "tab") 1 funcref)
            (func (export "id32") (param i32) (result i32) (local.get 0))
            (func (export "id64") (param i64) (result i64) (local.get 0)))''')
        show("i32_max_unsigned", lambda: ex["id32"](store, 2**32 - 1))
        show("i32_min_signed", lambda: ex["id32"](store, -2**31))
        show("i32_too_big", lambda: ex["id32"](store, 2**32))
        show("i32_too_small", lambda: ex["id32"](store, -2**31 - 1))
        show("i64_huge", lambda: ex["id64"](store, 2**200))
        show("i32_float", lambda: ex["id32"](store, 1.5))
        show("too_many_args", lambda: ex["id32"](store, 1, 2))
        show("slot_too_big", lambda: ex["id64"].call_slots(store, [2**64]))
        show("slot_negative", lambda: ex["id64"].call_slots(store, [-1]))
        show("read_huge", lambda: ex["mem"].read(store, 0, 2**70))
        show("read_negative", lambda: ex["mem"].read(store, -5, 3))
        show("write_past_end", lambda: ex["mem"].write(store, b"x" * 10, 65530))
        show("grow_negative", lambda: ex["mem"].grow(store, -1))
        show("grow_huge", lambda: ex["mem"].grow(store, 2**70))
        show("table_get_huge", lambda: ex["tab"].get(store, 2**70))
        show("table_grow_huge", lambda: ex["tab"].grow(store, 2**40))
        show("func_type_too_wide", lambda: Func(store, FuncType((I32,) * 1001, ()), lambda *a: None))
        show("memory_too_big", lambda: Memory(store, MemType(Limits(70000, None))))
        show("table_min_above_max", lambda: Table(store, TableType(Limits(5, 2), FUNCREF)))
        show("not_a_module", lambda: Instance(store, "(module)", []))
        fuel_store = Store(fuel_engine)
        spin = instance(fuel_store, '(module (func (export "f")))')["f"]
        show("fuel_2_63", lambda: (fuel_store.set_fuel(2**63), spin(fuel_store), fuel_store.get_fuel())[2])
        show("fuel_max", lambda: (fuel_store.set_fuel(2**64 - 1), spin(fuel_store), fuel_store.get_fuel())[2])
        show("fuel_2_64", lambda: fuel_store.set_fuel(2**64))
        show("fuel_negative", lambda: fuel_store.set_fuel(-1))
        show("epoch_negative", lambda: Store(Engine(Config(epoch_interruption=True))).set_epoch_deadline(-1))
    """)
    assert seen == {
        "i32_max_unsigned": "ok -1", "i32_min_signed": f"ok {-2**31}", "i32_too_big": "ValueError",
        "i32_too_small": "ValueError", "i64_huge": "ValueError", "i32_float": "TypeError",
        "too_many_args": "TypeError", "slot_too_big": "ValueError", "slot_negative": "ValueError",
        "read_huge": "WasmError", "read_negative": "WasmError", "write_past_end": "WasmError",
        "grow_negative": "WasmError", "grow_huge": "WasmError", "table_get_huge": "WasmError",
        "table_grow_huge": "WasmError", "func_type_too_wide": "ValueError",
        "memory_too_big": "WasmError", "table_min_above_max": "WasmError",
        "not_a_module": "TypeError", "fuel_2_63": f"ok {2**63 - 1}", "fuel_max": f"ok {2**64 - 2}",
        "fuel_2_64": "ValueError", "fuel_negative": "ValueError", "epoch_negative": "ValueError"}


def test_parameters_count_toward_the_locals_limit() -> None:
    """As in wasmtime's parser: the decode target's oracle reported a false disagreement."""
    seen = outcomes("""
        import wasmtime
        from engine.binary.decode import decode_module
        for params, locals_ in ((1, 50_000), (0, 50_000), (1, 49_999)):
            wasm = wasmtime.wat2wasm(f"(module (func (param {'i32 ' * params}) (local {'i32 ' * locals_})))")
            show(f"{params}+{locals_}", lambda: decode_module(wasm) and None)
    """)
    assert seen == {"1+50000": "DecodeError", "0+50000": "ok None", "1+49999": "ok None"}


def test_printing_deep_nesting_is_linear() -> None:
    """4,000 nested blocks printed as 32 MB of text, 100,000 exhausted memory."""
    seen = outcomes("""
        from engine.binary.decode import decode_module
        from engine.text.print import print_module
        def nested(n):
            body = bytes([0]) + b"\\x02\\x40" * n + b"\\x0b" * (n + 1)
            size = len(body)
            leb = bytearray()
            while True:
                byte, size = size & 0x7F, size >> 7
                leb.append(byte | (0x80 if size else 0))
                if not size:
                    break
            code = b"\\x01" + bytes(leb) + body
            code_leb = bytearray()
            size = len(code)
            while True:
                byte, size = size & 0x7F, size >> 7
                code_leb.append(byte | (0x80 if size else 0))
                if not size:
                    break
            return (b"\\0asm\\1\\0\\0\\0" + b"\\x01\\x04\\x01\\x60\\x00\\x00" + b"\\x03\\x02\\x01\\x00"
                    + b"\\x0a" + bytes(code_leb) + code)
        for n in (4_000, 100_000):
            text = print_module(decode_module(nested(n)))
            print(f"bytes_per_block_{n}", len(text) // n)
    """)
    assert int(seen["bytes_per_block_4000"]) < 300
    assert int(seen["bytes_per_block_100000"]) < 300


# -- random misuse ------------------------------------------------------------------------

def test_random_sequences_of_api_calls_end_in_results_or_typed_errors() -> None:
    """Hypothesis drives two stores through random operations -- creating objects,
    closing, calling with arguments of any size, moving objects between the stores,
    growing, limiting, throwing -- and every operation must return or raise a typed
    error (``WasmError`` and its kinds, an escaping ``WasmException``, ``TypeError``,
    ``ValueError``): anything else, or a crash, fails."""
    lines = run_child("""
        from hypothesis import given, settings, strategies as st, HealthCheck
        WAT = '''(module (memory (export "mem") 1) (table (export "tab") 2 funcref)
          (global (export "g") (mut funcref) (ref.null func)) (tag (export "t") (param i32))
          (func (export "id") (param i64) (result i64) (local.get 0))
          (func (export "pick") (param funcref) (result i32) (ref.is_null (local.get 0)))
          (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
          (func (export "tgrow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0)))
          (func $down (export "down") (param i32) (result i32)
            (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
              (else (call $down (i32.sub (local.get 0) (i32.const 1)))))))'''
        MODULE = Module(ENGINE, WAT)
        TYPED = (WasmError, WasmException, TypeError, ValueError)
        ints = st.one_of(st.integers(-2**70, 2**70), st.sampled_from([0, -1, 2**31, 2**32, 2**63, 2**64]))
        op = st.tuples(st.sampled_from(["new", "close", "call", "slots", "pick", "grow", "tgrow",
                                        "pygrow", "pytgrow", "read", "tset", "gset", "limits",
                                        "throw", "down", "memory", "table"]),
                       st.integers(0, 1), st.integers(0, 1), ints)

        @settings(max_examples=150, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(st.lists(op, max_size=25))
        def run(ops):
            stores = [Store(ENGINE), Store(ENGINE)]
            exports = [None, None]
            for name, i, j, n in ops:
                store, other = stores[i], stores[j]
                try:
                    if name == "new" or exports[i] is None:
                        exports[i] = Instance(store, MODULE, []).exports(store)
                        continue
                    ex, ex_other = exports[i], exports[j] or exports[i]
                    if name == "close":
                        store.close()
                    elif name == "call":
                        ex["id"](other, n)
                    elif name == "slots":
                        ex["id"].call_slots(store, [n])
                    elif name == "pick":
                        ex["pick"](store, ex_other["id"])
                    elif name == "grow":
                        ex["grow"](store, n)
                    elif name == "tgrow":
                        store.set_limits(table_elements=1000)
                        ex["tgrow"](store, n)
                    elif name == "pygrow":
                        ex["mem"].grow(other, n)
                    elif name == "pytgrow":
                        store.set_limits(table_elements=1000)
                        ex["tab"].grow(store, n, ex_other["id"])
                    elif name == "read":
                        ex["mem"].read(store, n, n + 8)
                    elif name == "tset":
                        ex["tab"].set(store, n, ex_other["id"])
                    elif name == "gset":
                        ex["g"].set_value(store, ex_other["id"])
                    elif name == "limits":
                        store.set_limits(memory_size=n, instances=n, trap_on_grow_failure=bool(n & 1))
                    elif name == "throw":
                        raise_it = Func(store, FuncType((), ()), lambda: (_ for _ in ()).throw(
                            WasmException(ex_other["t"], [n])))
                        raise_it(store)
                    elif name == "down":
                        ex["down"](store, n)
                    elif name == "memory":
                        Memory(store, MemType(Limits(n, None)))
                    else:
                        store.set_limits(table_elements=1000)
                        Table(store, TableType(Limits(n, None), FUNCREF), ex_other["id"])
                except TYPED:
                    pass
        run()
        print("done")
    """, timeout=600)
    assert lines[-1] == "done"


def test_raw_reference_slots_must_be_references_the_store_gave_out() -> None:
    """call_slots, slots=True host functions and WasmException.from_slots take raw
    slots; a made-up reference would be followed by compiled code."""
    seen = outcomes("""
        store = Store(ENGINE)
        ex = instance(store, '''(module (table $t 1 funcref) (type $v (func))
            (tag (export "t") (param funcref))
            (func (export "call") (param funcref) (table.set $t (i32.const 0) (local.get 0))
              (call_indirect (type $v) (i32.const 0)))
            (func (export "nop")))''')
        show("bogus_funcref", lambda: ex["call"].call_slots(store, [0x12345678]))
        show("null_funcref", lambda: ex["call"].call_slots(store, [0]))
        show("real_funcref", lambda: ex["call"].call_slots(store, [ex["nop"].record]))
        show("bogus_exnref", lambda: ExnRef(store, 0x12345678))
        show("bogus_payload", lambda: WasmException.from_slots(store, ex["t"], [0x12345678]))
        bad_host = Func(store, FuncType((), (FUNCREF,)), lambda: 0x12345678, slots=True)
        show("bogus_host_result", lambda: bad_host(store))
    """)
    assert seen == {"bogus_funcref": "ValueError", "null_funcref": "Trap INDIRECT_CALL_TO_NULL",
                    "real_funcref": "ok []", "bogus_exnref": "ValueError",
                    "bogus_payload": "ValueError", "bogus_host_result": "Trap from ValueError"}
