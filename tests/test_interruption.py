"""Safety limits: runaway loops stop with a trap (fuel, epoch), unbounded recursion
ends in stack exhaustion, and tail calls run in constant stack."""
from __future__ import annotations

import threading

import pytest

from engine.errors import Trap, TrapCode
from engine.runtime import Config, Engine, Instance, Module, Store

SPIN = """(module
  (func (export "spin") (loop (br 0)))
  (func (export "count") (param i32) (result i32)
    (loop (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))) (local.get 0)))"""

RECURSION = """(module
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
  (func $forever (export "forever") (param i32) (result i32) (call $forever (local.get 0)))
  (type $t (func (param i64 i64) (result i64)))
  (table funcref (elem $tc_indirect))
  (func $tc (export "tail") (param i64 i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0)) (then (local.get 1))
      (else (return_call $tc (i64.sub (local.get 0) (i64.const 1))
                             (i64.add (local.get 1) (i64.const 2))))))
  (func $tc_indirect (export "tail_indirect") (param i64 i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0)) (then (local.get 1))
      (else (return_call_indirect (type $t) (i64.sub (local.get 0) (i64.const 1))
                                  (i64.add (local.get 1) (i64.const 3)) (i32.const 0))))))"""


def exports(config: Config, wat: str) -> tuple[Store, dict]:
    engine = Engine(config)
    store = Store(engine)
    return store, dict(Instance(store, Module(engine, wat), []).exports(store).items())


def test_fuel_stops_an_infinite_loop_and_is_accounted() -> None:
    store, ex = exports(Config(consume_fuel=True), SPIN)
    store.set_fuel(1000)
    assert ex["count"](store, 100) == 0
    left = store.get_fuel()
    assert 0 < left < 1000 - 100
    with pytest.raises(Trap) as trap:
        ex["spin"](store)
    assert trap.value.code is TrapCode.OUT_OF_FUEL and store.get_fuel() == 0
    store.set_fuel(10_000)
    assert ex["count"](store, 5) == 0


def test_epoch_deadline_stops_an_infinite_loop_from_another_thread() -> None:
    store, ex = exports(Config(epoch_interruption=True), SPIN)
    store.set_epoch_deadline(1)
    timer = threading.Timer(0.1, store.engine.increment_epoch)
    timer.start()
    with pytest.raises(Trap) as trap:
        ex["spin"](store)
    timer.join()
    assert trap.value.code is TrapCode.INTERRUPT
    store.set_epoch_deadline(1)
    assert ex["count"](store, 3) == 0


def test_interruption_knobs_need_the_config() -> None:
    store, _ = exports(Config(), SPIN)
    with pytest.raises(ValueError, match="consume_fuel"):
        store.set_fuel(1)
    with pytest.raises(ValueError, match="epoch_interruption"):
        store.set_epoch_deadline(1)


def test_unbounded_recursion_exhausts_the_stack_and_the_store_recovers() -> None:
    store, ex = exports(Config(), RECURSION)
    for _ in range(3):
        with pytest.raises(Trap) as trap:
            ex["forever"](store, 0)
        assert trap.value.code is TrapCode.STACK_OVERFLOW
        assert ex["down"](store, 1000) == 1000


def test_max_wasm_stack_bounds_the_call_depth() -> None:
    store, ex = exports(Config(max_wasm_stack=64 * 1024), RECURSION)
    assert ex["down"](store, 100) == 100
    with pytest.raises(Trap) as trap:
        ex["down"](store, 100_000)
    assert trap.value.code is TrapCode.STACK_OVERFLOW


@pytest.mark.parametrize("opt_level", [0, 2])
def test_a_million_tail_calls_run_in_constant_stack(opt_level: int) -> None:
    store, ex = exports(Config(opt_level=opt_level, max_wasm_stack=64 * 1024), RECURSION)
    assert ex["tail"](store, 1_000_000, 0) == 2_000_000
    assert ex["tail_indirect"](store, 1_000_000, 0) == 3_000_000
