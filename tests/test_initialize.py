"""Instantiation as data (engine/compile/initialize.py): the store runtime's
``rt_initialize`` runs each module's initialization program -- constant expressions of
any depth, segments applied in order with the compiled instructions' traps, then the
start function -- at every opt_level, on the host and on each emulated target."""
from __future__ import annotations


import pytest

import engine.runtime
from engine.emulated import EMULATED
from engine.errors import Trap, TrapCode
from tests.test_emulated import require


def deep_sum(depth: int) -> str:
    """An extended-const ``i64`` expression of ``depth`` nested additions: its value
    stack holds ``depth + 1`` slots."""
    return "(i64.const 1) " * (depth + 1) + "(i64.add) " * depth


MODULE = f"""(module
  (import "" "base" (global $base i32))
  (import "" "t" (table $t 4 funcref))
  (memory (export "m") 1)
  (global $deep (export "deep") i64 {deep_sum(3000)})
  (global $at (export "at") i32 (i32.sub (i32.add (global.get $base) (i32.const 2)) (i32.const 1)))
  (global $f32 (export "f32") f32 (f32.const -0.5))
  (global $started (export "started") (mut i32) (i32.const 0))
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func $start (global.set $started (i32.add (call_indirect $t (result i32) (global.get $at))
                                              (i32.load8_u (i32.const 3)))))
  (elem (table $t) (i32.add (global.get $base) (i32.const 1)) func $one $two)
  (elem $passive funcref (ref.func $two) (ref.null func))
  (data (i32.const 2) "\\05\\07")
  (start $start))"""


def instantiate(api, opt_level: int, wat: str, base: int):  # type: ignore[no-untyped-def]
    eng = api.Engine(api.Config(opt_level=opt_level))
    store = api.Store(eng)
    table = api.Instance(store, api.Module(eng, '(module (table (export "t") 4 funcref))'), []).exports(store)["t"]
    base_global = api.Global(store, api.GlobalType(False, api.I32), base)
    instance = api.Instance(store, api.Module(eng, wat), [base_global, table])
    return store, instance.exports(store), table


def check_module(api, opt_level: int) -> None:  # type: ignore[no-untyped-def]
    store, exports, table = instantiate(api, opt_level, MODULE, base=1)
    assert exports["deep"].value() == 3001
    assert exports["at"].value() == 2 and exports["f32"].value() == -0.5
    # $start ran last: table[2] is $one, memory[3] is 7.
    assert exports["started"].value() == 8
    assert [table.get(store, i) is None for i in range(4)] == [True, True, False, False]
    assert exports["m"].read(store, 0, 5) == b"\0\0\5\7\0"
    # Out of bounds: the element segment traps and the data segment never applies.
    with pytest.raises(Trap) as raised:
        instantiate(api, opt_level, MODULE, base=3)
    assert raised.value.code is TrapCode.TABLE_OUT_OF_BOUNDS


@pytest.mark.parametrize("opt_level", [0, 1, 2])
def test_the_program_initialises_in_order_and_traps_as_the_instructions_do(opt_level: int) -> None:
    check_module(engine.runtime, opt_level)


def test_a_data_segment_out_of_bounds_traps_after_the_element_segments() -> None:
    api = engine.runtime
    wat = MODULE.replace('(data (i32.const 2) "\\05\\07")', '(data (i32.const 65535) "\\05\\07")')
    with pytest.raises(Trap) as raised:
        instantiate(api, 0, wat, base=1)
    assert raised.value.code is TrapCode.MEMORY_OUT_OF_BOUNDS


@pytest.mark.emulated
@pytest.mark.parametrize("arch", EMULATED)
def test_the_program_runs_on_the_target(arch: str) -> None:
    require(arch)
    from engine.emulated import runtime
    check_module(runtime(arch), 0)
