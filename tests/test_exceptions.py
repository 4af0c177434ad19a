"""Exception handling in the engine: tags, payloads and identity across every host
crossing, traps that never run a handler, and exception-object lifetime."""
from __future__ import annotations

import gc
import threading

import pytest

from bench.rss import rss_mib
from engine import WasmException
from engine.errors import Trap, TrapCode
from engine.runtime import (EXNREF, EXTERNREF, F64, FUNCREF, I32, I64, Config, Engine, ExnRef,
                            Func, FuncType, Instance, Module, Store, Tag)

ENGINE = Engine()

CATCHER = """(module
  (import "host" "call" (func $call (param i32)))
  (import "host" "tag" (tag $h (param i64 externref)))
  (tag $e (export "e") (param i32 f64))
  (global $saved (export "saved") (mut exnref) (ref.null exn))
  (func $throw (export "throw") (param i32) (throw $e (local.get 0) (f64.const 0.5)))
  (func (export "catch_host") (param i32) (result i64 externref)
    (block $h (result i64 externref)
      (try_table (catch $h $h) (call $call (local.get 0)))
      (return (i64.const -1) (ref.null extern))))
  (func (export "catch_ref_host") (param i32) (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (call $call (local.get 0)))
      (return (ref.null exn))))
  (func (export "rethrow") (param exnref) (throw_ref (local.get 0)))
  (func (export "save_and_rethrow") (param i32)
    (global.set $saved
      (block $h (result exnref)
        (try_table (catch_all_ref $h) (call $throw (local.get 0)))
        (return)))
    (throw_ref (global.get $saved))))"""


