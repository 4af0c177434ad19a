"""Throughput of the main fuzz target, where its time goes, and what a module costs.

    python bench/fuzz_throughput.py [--cases N] [--warm W] [--target-seconds S]

1. Runs N generated cases through the target's own per-input check
   (``fuzz_targets.exceptions.check_input``) on one core, after W others (default 300)
   that bring the process to a campaign's steady state (a process's first cases compile
   the trampolines of the shapes most cases share: 1.5 new ones per module over the
   first 250 cases, 0.7 from the 1,000th on; the collector's view is the target's too:
   what the first case set up is frozen), and splits the time between
   generation, exnfuzz (decode, validate, compile, then instantiate and run) and
   wasmtime, both engines measured in the same run; then compiles each case's modules
   again on the engine the case ran on (``EngineRunner``'s), for the split of
   exnfuzz's time.
2. Times compiling a module of one trivial function, beside MCJIT's own fixed cost for
   such a module (parse, generate code, load, look up, free: what any LLVM JIT pays).
3. Runs the real target (atheris, instrumented) for S seconds in a subprocess and
   reports its execs/s from the summary it prints, and its inputs/s counting the
   repeats it skipped (inputs whose case it had already checked).

The goals set for the target: exnfuzz's time per case at most twice wasmtime's (the
moonshot: equal), and at least 60 differential execs/s instrumented on one core (the
moonshot: 100).
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import llvmlite.binding as llvm  # noqa: E402
from wasmtime import wat2wasm  # noqa: E402

from engine.binary.decode import decode_module  # noqa: E402
from engine.compile import jit  # noqa: E402
from engine.compile.module import ModuleCompiler  # noqa: E402
from engine.runtime import Config, Engine, Module, Store  # noqa: E402
from engine.valid.module import validate_module  # noqa: E402
from fuzz_targets import exceptions as target  # noqa: E402
from oracles.engine_runner import COMPILED, EngineRunner  # noqa: E402


def inputs(n: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    return [bytes(rng.randrange(256) for _ in range(rng.choice((512, 1024, 2048, 4096)))) for _ in range(n)]


def split(n: int, warm: int) -> None:
    data = inputs(n)
    for i, earlier in enumerate(inputs(warm, seed=2)):
        target.check_input(earlier)
        if i == 0:
            gc.freeze()     # as the target does after its first case
    target.STATS.__init__()  # type: ignore[misc]
    compiling, compiled_modules = COMPILED.seconds, COMPILED.misses
    start, cpu = time.perf_counter(), time.process_time()
    for d in data:
        target.check_input(d)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    compiling, compiled_modules = COMPILED.seconds - compiling, COMPILED.misses - compiled_modules
    s = target.STATS.seconds
    ours, theirs = s["exnfuzz"], s["wasmtime"]
    print(f"{n} cases in {elapsed:.1f} s: {n / elapsed:.1f} differential execs/s (uninstrumented, one core)")
    print(f"  per case: generate {1e3 * s['generate'] / n:.2f} ms, exnfuzz {1e3 * ours / n:.2f} ms, "
          f"wasmtime {1e3 * theirs / n:.2f} ms")
    print(f"  share of time: generate {100 * s['generate'] / elapsed:.0f}%, exnfuzz {100 * ours / elapsed:.0f}%, "
          f"wasmtime {100 * theirs / elapsed:.0f}%; exnfuzz/wasmtime = {ours / theirs:.2f} (goal: 2 at most)")
    print(f"  CPU time / wall time = {cpu / elapsed:.2f} (1.00: one core)")
    print(f"  exnfuzz per case: compile {1e3 * compiling / n:.2f} ms ({compiled_modules / n:.2f} modules), "
          f"instantiate+run+host {1e3 * (ours - compiling) / n:.2f} ms")
    parts = dict.fromkeys(("decode+validate", "translate", "LLVM parse+verify+optimise", "LLVM code generation",
                           "all"), 0.0)
    by_level: dict[int, list[float]] = {}
    for d in data:
        case = target.case_from_input(d)
        runner = EngineRunner(case)
        engine = runner.engine
        runner.store.close()
        level = case.config.opt_level
        for module in dict.fromkeys(module for _, module in case.instance_modules()):
            t0 = time.perf_counter()
            syntax = decode_module(module)
            validate_module(syntax)
            t1 = time.perf_counter()
            compiler = ModuleCompiler(syntax, engine.target, engine.options)
            ir_module = compiler.compile()
            t2 = time.perf_counter()
            ref = jit.optimize(ir_module, engine.target, level)
            t3 = time.perf_counter()
            jit.emit_object(ref, engine.target, level)
            t4 = time.perf_counter()
            Module(engine, module)
            t5 = time.perf_counter()
            for part, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                parts[part] += seconds
            by_level.setdefault(level, []).append(t5 - t4 - (t1 - t0))
    modules = sum(len(times) for times in by_level.values())
    print(f"  the same {modules} modules compiled again (every trampoline's code kept by now): per module "
          f"decode+validate {1e3 * parts['decode+validate'] / modules:.2f} ms, the rest of compiling by opt_level: "
          + ", ".join(f"{level}: {1e3 * sum(times) / len(times):.1f} ms ({len(times)})"
                      for level, times in sorted(by_level.items())))
    whole = parts.pop("all")
    rest = whole - sum(parts.values())
    print("  where compiling goes, per case (each step again on its own; the module's own code, its trampolines "
          "in the rest): " + ", ".join(f"{part} {1e3 * seconds / n:.2f} ms" for part, seconds in parts.items())
          + f", loading, trampolines and run-time set-up {1e3 * rest / n:.2f} ms; whole {1e3 * whole / n:.2f} ms")


ONE_FUNCTION = '(module (func (export "f") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))'


def one_function(repeats: int = 300) -> None:
    """A one-function module's compile time at opt_level 0, beside MCJIT's fixed cost."""
    engine = Engine(Config(opt_level=0))
    Store(engine)                          # the engine's store runtime, compiled once
    wasm = wat2wasm(ONE_FUNCTION)
    target_ = engine.target
    ir = (f'target triple = "{target_.triple}"\ntarget datalayout = "{target_.data_layout}"\n'
          "define i32 @f(i32 %x) {\n  %y = add i32 %x, 1\n  ret i32 %y\n}\n")

    def mcjit() -> None:
        module = llvm.parse_assembly(ir)
        jit_engine = llvm.create_mcjit_compiler(module, target_.new_machine(0))
        jit_engine.finalize_object()
        jit_engine.get_function_address("f")
        jit_engine.close()

    def ours() -> None:
        Module(engine, wasm)

    times = {}
    for name, work in (("exnfuzz", ours), ("MCJIT", mcjit)):
        for _ in range(20):
            work()
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            work()
            samples.append(time.perf_counter() - start)
        times[name] = statistics.median(samples)
    print(f"one-function module at opt_level 0 (median of {repeats}): exnfuzz {1e3 * times['exnfuzz']:.2f} ms "
          f"(decode, validate, translate, generate code, load); MCJIT's own fixed cost "
          f"{1e3 * times['MCJIT']:.2f} ms (parse, generate code, load, look up, free); "
          f"ratio {times['exnfuzz'] / times['MCJIT']:.1f}")


def instrumented(seconds: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:   # libFuzzer writes new inputs to the first corpus
        command = [sys.executable, str(ROOT / "fuzz_targets" / "exceptions.py"), f"-max_total_time={seconds}",
                   "-len_control=0", "-max_len=4096", scratch, str(ROOT / "corpus" / "exceptions")]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=seconds + 120)
    summary = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("exceptions:")]
    print("real target (atheris, instrumented):", summary[-1] if summary else "no summary:\n" + out.stderr[-2000:])
    counts = re.search(r"(\d+) differential execs in (\d+) s \(([\d.]+)/s\).*; (\d+) repeats skipped",
                       summary[-1]) if summary else None
    if counts:
        execs, seconds, rate, repeats = counts.groups()
        print(f"  {rate} differential execs/s against a goal of 60; with the {repeats} repeats skipped, "
              f"{(int(execs) + int(repeats)) / max(int(seconds), 1):.1f} inputs/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--warm", type=int, default=300, help="cases run first, not measured")
    parser.add_argument("--target-seconds", type=int, default=30)
    args = parser.parse_args()
    split(args.cases, args.warm)
    one_function()
    if args.target_seconds:
        instrumented(args.target_seconds)


if __name__ == "__main__":
    main()
