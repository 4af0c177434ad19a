"""Numeric lowering against wasmtime, instruction by instruction.

Every numeric instruction is compiled into probes (see ``tests/_jit_harness.py``) three
ways: with all operands known only at run time; with all operands constant, folded by
LLVM's ``-O2`` pipeline; and, for binary instructions, with one operand constant after
``-O2``, where LLVM applies algebraic identities.  Each must give what wasmtime gives
for the same operand bits: the same result bits, or the same trap.  NaN results follow
the spec's rule (section 4.3.3, ``nans``): the bitwise operators (abs, neg, copysign,
reinterpret) are exact; any other NaN result must be canonical when every NaN operand
is, and arithmetic (quiet bit set) otherwise.  Floats cross every boundary as integer
bits.
"""
from __future__ import annotations

import itertools
import random
import struct
from functools import cache
from typing import Callable

import llvmlite.binding as llvm
import llvmlite.ir as ir
import pytest
import wasmtime

from engine.compile.numeric import lower_const, lower_numeric
from engine.compile.target import AARCH64, S390X, Target, host
from engine.errors import TrapCode
from engine.syntax.instructions import OPS
from oracles.wasmtime_config import reference_engine
from tests._jit_harness import (Jit, Outcome, ProbeEmitter, define_case_probe, define_probe,
                                new_module, optimize, parse)

NUMERIC_OPS = [op for op, info in OPS.items()
               if info.sig is not None and info.natural_align is None]
BITWISE = {f"{t}.{name}" for t in ("f32", "f64") for name in ("abs", "neg", "copysign")} | {
    "f32.reinterpret_i32", "f64.reinterpret_i64"}
"""Float results the spec defines bit for bit, NaN payload included."""
BINARY_OPS = [op for op in NUMERIC_OPS if len(OPS[op].sig[0]) == 2]
WIDTH = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}
SIGNIFICAND = {"f32": 23, "f64": 52}
RANDOM_SINGLES, RANDOM_PAIRS, FOLDED_CASES = 300, 400, 64


def signature(op: str) -> tuple[list[str], str]:
    """Param and result types of ``op``, or of a space-separated sequence of
    instructions each of which takes the previous one's result."""
    names = op.split()
    return [p.value for p in OPS[names[0]].sig[0]], OPS[names[-1]].sig[1][0].value


def signed(bits: int, t: str) -> int:
    w = WIDTH[t]
    return bits - (1 << w) if bits >> (w - 1) else bits


# Operands, as unsigned bits.

def float_bits(value: float, t: str) -> int:
    fmt = ("<f", "<I") if t == "f32" else ("<d", "<Q")
    return struct.unpack(fmt[1], struct.pack(fmt[0], value))[0]


def float_fields(bits: int, t: str) -> tuple[int, int, int]:
    """``(magnitude, infinity, quiet bit)``: ``bits`` without its sign, and the bit
    patterns of +inf and of the quiet bit in format ``t``."""
    w, m = WIDTH[t], SIGNIFICAND[t]
    return bits & ((1 << (w - 1)) - 1), ((1 << (w - 1 - m)) - 1) << m, 1 << (m - 1)


def is_nan(bits: int, t: str) -> bool:
    magnitude, inf, _ = float_fields(bits, t)
    return magnitude > inf


def is_canonical_nan(bits: int, t: str) -> bool:
    magnitude, inf, quiet = float_fields(bits, t)
    return magnitude == inf | quiet


def special_floats(t: str) -> list[int]:
    """Zeros, infinities, NaNs (canonical, with payload, signalling), subnormal and
    normal extremes, each with both signs."""
    w, m = WIDTH[t], SIGNIFICAND[t]
    _, inf, quiet = float_fields(0, t)
    magnitudes = [0, inf, inf | quiet, inf | quiet | 0x12345, inf | (2 * quiet - 1), inf | 1,
                  inf | quiet >> 1, inf | (quiet - 1), 1, 2 * quiet - 1, 1 << m, inf - 1]
    return [s | mag for mag in magnitudes for s in (0, 1 << (w - 1))]


