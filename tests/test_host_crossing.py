"""Calls across the host boundary in every direction: wasm→Python, Python→wasm and
Python→wasm→Python→wasm, with results, traps and host errors travelling back
through native frames by status, never by unwinding them.  A host function's error
reaches the caller as a trap caused by that very error, as in wasmtime."""
from __future__ import annotations

import pytest

from engine.errors import Trap, TrapCode
from engine.runtime import (F32, F64, I32, I64, Engine, Func, FuncType, Instance, Module,
                            Store)

ENGINE = Engine()

RELAY = """(module
  (import "host" "down" (func $down (param i32) (result i32)))
  (func (export "relay") (param i32) (result i32)
    (i32.add (call $down (local.get 0)) (i32.const 1)))
  (func (export "div") (param i32) (result i32) (i32.div_u (i32.const 10) (local.get 0))))"""


def relay(store: Store, down) -> dict:  # type: ignore[no-untyped-def]
    host = Func(store, FuncType((I32,), (I32,)), down)
    return dict(Instance(store, Module(ENGINE, RELAY), [host]).exports(store).items())


def test_wasm_calls_python_with_every_number_type() -> None:
    store = Store(ENGINE)
    seen = []

    def mix(a: int, b: int, c: float, d: float) -> list:
        seen.append((a, b, c, d))
        return [b, a, d, c]

    host = Func(store, FuncType((I32, I64, F32, F64), (I64, I32, F64, F32)), mix)
    ex = Instance(store, Module(ENGINE, """(module
        (import "" "mix" (func $mix (param i32 i64 f32 f64) (result i64 i32 f64 f32)))
        (func (export "go") (result i64 i32 f64 f32)
          (call $mix (i32.const -7) (i64.const 0x100000000) (f32.const 0.25) (f64.const -1e300))))"""),
                  [host]).exports(store)
    assert ex["go"](store) == [0x100000000, -7, -1e300, 0.25]
    assert seen == [(-7, 0x100000000, 0.25, -1e300)]


def test_python_wasm_python_wasm_recursion() -> None:
    """Each level crosses the boundary twice; the depth is counted on the way back up."""
    store = Store(ENGINE)
    ex: dict = {}

    def down(n: int) -> int:
        return 0 if n == 0 else ex["relay"](store, n - 1)

    ex.update(relay(store, down))
    assert ex["relay"](store, 50) == 51


def test_host_error_crosses_wasm_frames_as_a_trap_caused_by_it() -> None:
    store = Store(ENGINE)
    ex: dict = {}
    error = LookupError("from the host")

    def down(n: int) -> int:
        if n == 0:
            raise error
        return ex["relay"](store, n - 1)

    ex.update(relay(store, down))
    with pytest.raises(Trap) as raised:
        ex["relay"](store, 5)
    assert raised.value.code is None and raised.value.__cause__ is error
    assert "LookupError: from the host" in str(raised.value)
    with pytest.raises(Trap):
        ex["relay"](store, 0)
    assert ex["div"](store, 5) == 2


def test_trap_in_nested_wasm_reaches_the_outer_caller_as_that_trap() -> None:
    store = Store(ENGINE)
    ex: dict = {}
    ex.update(relay(store, lambda n: ex["div"](store, n)))
    with pytest.raises(Trap) as trap:
        ex["relay"](store, 0)
    assert trap.value.code is TrapCode.INTEGER_DIVISION_BY_ZERO
    assert ex["relay"](store, 5) == 3


def test_host_can_catch_a_trap_from_nested_wasm() -> None:
    store = Store(ENGINE)
    ex: dict = {}

    def down(n: int) -> int:
        try:
            return ex["div"](store, n)
        except Trap as trap:
            return 100 + int(trap.code)

    ex.update(relay(store, down))
    assert ex["relay"](store, 0) == 100 + TrapCode.INTEGER_DIVISION_BY_ZERO + 1


def test_host_result_of_the_wrong_type_is_an_error_not_a_crash() -> None:
    store = Store(ENGINE)
    for wrong in ("not an int", None, [1, 2]):
        ex = relay(store, lambda n, w=wrong: w)
        with pytest.raises(Trap) as raised:
            ex["relay"](store, 1)
        assert isinstance(raised.value.__cause__, TypeError)


def test_interrupting_a_host_function_is_not_turned_into_a_trap() -> None:
    store = Store(ENGINE)

    def down(n: int) -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        relay(store, down)["relay"](store, 1)


def test_host_trap_is_a_trap_with_its_code() -> None:
    store = Store(ENGINE)

    def down(n: int) -> int:
        raise Trap(TrapCode.UNREACHABLE)

    with pytest.raises(Trap) as trap:
        relay(store, down)["relay"](store, 1)
    assert trap.value.code is TrapCode.UNREACHABLE


def test_funcref_to_a_host_function_is_callable_from_wasm_and_python() -> None:
    store = Store(ENGINE)
    host = Func(store, FuncType((I32,), (I32,)), lambda n: n * 3)
    ex = Instance(store, Module(ENGINE, """(module (table $t 1 funcref)
        (type $f (func (param i32) (result i32)))
        (func (export "apply") (param funcref i32) (result i32)
          (table.set $t (i32.const 0) (local.get 0))
          (call_indirect $t (type $f) (local.get 1) (i32.const 0)))
        (func (export "get") (result funcref) (table.get $t (i32.const 0))))"""),
                  []).exports(store)
    assert ex["apply"](store, host, 5) == 15
    assert ex["get"](store) == host and ex["get"](store)(store, 2) == 6
