"""Trampolines per shape (engine/compile/trampolines.py): one entry trampoline and one
host stub serve every signature of a shape, and move every value exactly both ways --
a 32-bit value whatever the high half of its register holds, NaN payloads, references
-- on the host at every opt_level and on each emulated target."""
from __future__ import annotations

import random
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine.runtime
from engine.compile.target import AARCH64, S390X, X86_64, Target
from engine.compile.trampolines import buffer_order
from engine.emulated import EMULATED
from engine.runtime import F32, F64, FUNCREF, I32, I64, FuncType
from engine.syntax.types import ValType
from tests.test_emulated import require

TYPES = (I32, I64, F32, F64, FUNCREF)
WAT_NAME = {I32: "i32", I64: "i64", F32: "f32", F64: "f64", FUNCREF: "funcref"}


def relay_wat(ft: FuncType) -> str:
    """A module whose export ``relay`` passes its arguments to the imported ``h`` of the
    same type and returns what ``h`` returns."""
    params = " ".join(WAT_NAME[t] for t in ft.params)
    results = " ".join(WAT_NAME[t] for t in ft.results)
    sig = (f"(param {params})" if params else "") + (f" (result {results})" if results else "")
    gets = " ".join(f"(local.get {i})" for i in range(len(ft.params)))
    return f'(module (import "" "h" (func $h {sig})) (func (export "relay") {sig} (call $h {gets})))'


def slot_of(t: ValType, rng: random.Random, ref: int) -> int:
    """A random slot of type ``t``: any bits (NaN payloads included), or ``ref``."""
    if t == FUNCREF:
        return rng.choice((0, ref))
    return rng.getrandbits(32 if t in (I32, F32) else 64)


def relay(api: ModuleType, opt_level: int, ft: FuncType, seed: int) -> None:
    """Call ``relay`` of ``ft`` with random slots; the host function gets them exactly,
    and the caller gets the host function's random slots exactly."""
    engine = api.Engine(api.Config(opt_level=opt_level))
    store = api.Store(engine)
    rng = random.Random(seed)
    got: list[Any] = []
    results: list[int] = []

    def h(*args: int) -> Any:
        got.append(list(args))
        return results[0] if len(results) == 1 else list(results) or None

    host = api.Func(store, ft, h, slots=True)
    ref = host.record
    args = [slot_of(t, rng, ref) for t in ft.params]
    results += [slot_of(t, rng, ref) for t in ft.results]
    exports = api.Instance(store, api.Module(engine, relay_wat(ft)), [host]).exports(store)
    assert exports["relay"].call_slots(store, args) == results
    assert got == [args]


def signatures(rng: random.Random, count: int) -> list[FuncType]:
    """``count`` signatures, some beyond every target's registers."""
    return [FuncType(tuple(rng.choice(TYPES) for _ in range(rng.choice((0, 1, 3, 6, 11)))),
                     tuple(rng.choice(TYPES) for _ in range(rng.choice((0, 1, 2, 4, 9)))))
            for _ in range(count)]


value_types = st.sampled_from(TYPES)


@settings(max_examples=40, deadline=None)
@given(params=st.lists(value_types, max_size=12), results=st.lists(value_types, max_size=10),
       opt_level=st.sampled_from((0, 2)), seed=st.integers(0, 2**32))
def test_values_cross_exactly_both_ways(params: list[ValType], results: list[ValType], opt_level: int,
                                         seed: int) -> None:
    relay(engine.runtime, opt_level, FuncType(tuple(params), tuple(results)), seed)


def test_signatures_of_one_shape_share_their_trampolines() -> None:
    # Integers and references share a class, whatever their order among the floats.
    a = FuncType((I32, F64, FUNCREF), (F32, I64))
    b = FuncType((F64, I64, I32), (I32, F32))
    c = FuncType((F64, I64, I32), (F32, F32))
    shapes = {ft: buffer_order(ft, X86_64.registers).shape for ft in (a, b, c)}
    assert shapes[a] == shapes[b] != shapes[c]
    api = engine.runtime
    eng = api.Engine(api.Config(opt_level=0))
    assert eng.entry(a) is eng.entry(b) and eng.host_stub(a) is eng.host_stub(b)
    assert eng.entry(a) is not eng.entry(c)
    for ft in (a, b, c):
        relay(api, 0, ft, seed=7)


@pytest.mark.parametrize("target", [X86_64, AARCH64, S390X], ids=lambda t: t.arch)
def test_the_buffer_holds_registers_first_then_the_spill_area(target: Target) -> None:
    """Integers in registers, then floats in registers, then the spilled values, each in
    order: a buffer is a permutation of the values, whatever the target's registers."""
    regs = target.registers
    ints = regs.int_params + 2
    ft = FuncType((F32,) + (I64,) * ints + (F64, I32), (F64, I32) + (I64,) * (regs.int_results + 1))
    order = buffer_order(ft, regs)
    assert order.shape.params == ("i64",) * regs.int_params + ("float", "double")
    assert order.shape.spilled_params == 3
    n = regs.int_params      # the f32, n integers in registers, two spilled, the f64, the spilled i32
    assert order.params == (n, *range(n), n + 2, n + 3, n + 1, n + 4)
    assert sorted(order.results) == list(range(len(ft.results)))
    assert order.shape.results == ("i64",) * regs.int_results + ("double",)
    assert order.result_masks[:2] == (2**64 - 1, 2**32 - 1)


@pytest.mark.parametrize("opt_level", [0, 2])
def test_a_32_bit_result_ignores_the_high_half_of_its_register(opt_level: int) -> None:
    """``i32.wrap_i64`` is free in machine code: the register keeps the ``i64``'s high
    half, which a shape's ``i64`` slot carries and the buffer order masks."""
    api = engine.runtime
    eng = api.Engine(api.Config(opt_level=opt_level))
    store = api.Store(eng)
    got: list[int] = []
    host = api.Func(store, FuncType((I32, F32), ()), lambda x, y: got.append(x), slots=True)
    wat = """(module (import "" "h" (func $h (param i32 f32)))
      (func (export "wrap") (param i64) (result i32 i64)
        (call $h (i32.wrap_i64 (local.get 0)) (f32.const 1))
        (i32.wrap_i64 (local.get 0)) (local.get 0)))"""
    exports = api.Instance(store, api.Module(eng, wat), [host]).exports(store)
    assert exports["wrap"].call_slots(store, [0x1234_5678_8765_4321]) == [0x8765_4321, 0x1234_5678_8765_4321]
    assert got == [0x8765_4321]


@pytest.mark.emulated
@pytest.mark.parametrize("arch", EMULATED)
def test_values_cross_exactly_on_the_target(arch: str) -> None:
    require(arch)
    from engine.emulated import runtime
    api = runtime(arch)
    for i, ft in enumerate(signatures(random.Random(arch), 12)):
        relay(api, i % 2 * 2, ft, seed=i)