def float_edges(t: str) -> list[int]:
    """Specials, values that round differently, and every truncation bound with the
    float values right next to it (the bits one or two steps away)."""
    mask = (1 << WIDTH[t]) - 1
    roundings = [0.5, 1.0, 1.5, 2.5, 3.5, 0.49999999999999994, 0.001, 100.7, 2.0 ** 23, 2.0 ** 52]
    bounds = [2.0 ** k for k in (24, 31, 32, 53, 63, 64)] + [
        2147483647.5, 2147483648.5, 2147483649.0, 4294967295.5, 4294967296.5, 0.9999999]
    near = [(float_bits(s * v, t) + d) & mask
            for v in bounds for s in (1, -1) for d in range(-2, 3)]
    return special_floats(t) + [float_bits(s * v, t) for v in roundings for s in (1, -1)] + near


def int_core(t: str) -> list[int]:
    w = WIDTH[t]
    low, high = 1 << (w - 1), (1 << w) - 1
    values = (0, 1, 2, 3, -1, -2, low, low + 1, low - 1, low - 2, w - 1, w, w + 1, 2 * w + 3,
              0x5555555555555555, 0xAAAAAAAAAAAAAAAA, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF,
              0x80000000)
    return [v & high for v in values]


def int_edges(t: str) -> list[int]:
    w = WIDTH[t]
    return int_core(t) + [1 << k for k in range(w)] + [(1 << k) - 1 for k in range(2, w)]


def edges(t: str) -> list[int]:
    return int_edges(t) if t[0] == "i" else float_edges(t)


def core(t: str) -> list[int]:
    """The operands every binary instruction sees in all pairs."""
    if t[0] == "i":
        return int_core(t)
    return special_floats(t) + [float_bits(v, t) for v in (1.0, -1.0, 2.5, -2.5)]


def random_operand(rng: random.Random, t: str) -> int:
    choice = rng.random()
    if choice < 0.3:
        return rng.choice(edges(t))
    if t[0] == "f" and choice < 0.65:
        # Magnitudes spread over the whole range that conversions care about.
        return float_bits(rng.choice((1, -1)) * 2.0 ** rng.uniform(-30, 70), t)
    return rng.getrandbits(WIDTH[t])


@cache
def inputs(op: str) -> list[tuple[int, ...]]:
    params, _ = signature(op)
    rng = random.Random(f"numeric {op}")
    if len(params) == 1:
        (t,) = params
        return [(v,) for v in edges(t)] + [(random_operand(rng, t),) for _ in range(RANDOM_SINGLES)]
    pairs = list(itertools.product(*(core(t) for t in params)))
    return pairs + [tuple(random_operand(rng, t) for t in params) for _ in range(RANDOM_PAIRS)]


def folded_inputs(op: str) -> list[tuple[int, ...]]:
    cases = inputs(op)
    return random.Random(f"folded {op}").sample(cases, min(FOLDED_CASES, len(cases)))


# The two sides.

FROM_BITS = {"i32": "i32.wrap_i64", "i64": "", "f32": "i32.wrap_i64 f32.reinterpret_i32",
             "f64": "f64.reinterpret_i64"}
TO_BITS = {"i32": "i64.extend_i32_u", "i64": "", "f32": "i32.reinterpret_f32 i64.extend_i32_u",
           "f64": "i64.reinterpret_f64"}
"""Wasm code moving a value of each type from / to its i64 bits."""


def _wat_func(op: str) -> str:
    """``op`` applied to its params, with every value passed as i64 bits."""
    params, result = signature(op)
    body = " ".join(f"local.get {k} {FROM_BITS[t]}" for k, t in enumerate(params))
    return (f'(func (export "{op}") (param{" i64" * len(params)}) (result i64) '
            f"{body} {op} {TO_BITS[result]})")


class Reference:
    """The given instructions as exports of one wasmtime instance; outcomes are
    memoised, so the three probe kinds share one wasmtime run per operand tuple."""

    def __init__(self, ops: list[str], extra_funcs: str = "") -> None:
        self.store = wasmtime.Store(reference_engine())
        wat = f"(module {' '.join(map(_wat_func, ops))} {extra_funcs})"
        module = wasmtime.Module(reference_engine(), wasmtime.wat2wasm(wat))
        self.exports = wasmtime.Instance(self.store, module, []).exports(self.store)
        self._memo: dict[tuple[str, tuple[int, ...]], Outcome] = {}

    def run(self, name: str, args: tuple[int, ...] = ()) -> Outcome:
        key = (name, args)
        if key not in self._memo:
            try:
                result = self.exports[name](self.store, *(signed(a, "i64") for a in args))
                self._memo[key] = result & (2 ** 64 - 1)
            except wasmtime.Trap as e:
                self._memo[key] = TrapCode[e.trap_code.name]
        return self._memo[key]


