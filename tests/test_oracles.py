"""The oracle: outcome model, host plans, case files, the comparison rules and the CLI.

The hand-written cases in ``corpus/regression`` must get their expected verdict from the
two runners; deliberately altered outcomes must be reported as ``diverge`` with a
reason that says what differs; differences the rules excuse (NaN bits, stack depth)
must never be ``diverge``.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import wasmtime

from oracles import case as case_file
from oracles.__main__ import main as cli
from oracles.case import Case, CaseError, Invoke
from oracles.compare import AGREE, compare
from oracles.differential import check
from oracles.engine_runner import EngineRunner
from oracles.outcome import (Call, Exn, HostCall, HostDone, Num, Outcome, Ref, Returned, Thrown, Trapped,
                             ValueFormatError, parse_value)
from oracles.plan import CallExport, HostFunc, HostPlan, PlanError, Rethrow, TagDef, Throw
from oracles.runner import RunnerError, run
from oracles.wasmtime_runner import WasmtimeRunner

CASES = sorted((Path(__file__).resolve().parent.parent / "corpus" / "regression").glob("*.json"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_handwritten_case_gets_its_expected_verdict(path: Path) -> None:
    case = case_file.load(path)
    result = check(case)
    assert result.verdict.kind == case.expect, (result.verdict, result.ours.lines(), result.theirs.lines())


def test_the_corpus_covers_every_crossing_and_catch_kind() -> None:
    texts = [p.with_suffix(".wat").read_text() for p in CASES]
    plans = [json.loads(p.read_text())["host"] for p in CASES]
    for construct in ("catch ", "catch_ref", "catch_all ", "catch_all_ref", "throw_ref"):
        assert any(construct in t for t in texts), construct
    actions = {f["action"]["kind"] for plan in plans for f in plan["funcs"]}
    assert actions == {"log", "throw", "call_export", "rethrow", "trap"}


@pytest.fixture(scope="module")
def escaping() -> Outcome:
    """A real outcome: an exception escapes after a host call."""
    return run(EngineRunner(case_file.load(_case("wasm_to_host_escape"))))


def _case(name: str) -> Path:
    return next(p for p in CASES if p.stem == name)


def _with_result(outcome: Outcome, result: object, trace: tuple | None = None) -> Outcome:
    first = outcome.invocations[0]
    changed = dataclasses.replace(first, result=result, trace=first.trace if trace is None else trace)
    return dataclasses.replace(outcome, invocations=(changed,) + outcome.invocations[1:])


def test_wrong_payload_diverges(escaping: Outcome) -> None:
    exn = escaping.invocations[0].result.exn
    altered = _with_result(escaping, Thrown(Exn(exn.tag, (Num("i64", 1),) + exn.payload[1:])))
    verdict = compare(escaping, altered)
    assert verdict.kind == "diverge"
    assert "wrong payload" in verdict.reason and "i64:1" in verdict.reason


def test_wrong_tag_diverges(escaping: Outcome) -> None:
    exn = escaping.invocations[0].result.exn
    verdict = compare(escaping, _with_result(escaping, Thrown(Exn("export:other", exn.payload))))
    assert verdict.kind == "diverge" and "wrong tag" in verdict.reason


def test_trap_instead_of_exception_diverges(escaping: Outcome) -> None:
    verdict = compare(escaping, _with_result(escaping, Trapped("unreachable")))
    assert verdict.kind == "diverge"
    assert "exception instead of trap" in verdict.reason and "trapped unreachable" in verdict.reason


def test_missing_host_call_diverges(escaping: Outcome) -> None:
    verdict = compare(escaping, _with_result(escaping, escaping.invocations[0].result, trace=()))
    assert verdict.kind == "diverge"
    assert "host call missing" in verdict.reason and "log(i32:1)" in verdict.reason


def test_different_host_arguments_diverge(escaping: Outcome) -> None:
    trace = (HostCall("log", (Num("i32", 2),)), HostDone("log", Returned()))
    verdict = compare(escaping, _with_result(escaping, escaping.invocations[0].result, trace=trace))
    assert verdict.kind == "diverge" and "host event 1 differs" in verdict.reason


def test_rejection_by_one_engine_diverges(escaping: Outcome) -> None:
    from oracles.outcome import Rejected
    rejected = Outcome(Call("<instantiate>", (), Rejected("no")))
    assert compare(rejected, escaping).kind == "diverge"
    assert compare(rejected, Outcome(Call("<instantiate>", (), Rejected("other words")))) == AGREE


def test_nan_bits_are_not_a_divergence() -> None:
    quiet, negative, signalling = (Num("f32", b) for b in (0x7FC0_0000, 0xFFC0_0000, 0x7FA0_0001))
    a = Outcome(Call("<instantiate>", (), Returned()), (Call("f", (), Returned((quiet, Num("f64", 1)))),))
    for nan in (negative, signalling):
        b = Outcome(Call("<instantiate>", (), Returned()), (Call("f", (), Returned((nan, Num("f64", 1)))),))
        assert compare(a, b) == AGREE
    not_nan = Outcome(Call("<instantiate>", (), Returned()), (Call("f", (), Returned((Num("f32", 0x7F80_0000),
                                                                                       Num("f64", 1)))),))
    assert compare(a, not_nan).kind == "diverge"


def test_stack_depth_is_inconclusive_and_stops_the_comparison() -> None:
    def calls(n: int) -> tuple:
        return tuple(e for i in range(n) for e in (HostCall("log", (Num("i32", i),)), HostDone("log", Returned())))
    ok = Call("<instantiate>", (), Returned())
    deep = Outcome(ok, (Call("down", (), Trapped("stack_overflow"), calls(9000)),
                        Call("after", (), Returned((Num("i32", 1),)))))
    shallow = Outcome(ok, (Call("down", (), Trapped("stack_overflow"), calls(3000)),
                           Call("after", (), Returned((Num("i32", 2),)))))
    verdict = compare(deep, shallow)
    assert verdict.kind == "inconclusive" and "stack_overflow" in verdict.reason


def test_values_normalize_as_documented() -> None:
    assert parse_value("f64:nan") == parse_value("f64:nan:0xfff0000000000001")
    assert parse_value("f32:-0.0") != parse_value("f32:0.0")
    assert parse_value("i32:-1") == parse_value("i32:4294967295") == Num("i32", 0xFFFF_FFFF)
    assert str(parse_value("f32:nan:0x7fa00000")) == "f32:nan:0x7fa00000"
    assert parse_value("exnref:null") == Ref("exnref", True)
    for literal in ("i32:5", "i64:-3", "f32:1.5", "f64:-0.0", "f64:inf", "f32:nan:0x7fc00001", "funcref:null"):
        assert str(parse_value(literal)) == literal
    with pytest.raises(ValueFormatError, match="bad i32 literal 'i32:x'"):
        parse_value("i32:x")
    with pytest.raises(ValueFormatError, match="not a value literal: 'v128:0'"):
        parse_value("v128:0")


def test_plans_are_checked_and_round_trip() -> None:
    plan = HostPlan((TagDef("t", ("i32", "exnref")),),
                    (HostFunc("f", ("i32", "exnref"), ("f64",), Throw("host:t", ("arg:0", "arg:1"))),
                     HostFunc("g", ("exnref",), (), Rethrow(0)),
                     HostFunc("h", (), ("i32",), CallExport("run", ("i32:1",), catch=True), returns=("i32:-1",))))
    assert HostPlan.from_json(json.loads(json.dumps(plan.to_json()))) == plan
    with pytest.raises(PlanError, match="tag t takes 2 payload values"):
        HostPlan(plan.tags, (HostFunc("f", ("i32",), (), Throw("host:t", ("arg:0",))),))
    with pytest.raises(PlanError, match="arg:3 names no argument"):
        HostPlan(plan.tags, (HostFunc("f", ("i32",), (), Throw("host:t", ("arg:3", "exnref:null"))),))
    with pytest.raises(PlanError, match="rethrow needs argument 0 to be an exnref"):
        HostPlan((), (HostFunc("g", ("i32",), (), Rethrow(0)),))
    with pytest.raises(PlanError, match="unknown host action 'dance'"):
        HostPlan.from_json({"funcs": [{"name": "f", "action": {"kind": "dance"}}]})


def test_case_files_round_trip_and_reject_garbage(tmp_path: Path) -> None:
    case = case_file.load(_case("host_rethrow_identity"))
    saved = case_file.save(case, tmp_path / "copy.json")
    assert case_file.load(saved) == case
    assert "(module" in saved.with_suffix(".wat").read_text()
    (tmp_path / "bad.json").write_text('{"format": "something-else"}')
    with pytest.raises(CaseError, match="not a case file: format is 'something-else'"):
        case_file.load(tmp_path / "bad.json")
    broken = case.to_json() | {"invoke": [{"export": "run", "args": ["i32:zz"]}]}
    with pytest.raises(CaseError, match="bad i32 literal"):
        Case.from_json(broken)


def test_runner_errors_name_the_problem() -> None:
    case = case_file.load(_case("host_to_wasm_throw"))
    with pytest.raises(RunnerError, match="the case invokes 'nope'"):
        run(EngineRunner(dataclasses.replace(case, invocations=(Invoke("nope"),))))
    with pytest.raises(RunnerError, match="the plan defines no host function 'throw'|plan defines no host"):
        run(EngineRunner(dataclasses.replace(case, plan=HostPlan(case.plan.tags, ()))))


def test_cli_exit_status(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli(["run", str(_case("python_wasm_python"))]) == 0
    out = capsys.readouterr().out
    assert "exnfuzz" in out and "wasmtime" in out and "verdict: agree" in out
    assert cli(["run", str(_case("stack_exhaustion"))]) == 2
    (tmp_path / "bad.json").write_text("[]")
    assert cli(["run", str(tmp_path / "bad.json")]) == 2
    # A planted fault: our engine's host sees every i32 argument plus one.
    real = EngineRunner.normalize

    def off_by_one(self: EngineRunner, t: str, value: object, depth: int = 0) -> object:
        result = real(self, t, value, depth)
        return Num("i32", result.bits + 1) if isinstance(result, Num) and t == "i32" else result
    monkeypatch.setattr(EngineRunner, "normalize", off_by_one)
    assert cli(["run", "--full", str(_case("wasm_to_host_escape"))]) == 1
    out = capsys.readouterr().out
    assert ";; host plan" in out and "(module" in out and "verdict: diverge" in out


def test_one_host_tag_per_plan_name_and_payloads_must_fit() -> None:
    wat = """(module
      (import "host" "t" (tag $a (param i32)))
      (import "host" "t" (tag $b (param i32)))
      (import "host" "throw" (func $throw (param i32)))
      (tag $e (export "e") (param f32))
      (func (export "run") (param i32) (result i32)
        (block $h (result i32) (try_table (catch $b $h) (call $throw (local.get 0))) (i32.const -1))))"""
    plan = HostPlan((TagDef("t", ("i32",)),), (HostFunc("throw", ("i32",), (), Throw("host:t", ("arg:0",))),))
    case = Case(wasmtime.wat2wasm(wat), plan, (Invoke("run", ("i32:5",)),))
    result = check(case)
    assert result.verdict == AGREE and result.ours.invocations[0].result == Returned((Num("i32", 5),))
    wrong = HostPlan(plan.tags, (HostFunc("throw", ("i32",), (), Throw("export:e", ("arg:0",))),))
    for runner in (EngineRunner, WasmtimeRunner):
        with pytest.raises(RunnerError, match=r"tag export:e takes \('f32',\), the plan throws it with \('i32',\)"):
            run(runner(dataclasses.replace(case, plan=wrong)))