class Host:
    """The imports of :data:`CATCHER`; ``on_call`` decides what the host does."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.tag = Tag(store, FuncType((I64, EXTERNREF), ()))
        self.on_call = lambda n: None
        self.call = Func(store, FuncType((I32,), ()), lambda n: self.on_call(n))
        instance = Instance(store, Module(ENGINE, CATCHER), [self.call, self.tag])
        self.ex = dict(instance.exports(store).items())


@pytest.fixture
def host() -> Host:
    return Host(Store(ENGINE))


def test_exception_escaping_wasm_reaches_python_with_tag_payload_and_exnref(host: Host) -> None:
    store = host.store
    with pytest.raises(WasmException) as raised:
        host.ex["throw"](store, 7)
    exn = raised.value
    assert exn.tag == host.ex["e"] and exn.payload == [7, 0.5]
    assert exn.exnref.tag == host.ex["e"] and exn.exnref.payload == [7, 0.5]
    with pytest.raises(WasmException) as again:      # the store stays usable
        host.ex["throw"](store, 8)
    assert again.value.payload == [8, 0.5] and again.value.exnref != exn.exnref


def test_python_throws_into_wasm_which_catches_by_tag(host: Host) -> None:
    marker = object()

    def throw(n: int) -> None:
        raise WasmException(host.tag, [n * 10, marker])

    host.on_call = throw
    assert host.ex["catch_host"](host.store, 4) == [40, marker]


def test_wasm_rethrow_keeps_the_identity_of_a_python_thrown_exception(host: Host) -> None:
    thrown = WasmException(host.tag, [1, None])

    def throw(n: int) -> None:
        raise thrown

    host.on_call = throw
    caught = host.ex["catch_ref_host"](host.store, 0)
    assert isinstance(caught, ExnRef) and caught == thrown.exnref
    with pytest.raises(WasmException) as raised:
        host.ex["rethrow"](host.store, caught)
    assert raised.value.exnref == caught and raised.value.payload == [1, None]
    with pytest.raises(Trap) as trap:
        host.ex["rethrow"](host.store, None)
    assert trap.value.code is TrapCode.NULL_REFERENCE


def test_python_wasm_python_wasm_interleavings(host: Host) -> None:
    """wasm → host → wasm throws → host catches it in Python and returns normally; and
    host → wasm throws → host re-raises → wasm catches the very same object."""
    store, seen = host.store, []

    def catch_in_python(n: int) -> None:
        try:
            host.ex["throw"](store, n)
        except WasmException as exn:
            seen.append(exn.payload)

    host.on_call = catch_in_python
    assert host.ex["catch_host"](store, 3) == [-1, None]
    assert seen == [[3, 0.5]]

    def reraise(n: int) -> None:
        try:
            host.ex["throw"](store, n)
        except WasmException as exn:
            seen.append(exn.exnref)
            raise

    host.on_call = reraise
    caught = host.ex["catch_ref_host"](store, 9)
    assert caught == seen[-1] and caught.payload == [9, 0.5]


def test_exnref_held_by_python_survives_collections(host: Host) -> None:
    store = host.store
    with pytest.raises(WasmException) as raised:
        host.ex["save_and_rethrow"](store, 42)
    held = raised.value.exnref
    assert host.ex["saved"].value(store) == held      # the same object, via a global
    host.ex["saved"].set_value(store, None)
    for i in range(5000):                             # several collections
        with pytest.raises(WasmException):
            host.ex["throw"](store, i)
    gc.collect()
    assert held.payload == [42, 0.5] and held.tag == host.ex["e"]
    with pytest.raises(WasmException) as again:
        host.ex["rethrow"](store, held)
    assert again.value.exnref == held


TRAPS_IN_HANDLERS = """(module
  (import "" "host" (func $host))
  (func $deep (param i32) (result i32) (i32.add (call $deep (local.get 0)) (i32.const 1)))
  (func $spin (loop (br 0)))
  (func (export "run") (param i32) (result i32)
    (block $all (result exnref)
      (try_table (catch_all_ref $all)
        (block $any
          (try_table (catch_all $any)
            (block $b3
              (block $b2
                (block $b1
                  (block $b0 (br_table $b0 $b1 $b2 $b3 (local.get 0)))
                  (unreachable))
                (call $host) (return (i32.const 0)))
              (drop (call $deep (i32.const 0))) (return (i32.const 0)))
            (call $spin)))
        (return (i32.const 100)))
      (return (i32.const 0)))
    drop (i32.const 200)))"""


@pytest.mark.parametrize("case, code", [
    (0, TrapCode.UNREACHABLE), (1, None), (2, TrapCode.STACK_OVERFLOW), (3, TrapCode.OUT_OF_FUEL),
])
def test_traps_never_run_a_handler(case: int, code: TrapCode | None) -> None:
    """A wasm trap, a host error, stack exhaustion and running out of fuel, each inside
    two try_tables with catch_all and catch_all_ref: no handler runs."""
    engine = Engine(Config(consume_fuel=True))
    store = Store(engine)
    store.set_fuel(100_000)

    def fail() -> None:
        raise RuntimeError("host error")

    run = Instance(store, Module(engine, TRAPS_IN_HANDLERS),
                   [Func(store, FuncType((), ()), fail)]).exports(store)["run"]
    with pytest.raises(Trap) as trap:
        run(store, case)
    assert trap.value.code is code
    if code is None:
        assert isinstance(trap.value.__cause__, RuntimeError)


def test_epoch_interrupt_is_not_caught() -> None:
    engine = Engine(Config(epoch_interruption=True))
    store = Store(engine)
    store.set_epoch_deadline(1)
    run = Instance(store, Module(engine, TRAPS_IN_HANDLERS),
                   [Func(store, FuncType((), ()), lambda: None)]).exports(store)["run"]
    timer = threading.Timer(0.05, engine.increment_epoch)
    timer.start()
    with pytest.raises(Trap) as trap:
        run(store, 4)
    timer.join()
    assert trap.value.code is TrapCode.INTERRUPT


def test_tags_have_per_instance_identity_and_imports_are_the_same_tag() -> None:
    store = Store(ENGINE)
    definer = Module(ENGINE, '(module (tag (export "t")) (func (export "throw") (throw 0)))')
    a = Instance(store, definer, []).exports(store)
    b = Instance(store, definer, []).exports(store)
    assert a["t"] != b["t"] and a["t"].type() == FuncType((), ())
    catcher = Module(ENGINE, """(module (import "" "t" (tag $t)) (import "" "throw" (func $throw))
        (func (export "catch") (result i32)
          (block $h (try_table (catch $t $h) (call $throw)) (return (i32.const 0)))
          (i32.const 1)))""")
    catch_a = Instance(store, catcher, [a["t"], a["throw"]]).exports(store)["catch"]
    assert catch_a(store) == 1
    cross = Instance(store, catcher, [a["t"], b["throw"]]).exports(store)["catch"]
    with pytest.raises(WasmException) as raised:
        cross(store)
    assert raised.value.tag == b["t"]


@pytest.mark.parametrize("clause", ["(catch $e $h)", "(catch_ref $e $h)"])
def test_a_million_throws_and_catches_keep_memory_bounded(clause: str) -> None:
    result = "(result i32 exnref)" if "ref" in clause else "(result i32)"
    drop = "drop drop" if "ref" in clause else "drop"
    wat = f"""(module (tag $e (param i32))
      (func (export "loop") (param i32) (result i32) (local i32)
        (loop $l
          (block $h {result}
            (try_table {clause} (throw $e (local.get 1)))
            (unreachable))
          {drop}
          (br_if $l (i32.lt_u (local.tee 1 (i32.add (local.get 1) (i32.const 1)))
                              (local.get 0))))
        (local.get 1)))"""
    store = Store(ENGINE)
    run = Instance(store, Module(ENGINE, wat), []).exports(store)["loop"]
    run(store, 10_000)
    before = rss_mib()
    assert run(store, 1_000_000) == 1_000_000
    assert rss_mib() - before < 16


def test_reference_payloads_round_trip() -> None:
    store = Store(ENGINE)
    tag = Tag(store, FuncType((FUNCREF, EXNREF, F64), ()))
    module = Module(ENGINE, """(module (import "" "t" (tag $t (param funcref exnref f64)))
        (func (export "id") (param funcref exnref f64) (result funcref exnref f64)
          (block $h (result funcref exnref f64)
            (try_table (catch $t $h) (throw $t (local.get 0) (local.get 1) (local.get 2)))
            (unreachable)))
        (func (export "raise") (throw $t (ref.null func) (ref.null exn) (f64.const 3))))""")
    ex = Instance(store, module, [tag]).exports(store)
    with pytest.raises(WasmException) as raised:
        ex["raise"](store)
    inner = raised.value.exnref
    assert raised.value.tag == tag and raised.value.payload == [None, None, 3.0]
    assert ex["id"](store, ex["id"], inner, -2.5) == [ex["id"], inner, -2.5]
    with pytest.raises(TypeError):
        ex["id"](store, None, object(), 0.0)
