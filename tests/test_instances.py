"""Cases with several instances, exception identity in outcomes, host-kept exnrefs, and
collector stress -- on both runners, with the outcome model comparing them."""
from __future__ import annotations

import json

import pytest
import wasmtime

from engine import runtime
from engine.compile.faults import planted
from generators import Choices
from generators.instances import CaseGenerator
from oracles.case import MAIN, Case, CaseError, InstanceDef, Invoke, RunConfig, qualify
from oracles.differential import check
from oracles.engine_runner import EngineRunner
from oracles.outcome import Exn, HostCall, Num, Returned, Thrown
from oracles.plan import CallExport, HostFunc, HostPlan, Keep, ThrowKept
from oracles.runner import run
from oracles.wasmtime_runner import WasmtimeRunner

PROVIDER = """(module
  (import "host" "relay" (func $relay))
  (tag $t (export "t") (param i32))
  (table (export "xt") 2 exnref)
  (func (export "throw") (param i32) (throw $t (local.get 0)))
  (func (export "catch_mine") (result i32)
    (block $h (result i32) (try_table (catch $t $h) (call $relay)) (i32.const -1))))"""
LINKED = """(module
  (import "main" "t" (tag $t (param i32)))
  (import "main" "throw" (func $throw (param i32)))
  (import "main" "xt" (table 2 exnref))
  (func (export "catch_theirs") (result i32)
    (block $h (result i32) (try_table (catch $t $h) (call $throw (i32.const 7))) (i32.const -1)))
  (func (export "store") (table.set 0 (i32.const 1)
    (block $h (result exnref) (try_table (catch_all_ref $h) (call $throw (i32.const 9))) (unreachable))))
  (func (export "rethrow") (throw_ref (table.get 0 (i32.const 1)))))"""


def two_instances_and_a_linked_module() -> Case:
    plan = HostPlan(funcs=(HostFunc("relay", action=CallExport("throw@twin", ("i32:3",))),))
    return Case(wasmtime.wat2wasm(PROVIDER), plan,
                (Invoke("catch_mine"), Invoke("catch_theirs@linked"), Invoke("store@linked"),
                 Invoke("rethrow@linked"), Invoke("catch_mine@twin")),
                instances=(InstanceDef("twin"), InstanceDef("linked", wasmtime.wat2wasm(LINKED))))


@pytest.mark.parametrize("runner", [EngineRunner, WasmtimeRunner], ids=["exnfuzz", "wasmtime"])
def test_instances_link_and_keep_their_own_tags(runner: type) -> None:
    out = run(runner(two_instances_and_a_linked_module()))
    results = [call.result for call in out.invocations]
    twin_exn = Exn("export:t@twin", (Num("i32", 3),), 1)
    assert results == [Thrown(twin_exn),                     # main's handler does not catch the twin's tag
                       Returned((Num("i32", 7),)),           # the linked module catches main's tag
                       Returned(()),
                       Thrown(Exn("export:t", (Num("i32", 9),), 2)),   # the very object it stored
                       Returned((Num("i32", 3),))]           # the twin catches its own
    assert out.state is not None
    assert [name for name, _ in out.state.globals] == []
    assert [t.name for t in out.state.tables] == ["xt", "xt@twin"]


def test_a_case_of_several_instances_agrees_and_round_trips() -> None:
    case = two_instances_and_a_linked_module()
    assert Case.from_json(json.loads(json.dumps(case.to_json()))) == case
    assert check(case).verdict.kind == "agree"
    assert qualify("f0", MAIN) == "f0" and qualify("f0", "twin") == "f0@twin"
    with pytest.raises(CaseError, match="unique"):
        Case(b"", instances=(InstanceDef(MAIN),))


def test_shared_tag_records_is_caught_as_a_tag_difference() -> None:
    with planted("shared_tag_records"):
        verdict = check(two_instances_and_a_linked_module()).verdict
    assert verdict.kind == "diverge" and "export:t@twin" in verdict.reason


KEEPER = """(module
  (import "host" "keep" (func $keep (param exnref)))
  (import "host" "throw_kept" (func $throw_kept))
  (tag $t (export "t") (param i32))
  (func (export "keep") (param i32)
    (call $keep (block $h (result exnref) (try_table (catch_all_ref $h) (throw $t (local.get 0))) (unreachable))))
  (func (export "churn") (param i32)
    (loop $l (block $h (try_table (catch_all $h) (throw $t (local.get 0))))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
  (func (export "throw_kept") (call $throw_kept)))"""


@pytest.mark.parametrize("collect_every", [0, 1])
def test_the_host_keeps_an_exnref_across_calls_and_collections(collect_every: int) -> None:
    plan = HostPlan(funcs=(HostFunc("keep", ("exnref",), (), Keep(0)), HostFunc("throw_kept", action=ThrowKept())))
    case = Case(wasmtime.wat2wasm(KEEPER), plan,
                (Invoke("keep", ("i32:5",)), Invoke("churn", ("i32:50",)), Invoke("throw_kept")),
                RunConfig(collect_every=collect_every))
    result = check(case)
    assert result.verdict.kind == "agree", result.verdict
    kept = Exn("export:t", (Num("i32", 5),), 1)
    assert result.ours.invocations[0].trace[0] == HostCall("keep", (kept,))
    assert result.ours.invocations[2].result == Thrown(kept)       # the same object, after 50 more
    assert bool(result.events.get("collection")) == bool(collect_every)


def test_collector_stress_collects_without_changing_outcomes() -> None:
    for seed in range(25):
        case = CaseGenerator(Choices.seeded(seed)).generate()
        calm, stressed = (EngineRunner(Case(case.module, case.plan, case.invocations,
                                            RunConfig(case.config.opt_level, collect_every=n),
                                            instances=case.instances)) for n in (0, 1))
        assert run(calm) == run(stressed), seed
    store = runtime.Store(runtime.Engine(runtime.Config(collect_every=1)))
    instance = runtime.Instance(store, runtime.Module(store.engine, KEEPER), [
        runtime.Func(store, runtime.FuncType((runtime.EXNREF,), ()), lambda exn: None),
        runtime.Func(store, runtime.FuncType((), ()), lambda: None)])
    instance.exports(store)["churn"](store, 10)
    assert store.collections >= 9
