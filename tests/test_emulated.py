"""exnfuzz's code for aarch64 and the big-endian s390x, run under qemu-user
(``engine/emulated``, ``oracles/emulated_runner.py``), compared with the same oracle.

Every test here is marked ``emulated``.  Where qemu-user or the cross compilers are
missing each skips, saying what to install -- unless ``EXNFUZZ_REQUIRE_EMULATION`` is
set (``.ci/run`` sets it, having installed them), where a missing tool fails the test.

- the conformance suites' runtime assertions pass on both targets (the CI subset of
  ``spec-wg2.0/core`` and all of ``spec/exceptions``), with the in-process run's counts;
- the regression corpus replays with its expected verdict on both targets, and the
  calling-convention sweep agrees with wasmtime on both (at opt_level 0);
- slots cross the pipe in the target's byte order; a crashed server is a ``Crashed``
  step and the next case gets a new server; the host interrupts a call by signal;
- each target-specific planted fault is caught on its target, and only there.
"""
from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pytest

from engine.compile.faults import TARGET_FAULTS, planted
from engine.emulated import EMULATED, missing
from engine.script import suites
from tests.test_sweep import assert_sweep_agrees

ROOT = Path(__file__).resolve().parent.parent
SUITES = suites.location()
CORE = SUITES / "spec-wg2.0" / "core"
CI_CORE = ("endianness", "memory*", "address", "load", "store", "float_memory", "conversions", "i32", "i64",
           "f32", "f64", "call_indirect", "bulk")
"""The spec-wg2.0/core scripts CI runs on each emulated target (the whole of core takes
about a minute per target; see the README)."""
CASES = sorted((ROOT / "corpus" / "regression").glob("*.json"))

pytestmark = pytest.mark.emulated


def require(arch: str) -> None:
    """Skip (or, where emulation is required, fail) unless ``arch`` can be emulated."""
    reason = missing(arch)
    if reason is None:
        return
    if os.environ.get("EXNFUZZ_REQUIRE_EMULATION"):
        pytest.fail(f"EXNFUZZ_REQUIRE_EMULATION is set, but {reason}")
    pytest.skip(reason)


@pytest.fixture(params=EMULATED)
def arch(request: pytest.FixtureRequest) -> str:
    require(request.param)
    return request.param


def ci_scripts() -> list[Path]:
    files = [f for pattern in CI_CORE for f in sorted(CORE.glob(f"{pattern}.wast"))]
    return files + sorted((SUITES / "spec" / "exceptions").glob("*.wast"))


def run_scripts(files: list[Path], api: object = None):  # type: ignore[no-untyped-def]
    from engine.__main__ import _reference_accepts
    from engine.script.exec import JitEngine
    from engine.script.run import Runner, Tally
    from oracles.wasmtime_config import features_for
    engine = JitEngine() if api is None else JitEngine(api=api)  # type: ignore[arg-type]
    runner = Runner(engine, _reference_accepts, features_for)
    total = Tally()
    for f in files:
        total.add(runner.run_file(f))
    return total


@pytest.fixture(scope="module")
def in_process_counts() -> tuple[int, int]:
    if not CORE.is_dir():
        pytest.skip(f"no conformance suites at {SUITES}")
    total = run_scripts(ci_scripts())
    return total.passed, total.skipped


def test_the_spec_suites_pass_on_the_target(arch: str, in_process_counts: tuple[int, int]) -> None:
    from engine.emulated import runtime
    total = run_scripts(ci_scripts(), runtime(arch))
    print(f"{arch}: {total.counts()}")
    assert total.failed == 0, total.failures[:20]
    assert (total.passed, total.skipped) == in_process_counts


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_the_corpus_replays_on_the_target(path: Path, arch: str) -> None:
    from oracles.case import load
    from oracles.differential import check
    case = load(path)
    result = check(case, arch)
    assert result.verdict.kind == case.expect, (result.verdict, result.ours.lines())


def test_the_sweep_agrees_on_the_target(arch: str) -> None:
    assert_sweep_agrees("-O", "0", "--target", arch)


def test_slots_cross_in_the_target_byte_order(arch: str) -> None:
    from engine.emulated import runtime
    native = runtime(arch).native
    slots = native.slots(2, [0x0102030405060708])
    raw = native.read_bytes(native.address(slots), 8)
    assert raw == (bytes(range(1, 9)) if arch == "s390x" else bytes(range(8, 0, -1)))
    native.write_bytes(native.address(slots) + 8, bytes(range(1, 9)))
    assert slots[1] == int.from_bytes(bytes(range(1, 9)), "big" if arch == "s390x" else "little")
    assert slots[:2] == [0x0102030405060708, slots[1]]


