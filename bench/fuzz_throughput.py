"""Throughput of the main fuzz target, and where its time goes.

    python bench/fuzz_throughput.py [--cases N] [--target-seconds S]

1. Runs N generated cases through the target's own per-input check
   (``fuzz_targets.exceptions.check_input``) on one core and splits the time between
   generation, exnfuzz (decode, validate, compile, then instantiate and run) and
   wasmtime, both engines measured in the same run.
2. Runs the real target (atheris, instrumented) for S seconds in a subprocess and
   reports its execs/s from the summary it prints, and its inputs/s counting the
   repeats it skipped (inputs whose case it had already checked).

The goal set for the target: at least 100 differential execs/s, with exnfuzz's share
of the time no larger than wasmtime's.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.binary.decode import decode_module  # noqa: E402
from engine.runtime import Config, Engine, Module  # noqa: E402
from engine.valid.module import validate_module  # noqa: E402
from fuzz_targets import exceptions as target  # noqa: E402


def inputs(n: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    return [bytes(rng.randrange(256) for _ in range(rng.choice((512, 1024, 2048, 4096)))) for _ in range(n)]


def split(n: int) -> None:
    data = inputs(n)
    for warm in data[:10]:
        target.check_input(warm)
    target.STATS.__init__()  # type: ignore[misc]
    start, cpu = time.perf_counter(), time.process_time()
    for d in data:
        target.check_input(d)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    s = target.STATS.seconds
    ours, theirs = s["exnfuzz"], s["wasmtime"]
    print(f"{n} cases in {elapsed:.1f} s: {n / elapsed:.1f} differential execs/s (uninstrumented, one core)")
    print(f"  per case: generate {1e3 * s['generate'] / n:.2f} ms, exnfuzz {1e3 * ours / n:.2f} ms, "
          f"wasmtime {1e3 * theirs / n:.2f} ms")
    print(f"  share of time: generate {100 * s['generate'] / elapsed:.0f}%, exnfuzz {100 * ours / elapsed:.0f}%, "
          f"wasmtime {100 * theirs / elapsed:.0f}%; exnfuzz/wasmtime = {ours / theirs:.2f}")
    print(f"  CPU time / wall time = {cpu / elapsed:.2f} (1.00: one core)")
    engines: dict[int, Engine] = {}
    front, compiled = 0.0, 0.0
    by_level: dict[int, list[float]] = {}
    for d in data:
        case = target.case_from_input(d)
        module = case.module
        level = case.config.opt_level
        engine = engines.setdefault(level, Engine(Config(opt_level=level)))
        t0 = time.perf_counter()
        validate_module(decode_module(module))
        t1 = time.perf_counter()
        Module(engine, module)
        t2 = time.perf_counter()
        front, compiled = front + t1 - t0, compiled + t2 - t1
        by_level.setdefault(level, []).append(t2 - t1 - (t1 - t0))
    print(f"  exnfuzz per case: decode+validate {1e3 * front / n:.2f} ms, compile {1e3 * (compiled - front) / n:.2f}"
          f" ms, instantiate+run+host {1e3 * (ours - compiled) / n:.2f} ms")
    print("  exnfuzz compile by opt_level: " + ", ".join(
        f"{level}: {1e3 * sum(times) / len(times):.1f} ms ({len(times)} cases)"
        for level, times in sorted(by_level.items())))


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
        print(f"  {rate} differential execs/s against a goal of 100; with the {repeats} repeats skipped, "
              f"{(int(execs) + int(repeats)) / max(int(seconds), 1):.1f} inputs/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--target-seconds", type=int, default=30)
    args = parser.parse_args()
    split(args.cases)
    if args.target_seconds:
        instrumented(args.target_seconds)


if __name__ == "__main__":
    main()
