"""The wasm calling convention (engine/compile/callconv.py): signatures beyond the
registers, tail calls between them, and the register figures each target's
description gives.

The regression modules once crashed the process or computed wrong values (stack
arguments of a ``musttail`` call never written; an LLVM abort on a tail call whose
results need memory; a fourth float result returned on the x87 stack, which quieted
signalling NaNs), so they run in a child process, one per opt_level.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import llvmlite.binding as llvm
import pytest

from engine.compile.callconv import signature
from engine.compile.target import AARCH64, S390X, X86_64, Registers, Target
from engine.syntax.types import F32, F64, I32, I64, FuncType

ROOT = Path(__file__).resolve().parent.parent
MASK64 = (1 << 64) - 1


def _weighted(values: list[int], bits: int) -> int:
    return sum((i + 1) * v for i, v in enumerate(values)) & ((1 << bits) - 1)


def _weighted_wat(n: int, t: str) -> str:
    """A body computing sum((i + 1) * param_i) of ``n`` params of type ``t``."""
    terms = [f"(local.get {i}) ({t}.const {i + 1}) ({t}.mul)" for i in range(n)]
    return f"({t}.const 0) " + " ".join(f"{term} ({t}.add)" for term in terms)


def _loop8_expected(n: int) -> int:
    p = [n, 0, 1, 2, 3, 4, 5, 6]
    while p[0]:
        p = [p[0] - 1, (p[1] + p[0]) & 0xFFFF_FFFF, p[7], p[2], p[3], p[4], p[5], p[6]]
    return p[1] ^ p[7]


SNAN32 = [0x7FA0_0001 + i for i in range(5)]
SNAN64 = [0x7FF4_0000_0000_0001 + i for i in range(5)]

REGRESSIONS: dict[str, tuple[str, str, list[int], list[int]]] = {
    # The issue's module: 13 stack-passed parameters, then a throw caught two frames up.
    "return_call_13_params_then_throw": ("""(module
      (tag $tag)
      (func (export "run")
        block
          try_table (catch $tag 0)
            call $f
          end
        end)
      (func $f
        i32.const 0 i32.const 0 i32.const 0 i32.const 0 i32.const 0 i32.const 0 i32.const 0
        i32.const 0 i32.const 0 i32.const 0 i32.const 0 i32.const 0 i32.const 0
        return_call $throw)
      (func $throw (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
        throw $tag))""", "run", [], []),
    # One argument beyond the registers (x86-64): once a silently wrong result.
    "return_call_one_slot_more": (f"""(module
      (func $g (param i32 i32 i32 i32 i32 i32) (result i32) {_weighted_wat(6, "i32")})
      (func (export "run") (param i32) (result i32)
        (i32.add (local.get 0) (i32.const 1)) (i32.add (local.get 0) (i32.const 2))
        (i32.add (local.get 0) (i32.const 3)) (i32.add (local.get 0) (i32.const 4))
        (i32.add (local.get 0) (i32.const 5)) (i32.add (local.get 0) (i32.const 6))
        return_call $g))""", "run", [10], [_weighted([11, 12, 13, 14, 15, 16], 32)]),
    # Caller and callee with different numbers of stack-passed arguments, both ways.
    "return_call_fewer_slots": (f"""(module
      (func $g (param i64 i64 i64 i64 i64 i64 i64) (result i64) {_weighted_wat(7, "i64")})
      (func (export "run") (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)
        local.get 9 local.get 8 local.get 7 local.get 6 local.get 5 local.get 4 local.get 3
        return_call $g))""", "run", list(range(100, 110)), [_weighted(list(range(109, 102, -1)), 64)]),
    "return_call_indirect_more_slots": (f"""(module
      (type $t (func (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)))
      (table 1 funcref) (elem (i32.const 0) $g)
      (func $g (type $t) {_weighted_wat(12, "i64")})
      (func (export "run") (param i64 i64 i64 i64 i64 i64) (result i64)
        local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 local.get 5
        local.get 5 local.get 4 local.get 3 local.get 2 local.get 1 local.get 0
        i32.const 0
        return_call_indirect (type $t)))""", "run", [3, 5, 7, 11, 13, 17],
        [_weighted([3, 5, 7, 11, 13, 17, 17, 13, 11, 7, 5, 3], 64)]),
    # A self tail-call loop with 8 parameters: once never ended at opt_level 0 and 1.
    "self_tail_call_8_params": ("""(module
      (func $loop (export "run") (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
        (if (i32.eqz (local.get 0)) (then (return (i32.xor (local.get 1) (local.get 7)))))
        (i32.sub (local.get 0) (i32.const 1)) (i32.add (local.get 1) (local.get 0))
        local.get 7 local.get 2 local.get 3 local.get 4 local.get 5 local.get 6
        return_call $loop))""", "run", [100_000, 0, 1, 2, 3, 4, 5, 6], [_loop8_expected(100_000)]),
    # Results beyond the return registers: once an LLVM abort while compiling.
    "return_call_3_int_results": ("""(module
      (func $g (param i64) (result i64 i64 i64)
        (i64.add (local.get 0) (i64.const 1)) (i64.mul (local.get 0) (i64.const 3)) (i64.const -1))
      (func (export "run") (param i64) (result i64 i64 i64) local.get 0 return_call $g))""",
        "run", [41], [42, 123, MASK64]),
    "return_call_6_float_results": ("""(module
      (func $g (param f64) (result f64 f64 f64 f64 f64 f64)
        local.get 0 local.get 0 local.get 0 local.get 0 local.get 0 local.get 0)
      (func (export "run") (param f64) (result f64 f64 f64 f64 f64 f64) local.get 0 return_call $g))""",
        "run", [0x4009_21FB_5444_2D18], [0x4009_21FB_5444_2D18] * 6),
    # Signalling NaNs through a call with four or five float results: once quieted on
    # x86's x87 stack, where the fourth and later float results went.
    "snan_4_f32_results": ("""(module
      (func $id (param f32 f32 f32 f32) (result f32 f32 f32 f32)
        local.get 0 local.get 1 local.get 2 local.get 3)
      (func (export "run") (param f32 f32 f32 f32) (result f32 f32 f32 f32)
        local.get 0 local.get 1 local.get 2 local.get 3 call $id))""", "run", SNAN32[:4], SNAN32[:4]),
    "snan_5_f64_results": ("""(module
      (func $id (param f64 f64 f64 f64 f64) (result f64 f64 f64 f64 f64)
        local.get 0 local.get 1 local.get 2 local.get 3 local.get 4)
      (func (export "run") (param f64 f64 f64 f64 f64) (result f64 f64 f64 f64 f64)
        local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 call $id))""", "run", SNAN64, SNAN64),
    "snan_through_the_host": ("""(module
      (import "host" "id" (func $id (param f32 f32 f32 f32 f32 f64 f64 f64 f64 f64)
                                    (result f32 f32 f32 f32 f32 f64 f64 f64 f64 f64)))
      (func (export "run") (param f32 f32 f32 f32 f32 f64 f64 f64 f64 f64)
                           (result f32 f32 f32 f32 f32 f64 f64 f64 f64 f64)
        local.get 0 local.get 1 local.get 2 local.get 3 local.get 4
        local.get 5 local.get 6 local.get 7 local.get 8 local.get 9
        return_call $id))""", "run", SNAN32 + SNAN64, SNAN32 + SNAN64),
}


def child(opt_level: int) -> None:
    """Run every regression module at ``opt_level``; print the raw result slots."""
    from engine.runtime import Config, Engine, Func, Instance, Module, Store
    engine = Engine(Config(opt_level=opt_level))
    out = {}
    for name, (wat, export, args, _) in REGRESSIONS.items():
        store = Store(engine)
        module = Module(engine, wat)
        imports = []
        for imp in module.imports:
            ft = imp.type
            imports.append(Func(store, ft, lambda *slots: list(slots), slots=True))
        func = Instance(store, module, imports).exports(store)[export]
        out[name] = func.call_slots(store, args)
    print(json.dumps(out))


@pytest.fixture(scope="module", params=[0, 1, 2], ids=lambda level: f"O{level}")
def regression_results(request: pytest.FixtureRequest) -> dict[str, list[int]]:
    proc = subprocess.run([sys.executable, __file__, str(request.param)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"child died with {proc.returncode}: {proc.stderr[-2000:]}"
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression_module(regression_results: dict[str, list[int]], name: str) -> None:
    assert regression_results[name] == REGRESSIONS[name][3]


# -- the register figures --------------------------------------------------------------

def test_signatures_split_at_the_registers() -> None:
    regs = Registers(int_params=2, float_params=1, int_results=1, float_results=2)
    sig = signature(FuncType((I32, F32, I64, F64, I64, F32), (F64, I32, F64, I64, F32)), regs)
    assert sig.register_params == (0, 1, 2) and sig.spilled_params == (3, 4, 5)
    assert sig.register_results == (0, 1, 2) and sig.spilled_results == (3, 4)
    assert str(sig.function_type) == "{i32, double, i32, double} (ptr, i32, float, i64)"


_STACK = {"x86_64": r"\(%rsp\)|\(%rbp\)", "aarch64": r"\[sp|\[x29", "s390x": r"\(%r15\)|\(%r11\)"}


def _asm(target: Target, text: str) -> str:
    module = llvm.parse_assembly(f'target triple = "{target.triple}"\n'
                                 f'target datalayout = "{target.data_layout}"\n{text}')
    module.verify()
    return target.machine.emit_assembly(module)


def _reads_stack_arguments(target: Target, types: list[str]) -> bool:
    """Whether a leaf taking ``types`` after the context reads any of them from the
    stack (every one is used, so none is dropped)."""
    params = ", ".join(f"{t} %a{i}" for i, t in enumerate(types))
    lines, acc = [], "%a0"
    for i in range(1, len(types)):
        op = "fadd" if types[0] in ("float", "double") else "add"
        lines.append(f"%s{i} = {op} {types[0]} {acc}, %a{i}")
        acc = f"%s{i}"
    text = f"define tailcc {types[0]} @f(ptr %c, {params}) {{\n" + "\n".join(lines) + f"\nret {types[0]} {acc}\n}}"
    return re.search(_STACK[target.arch], _asm(target, text)) is not None


@pytest.mark.parametrize("target", [X86_64, AARCH64, S390X], ids=lambda t: t.arch)
def test_register_parameters_are_exact(target: Target) -> None:
    """At the budget no parameter is read from the stack; one more is (so the figure is
    neither too high, which would bring back stack arguments, nor needlessly low)."""
    regs = target.registers
    for typ, budget in (("i64", regs.int_params), ("i32", regs.int_params), ("double", regs.float_params),
                        ("float", regs.float_params)):
        assert not _reads_stack_arguments(target, [typ] * budget), (typ, budget)
        assert _reads_stack_arguments(target, [typ] * (budget + 1)), (typ, budget + 1)


def _returns_in_registers(target: Target, results: list[str]) -> bool:
    """Whether ``{i32, results}`` comes back in registers alone: no hidden result
    pointer and, on x86-64, nothing on the x87 stack."""
    rt = "{i32" + "".join(f", {t}" for t in results) + "}"
    lines = [f"%v0 = insertvalue {rt} undef, i32 7, 0"]
    for i, t in enumerate(results):
        value = "1.5" if t in ("float", "double") else str(i + 11)
        lines.append(f"%v{i + 1} = insertvalue {rt} %v{i}, {t} {value}, {i + 1}")
    text = (f"define tailcc {rt} @f(ptr %c) {{\n" + "\n".join(lines) + f"\nret {rt} %v{len(results)}\n}}")
    asm = _asm(target, text)
    body = asm[asm.index("f:"):asm.index(".Lfunc_end")]
    memory = {"x86_64": r",\s*-?\d*\(%r|\bfld|\bfst", "aarch64": r"\bstr|\bstp", "s390x": r"\bmv|\bst"}
    return re.search(memory[target.arch], body) is None


@pytest.mark.parametrize("target", [X86_64, AARCH64, S390X], ids=lambda t: t.arch)
def test_register_results_are_exact(target: Target) -> None:
    regs = target.registers
    for typ, budget in (("i64", regs.int_results), ("double", regs.float_results), ("float", regs.float_results)):
        assert _returns_in_registers(target, [typ] * budget), (typ, budget)
        assert not _returns_in_registers(target, [typ] * (budget + 1)), (typ, budget + 1)


if __name__ == "__main__":
    child(int(sys.argv[1]))