def lowering(op: str) -> Callable[[ProbeEmitter, list[ir.Value]], ir.Value]:
    """A probe body lowering ``op`` (or each instruction of a sequence in turn)."""
    def body(em: ProbeEmitter, args: list[ir.Value]) -> ir.Value:
        for name in op.split():
            args = [lower_numeric(em, name, args)]
        return args[0]
    return body


def build_probes(target: Target) -> llvm.ModuleRef:
    module = new_module(target)
    for op in NUMERIC_OPS:
        params, result = signature(op)
        define_probe(module, target, op, params, result, lowering(op))
    return parse(module)


def _constant(bits: int, t: str) -> ir.Constant:
    return lower_const(f"{t}.const", signed(bits, t) if t[0] == "i" else bits)


@pytest.fixture(scope="module")
def reference() -> Reference:
    return Reference(NUMERIC_OPS)


@pytest.fixture(scope="module")
def runtime_jit() -> Jit:
    return Jit(build_probes(host()))


def mixed_cases(op: str) -> list[tuple[int | None, ...]]:
    """One operand of a binary instruction constant, the other (``None``) not: the
    shape in which LLVM applies identities such as ``x * 1.0 = x``."""
    a, b = signature(op)[0]
    return [(c, None) for c in core(a)] + [(None, c) for c in core(b)]


@pytest.fixture(scope="module")
def optimized_jit() -> Jit:
    """Per instruction, probe ``folded.<op>`` (all operands constant) and, for binary
    ones, ``mixed.<op>`` (one operand constant), after LLVM's ``-O2`` pipeline."""
    target = host()
    module = new_module(target)
    for op in NUMERIC_OPS:
        params, result = signature(op)
        probes = {"folded": folded_inputs(op), "mixed": mixed_cases(op) if len(params) == 2 else []}
        for kind, cases in probes.items():
            if cases:
                constants = [[v if v is None else _constant(v, t) for v, t in zip(case, params)]
                             for case in cases]
                define_case_probe(module, target, f"{kind}.{op}", params, result, constants,
                                  lowering(op))
    ref = parse(module)
    optimize(ref, target)
    return Jit(ref)


# Comparison.

def mismatch(op: str, args: tuple[int, ...], ours: Outcome, theirs: Outcome) -> str | None:
    """Why ``ours`` is not a result Wasm allows, given wasmtime's; ``None`` if it is."""
    params, result = signature(op)
    shown = f"{op}({', '.join(hex(a) for a in args)}): ours {ours!r}, wasmtime {theirs!r}"
    trapped = isinstance(ours, TrapCode) or isinstance(theirs, TrapCode)
    if trapped or result[0] == "i" or op in BITWISE:
        same = isinstance(ours, TrapCode) == isinstance(theirs, TrapCode) and ours == theirs
        return None if same else shown
    if not (is_nan(ours, result) and is_nan(theirs, result)):
        return None if ours == theirs else shown
    nan_operands = [(a, t) for a, t in zip(args, params) if t[0] == "f" and is_nan(a, t)]
    if all(is_canonical_nan(a, t) for a, t in nan_operands):
        return None if is_canonical_nan(ours, result) else shown + " (canonical NaN required)"
    return None if ours & float_fields(ours, result)[2] else shown + " (arithmetic NaN required)"


def assert_agrees(op: str, cases: list[tuple[int, ...]], ours, reference: Reference) -> None:
    failures = [m for args, outcome in zip(cases, ours)
                if (m := mismatch(op, args, outcome, reference.run(op, args)))]
    assert not failures, f"{len(failures)}/{len(cases)} differ:\n" + "\n".join(failures[:15])


# Tests.

@pytest.mark.parametrize("op", NUMERIC_OPS)
def test_runtime_operands_match_wasmtime(op: str, runtime_jit: Jit, reference: Reference):
    call = runtime_jit.probe(op, len(signature(op)[0]))
    cases = inputs(op)
    assert_agrees(op, cases, [call(*args) for args in cases], reference)


