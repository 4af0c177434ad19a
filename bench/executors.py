"""The cost of judging a case on more executors: the default pair against the full set.

    python bench/executors.py [--cases N]

Generates N cases (the fuzz target's mix) and runs each on the default pair (exnfuzz
at the case's level, wasmtime) and on the full set (exnfuzz at opt 0, 1 and 2,
wasmtime's Cranelift at speed and none, Pulley), and prints the mean time per case of
each, the ratio, and the time per executor.  Every executor compiles the case's modules
itself (the runner's cache of compiled modules is emptied before each), as for a case
the target has not seen.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generators import Choices, generate_case  # noqa: E402
from oracles import executors  # noqa: E402
from oracles.engine_runner import COMPILED  # noqa: E402
from oracles.runner import run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100)
    args = parser.parse_args()
    cases = [generate_case(Choices.seeded(seed)) for seed in range(args.cases)]
    per_executor: dict[str, float] = {}
    for case in cases[:5]:                       # warm up every engine and cache
        for executor in executors.named("full"):
            run(executor.session(case))
    for case in cases:
        for executor in executors.named((*executors.FULL, executors.EXNFUZZ)):
            COMPILED.clear()   # each executor compiles the case's modules, as for a new case
            start = time.perf_counter()
            run(executor.session(case))
            per_executor[executor.name] = per_executor.get(executor.name, 0.0) + time.perf_counter() - start
    n = len(cases)
    pair = sum(per_executor[name] for name in executors.DEFAULT) / n
    full = sum(per_executor[name] for name in executors.FULL) / n
    print(f"{n} cases: default pair {pair * 1000:.1f} ms per case, full set {full * 1000:.1f} ms "
          f"({full / pair:.2f}x the pair)")
    for name, seconds in sorted(per_executor.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<16} {seconds / n * 1000:8.1f} ms per case")


if __name__ == "__main__":
    main()
