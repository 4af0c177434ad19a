"""Several executors of one case (oracles/executors.py) judged together
(oracles/judgement.py): the groups that agree, the odd one out, whose bug it looks like."""
from __future__ import annotations

import os
from dataclasses import replace

import pytest
import wasmtime

from engine.compile.faults import ENVIRONMENT, planted
from oracles import executors
from oracles.case import Case, Invoke
from oracles.differential import check, check_executors
from oracles.judgement import judge
from oracles.outcome import Call, Exn, Num, Outcome, Returned, Thrown, Trapped
from oracles.signature import of_divergence
from oracles.worker import Worker, case_request

WAT = """(module
  (tag $t (export "t") (param i32 i32))
  (func (export "f") (param i32) (throw $t (local.get 0) (i32.const 9))))"""


def case() -> Case:
    return Case(wasmtime.wat2wasm(WAT), invocations=(Invoke("f", ("i32:5",)),))


def test_every_executor_agrees_on_a_correct_case() -> None:
    result = check_executors(case(), "full")
    assert result.verdict.kind == "agree"
    assert result.judgement is not None and sorted(result.judgement.groups[0]) == sorted(executors.FULL)


@pytest.mark.parametrize("level", [0, 1, 2])
def test_a_fault_planted_at_one_opt_level_is_the_odd_one_out(level: int) -> None:
    with planted(f"reversed_payload@O{level}"):
        result = check_executors(case(), "full")
    assert result.verdict.kind == "diverge"
    assert result.verdict.reason.startswith(f"exnfuzz-O{level} alone: f(i32:5): wrong payload")
    assert result.judgement is not None and result.judgement.odd == (f"exnfuzz-O{level}",)
    assert result.judgement.suspect == "exnfuzz"
    signature = of_divergence(result)
    assert signature is not None and signature.odd == f"exnfuzz-O{level}" and signature.kind == "wrong payload"


def outcome(result: object) -> Outcome:
    return Outcome(Call("<instantiate>", (), Returned()), (Call("f", (), result),))  # type: ignore[arg-type]


RIGHT = outcome(Thrown(Exn("export:t", (Num("i32", 5),), 1)))
WRONG = outcome(Thrown(Exn("export:t", (Num("i32", 6),), 1)))
LIMIT = outcome(Trapped("stack_overflow"))
ALL = executors.EXECUTORS


def test_wasmtime_alone_against_ours_and_the_rest_of_wasmtime_is_a_suspected_wasmtime_bug() -> None:
    outcomes = {name: RIGHT for name in executors.FULL} | {"wasmtime-pulley": WRONG}
    judgement = judge(outcomes, ALL)
    assert judgement.odd == ("wasmtime-pulley",) and judgement.suspect == "wasmtime"
    assert judgement.verdict.reason.startswith("wasmtime-pulley alone:")


def test_a_tie_goes_to_the_reference_and_limits_drop_out() -> None:
    two = {name: ALL[name] for name in ("exnfuzz", "wasmtime")}
    assert judge({"exnfuzz": WRONG, "wasmtime": RIGHT}, two).odd == ("exnfuzz",)
    assert judge({"exnfuzz": RIGHT, "wasmtime": WRONG}, two).odd == ("exnfuzz",)
    outcomes = {name: RIGHT for name in executors.FULL} | {"exnfuzz-O1": LIMIT, "wasmtime-none": LIMIT}
    judgement = judge(outcomes, ALL)
    assert judgement.verdict.kind == "agree" and judgement.inconclusive == ("exnfuzz-O1", "wasmtime-none")
    assert judge({"exnfuzz": LIMIT, "wasmtime": RIGHT}, two).verdict.kind == "inconclusive"


def test_executor_names_are_checked() -> None:
    assert [e.name for e in executors.named("exnfuzz-O0,wasmtime-pulley")] == ["exnfuzz-O0", "wasmtime-pulley"]
    with pytest.raises(ValueError, match="unknown executors"):
        executors.named("exnfuzz,v8")
    with pytest.raises(ValueError, match="two executors"):
        executors.named("wasmtime")


def test_an_executor_runs_the_case_at_its_own_level() -> None:
    at_two = replace(case(), config=replace(case().config, opt_level=2))
    with planted("reversed_payload@O0"):
        result = check_executors(at_two, "exnfuzz,exnfuzz-O0,wasmtime")
    assert result.judgement is not None and result.judgement.odd == ("exnfuzz-O0",)


NAN_PAYLOAD = """(module
  (global (export "bits") (mut i64) (i64.const 0))
  (global $x (mut f64) (f64.const {x}))
  (func (export "f") (global.set 0 (i64.reinterpret_f64 (f64.ceil (global.get $x))))))"""


def test_pulley_differing_only_in_nan_payloads_is_inconclusive() -> None:
    """Reduced from the first full-set campaign: ceil of a signalling NaN is the quieted
    operand on native code and the canonical NaN on Pulley; the spec allows both."""
    def ceil_of(x: str) -> Case:
        return Case(wasmtime.wat2wasm(NAN_PAYLOAD.format(x=x)), invocations=(Invoke("f", ()),))
    result = check_executors(ceil_of("nan:0x4000000000001"), "exnfuzz,wasmtime,wasmtime-pulley")
    assert result.verdict.kind == "inconclusive"
    assert result.verdict.reason.startswith("NaN bits only")
    assert "wasmtime-pulley alone: final state, globals differ" in result.verdict.reason
    assert result.judgement is not None and result.judgement.suspect == ""
    assert check_executors(ceil_of("2.5"), "exnfuzz,wasmtime,wasmtime-pulley").verdict.kind == "agree"


FOLDED_NAN = """(module
  (global (export "bits") (mut i64) (i64.const 0))
  (func (export "f") (global.set 0 (i64.reinterpret_f64 (f64.div (f64.const 0) (f64.const 0))))))"""


def test_a_nan_sign_left_open_by_the_spec_is_inconclusive_at_every_level() -> None:
    """Reduced from the second full-set campaign: x86 divides 0 by 0 into a negative
    NaN; LLVM's constant folding, from opt_level 1, into a positive one."""
    folded = Case(wasmtime.wat2wasm(FOLDED_NAN), invocations=(Invoke("f", ()),))
    result = check_executors(folded, "exnfuzz-O0,exnfuzz-O1,exnfuzz-O2,wasmtime")
    assert result.judgement is not None and result.judgement.odd == ("exnfuzz-O1", "exnfuzz-O2")
    assert result.verdict.kind == "inconclusive" and result.verdict.reason.startswith("NaN bits only")
    at_one = replace(folded, config=replace(folded.config, opt_level=1))
    assert check(at_one).verdict.reason.startswith("NaN bits only")   # the default pair looks again too


def test_findings_of_any_executor_set_reproduce_in_a_worker() -> None:
    """``replay``, ``reduce`` and ``triage --executors`` run cases through such a worker."""
    env = {**os.environ, ENVIRONMENT: "reversed_payload@O2"}
    with Worker(env=env, executors="exnfuzz-O0,exnfuzz-O2,wasmtime") as worker:
        report = worker.run(case_request(case()))
    assert report.verdict == "diverge"
    assert report.signature is not None and report.signature.odd == "exnfuzz-O2"
    at_zero = replace(case(), config=replace(case().config, opt_level=0))
    with Worker(env=env) as worker:   # the default pair runs the case at its own level
        assert worker.run(case_request(at_zero)).verdict == "agree"
    with pytest.raises(ValueError, match="unknown executors"):
        Worker(executors="exnfuzz,v8")