@pytest.mark.parametrize("op", NUMERIC_OPS)
def test_constant_folding_matches_wasmtime(op: str, optimized_jit: Jit, reference: Reference):
    call = optimized_jit.probe(f"folded.{op}", 2)
    cases = folded_inputs(op)
    assert_agrees(op, cases, [call(k, 0) for k in range(len(cases))], reference)


@pytest.mark.parametrize("op", BINARY_OPS)
def test_one_constant_operand_matches_wasmtime(op: str, optimized_jit: Jit, reference: Reference):
    call = optimized_jit.probe(f"mixed.{op}", 2)
    params = signature(op)[0]
    cases, ours = [], []
    for k, case in enumerate(mixed_cases(op)):
        for x in core(params[case.index(None)]):
            cases.append(tuple(x if v is None else v for v in case))
            ours.append(call(k, x))
    assert_agrees(op, cases, ours, reference)


@pytest.mark.parametrize("chain", ["f64.promote_f32 f32.demote_f64",
                                   "f32.demote_f64 f64.promote_f32"])
def test_conversion_round_trips_match_wasmtime(chain: str):
    """``-O2`` folds ``fptrunc (fpext x)`` to ``x``; Wasm still wants a quiet NaN
    (the spec suite's ``float_exprs.wast`` checks exactly this)."""
    params, result = signature(chain)
    target = host()
    module = new_module(target)
    define_probe(module, target, "chain", params, result, lowering(chain))
    ref = parse(module)
    optimize(ref, target)
    call = Jit(ref).probe("chain", 1)
    cases = inputs(chain)
    assert_agrees(chain, cases, [call(*args) for args in cases], Reference([chain]))


def _wat_const(bits: int, t: str) -> str:
    if t[0] == "i":
        return str(signed(bits, t))
    magnitude, inf, _ = float_fields(bits, t)
    sign = "-" if bits >> (WIDTH[t] - 1) else ""
    if magnitude >= inf:
        return sign + ("inf" if magnitude == inf else f"nan:0x{magnitude - inf:x}")
    fmt = ("<I", "<f") if t == "f32" else ("<Q", "<d")
    return struct.unpack(fmt[1], struct.pack(fmt[0], bits))[0].hex()


def test_constants_keep_every_bit():
    """``t.const`` is exact: NaN payloads and signalling NaNs included, also after -O2."""
    values = {t: edges(t) for t in WIDTH}
    funcs = " ".join(
        f'(func (export "{t}.const.{k}") (result i64) {t}.const {_wat_const(v, t)} {TO_BITS[t]})'
        for t, vs in values.items() for k, v in enumerate(vs))
    reference = Reference([], funcs)
    target = host()
    module = new_module(target)
    for t, vs in values.items():
        define_case_probe(module, target, f"{t}.const", [t], t, [[_constant(v, t)] for v in vs],
                          lambda em, args: args[0])
    ref = parse(module)
    optimize(ref, target)
    jit = Jit(ref)
    for t, vs in values.items():
        call = jit.probe(f"{t}.const", 2)
        for k, v in enumerate(vs):
            assert call(k, 0) == v == reference.run(f"{t}.const.{k}"), (t, hex(v))


@pytest.mark.parametrize("target", [S390X, AARCH64], ids=lambda t: t.triple.split("-")[0])
def test_lowering_compiles_for_other_targets(target: Target):
    """The same lowering is valid IR for every target: each probe ends up in the
    target's ELF object (big-endian s390x included)."""
    obj = target.machine.emit_object(build_probes(target))
    assert obj[:4] == b"\x7fELF"
    big_endian = obj[5] == 2
    assert big_endian == target.big_endian
    machine = int.from_bytes(obj[18:20], "big" if big_endian else "little")
    assert machine == {"s390x": 22, "aarch64": 183}[target.triple.split("-")[0]]
    missing = [op for op in NUMERIC_OPS if op.encode() + b"\0" not in obj]
    assert not missing, missing


def test_only_numeric_instructions_are_lowered():
    with pytest.raises(ValueError):
        lower_numeric(None, "i32.load", [])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        lower_const("i32.add", 0)