def test_a_crash_is_a_divergence_and_the_next_case_gets_a_new_server(arch: str) -> None:
    from engine.compile.layout import FuncRecord
    from engine.emulated import emulator
    from oracles.case import load
    from oracles.compare import compare
    from oracles.emulated_runner import EmulatedRunner
    from oracles.runner import run
    from oracles.wasmtime_runner import WasmtimeRunner

    class Corrupting(EmulatedRunner):
        """Points the exported function's code at address 8 once instantiated."""

        def instantiate(self) -> None:
            super().instantiate()
            self.api.native.write(self.exports["run"].record, 8, FuncRecord.CODE)

    case = load(ROOT / "corpus" / "regression" / "wasm_to_host_escape.json")
    crashed = run(Corrupting(case, arch))
    assert "crashed" in str(crashed.invocations[0].result) and "SIGSEGV" in str(crashed.invocations[0].result)
    assert len(crashed.invocations) == 1 and crashed.state is None     # the run ends there
    verdict = compare(crashed, run(WasmtimeRunner(case)))
    assert verdict.kind == "diverge" and "crashed" in verdict.reason, verdict
    starts = emulator(arch).starts
    assert compare(run(EmulatedRunner(case, arch)), run(WasmtimeRunner(case))).kind == "agree"
    assert emulator(arch).starts == starts + 1


def test_the_host_interrupts_a_call_on_the_target(arch: str) -> None:
    import wasmtime

    from oracles.case import Case, Invoke, RunConfig
    from oracles.emulated_runner import EmulatedRunner
    from oracles.runner import run
    case = Case(wasmtime.wat2wasm('(module (func (export "spin") (loop (br 0))))'),
                invocations=(Invoke("spin"),), config=RunConfig(timeout=0.5))
    outcome = run(EmulatedRunner(case, arch))
    assert str(outcome.invocations[0].result) == "trapped interrupt"


# Planted target-specific faults: each is caught on its target, and x86-64 never shows it.

@pytest.mark.parametrize("fault, scripts", [
    ("no_byte_swap", [CORE / "endianness.wast"]),
    ("payload_low_half", sorted((SUITES / "spec" / "exceptions").glob("*.wast"))),
])
def test_the_suite_catches_a_fault_on_s390x_only(fault: str, scripts: list[Path]) -> None:
    if not CORE.is_dir():
        pytest.skip(f"no conformance suites at {SUITES}")
    require("s390x")
    require("aarch64")
    from engine.emulated import runtime
    with planted(fault):
        failed = {arch: run_scripts(scripts, runtime(arch)).failed for arch in EMULATED}
        failed["x86_64"] = run_scripts(scripts).failed
    assert failed["s390x"] > 0 and failed["aarch64"] == failed["x86_64"] == 0, failed


def test_the_corpus_catches_a_frame_record_offset_on_s390x_only() -> None:
    require("s390x")
    require("aarch64")
    from oracles.case import load
    from oracles.differential import TARGETS, check
    case = load(ROOT / "corpus" / "regression" / "exnref_at_frame_top.json")
    verdicts = {}
    with planted("frame_record_offset"):
        for arch in TARGETS:
            try:
                verdicts[arch] = check(case, arch).verdict.kind
            except Exception as failure:     # a use after free: the runtime may read garbage
                verdicts[arch] = f"run failure: {failure!r}"
    assert verdicts["x86_64"] == verdicts["aarch64"] == "agree", verdicts
    assert verdicts["s390x"] != "agree", verdicts


@pytest.mark.parametrize("fault", ["no_byte_swap", "payload_low_half"])
def test_the_target_sampling_fuzzer_finds_a_planted_fault(fault: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    require("s390x")
    from fuzz_targets import exceptions as target
    monkeypatch.setattr(sys, "argv", ["exceptions.py", f"-artifact_prefix={tmp_path}/"])
    monkeypatch.setattr(target, "EMULATION", target.Emulation(1.0, ("s390x",)))
    rng = random.Random(fault)
    with planted(fault):
        for run in range(100):
            try:
                target.test_one_input(bytes(rng.randrange(256) for _ in range(2048)))
            except target.Divergence as divergence:
                assert "exnfuzz/s390x" in str(divergence)
                print(f"{fault}: found in run {run + 1}")
                return
    pytest.fail(f"the target-sampling fuzzer missed the planted fault {fault} in 100 runs")


def test_every_target_fault_is_tested_here() -> None:
    text = Path(__file__).read_text()
    assert all(f'"{fault}"' in text for fault in TARGET_FAULTS)
