"""``Config.canonicalize_nans``: every NaN the spec leaves open is the canonical one.

Without it a NaN result is the hardware's (x86: ``0/0`` is negative) or LLVM's constant
folding's (positive), quieted; with it, positive and canonical at every opt_level, as
wasmtime's ``cranelift_nan_canonicalization`` has it -- which is what the oracles rely
on when they look at a divergence again (``oracles/differential.py``)."""
from __future__ import annotations

import platform

import pytest
from wasmtime import wat2wasm

from engine.runtime import Config, Engine, Instance, Module, Store

# Operands come from globals, so no level folds them, and from constants, which levels
# 1 and 2 fold.
WAT = """(module
  (global $zero (mut f64) (f64.const 0))
  (global $snan (mut f32) (f32.const nan:0x200001))
  (func (export "div") (result i64)
    (i64.reinterpret_f64 (f64.div (global.get $zero) (global.get $zero))))
  (func (export "div_folded") (result i64)
    (i64.reinterpret_f64 (f64.div (f64.const 0) (f64.const 0))))
  (func (export "ceil_snan") (result i32)
    (i32.reinterpret_f32 (f32.ceil (global.get $snan))))
  (func (export "promote_snan") (result i64)
    (i64.reinterpret_f64 (f64.promote_f32 (global.get $snan))))
  (func (export "neg_snan") (result i32)
    (i32.reinterpret_f32 (f32.neg (global.get $snan)))))"""


def results(opt_level: int, canonical: bool) -> dict[str, int]:
    engine = Engine(Config(opt_level=opt_level, canonicalize_nans=canonical))
    store = Store(engine)
    exports = Instance(store, Module(engine, wat2wasm(WAT)), []).exports(store)
    bits = {"div": 64, "div_folded": 64, "ceil_snan": 32, "promote_snan": 64, "neg_snan": 32}
    return {name: exports[name](store) & ((1 << n) - 1) for name, n in bits.items()}


@pytest.mark.parametrize("opt_level", [0, 1, 2])
def test_canonical_nans_at_every_level(opt_level: int) -> None:
    assert results(opt_level, True) == {
        "div": 0x7FF8_0000_0000_0000, "div_folded": 0x7FF8_0000_0000_0000, "ceil_snan": 0x7FC0_0000,
        "promote_snan": 0x7FF8_0000_0000_0000,
        "neg_snan": 0xFFA0_0001}   # a bit operation: the spec fixes its result, sign flipped


@pytest.mark.skipif(platform.machine() != "x86_64", reason="x86-64's own NaNs")
def test_without_it_nans_are_the_hardwares_quieted() -> None:
    seen = results(0, False)
    assert seen["div"] == 0xFFF8_0000_0000_0000    # x86's default NaN is negative
    assert seen["ceil_snan"] == 0x7FE0_0001          # the operand's payload, quieted
    assert seen["promote_snan"] == 0x7FFC_0000_2000_0000
    assert seen["neg_snan"] == 0xFFA0_0001
