"""Resource hygiene: resident memory over many compile → instantiate → call cycles.

    python bench/rss.py [--cycles N] [--generated]

Each cycle compiles a fresh module (code differs per cycle, so nothing is cached),
instantiates it in a fresh store with a memory, a table and a host import, calls it,
and drops everything.  Compiled code (its execution engines), instance memory and
store state must be released: the report shows resident memory after a warm-up and
at the end, and the growth per thousand cycles, over the whole run and over its second
half (the first cycles fill the bounded caches).  With ``--generated`` each cycle is
instead one generated case of the main fuzz target, run on both engines and compared
(``fuzz_targets.exceptions.check_input``): everything a fuzzing campaign keeps --
compiled modules, trampolines, caches -- must stay bounded.
"""
from __future__ import annotations

import argparse
import functools
import gc
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the packages live in the repository root

from engine.runtime import I32, Engine, Func, FuncType, Instance, Module, Store  # noqa: E402

WAT = """(module
  (import "host" "add" (func $add (param i32) (result i32)))
  (memory 4) (table 8 funcref) (global $g (mut i32) (i32.const {k}))
  (data (i32.const 0) "cycle {k}")
  (func $f (param i32) (result i32)
    (i32.store (i32.const 64) (i32.add (local.get 0) (i32.const {k})))
    (call $add (i32.add (i32.load (i32.const 64)) (global.get $g))))
  (elem (i32.const 0) $f)
  (func (export "run") (param i32) (result i32)
    (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0))))"""


def rss_mib() -> float:
    """Current resident set size (from /proc; ``ru_maxrss`` would only give the peak)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def cycle(engine: Engine, k: int) -> None:
    store = Store(engine)
    host = Func(store, FuncType((I32,), (I32,)), lambda x: x + 1)
    instance = Instance(store, Module(engine, WAT.format(k=k)), [host])
    result = instance.exports(store)["run"](store, 1)
    assert result == 1 + k + k + 1, result


def generated_cycles() -> Callable[[int], None]:
    """A cycle that runs the ``k``-th of a seeded stream of generated cases."""
    import random
    from fuzz_targets import exceptions as target

    rng = random.Random(1)

    def cycle(k: int) -> None:
        target.check_input(bytes(rng.randrange(256) for _ in range(rng.choice((512, 1024, 2048, 4096)))))
    return cycle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--generated", action="store_true", help="cycles of generated fuzz cases")
    args = parser.parse_args()
    if args.generated:
        run = generated_cycles()
    else:
        engine = Engine()
        run = functools.partial(cycle, engine)
    for k in range(args.warmup):
        run(k)
    gc.collect()
    start, t0 = rss_mib(), time.perf_counter()
    print(f"after {args.warmup} warm-up cycles: {start:.1f} MiB")
    step = max(args.cycles // 10, 1)
    halfway = start
    for k in range(args.cycles):
        run(args.warmup + k)
        if (k + 1) % step == 0:
            gc.collect()
            now = rss_mib()
            if k + 1 == 5 * step:
                halfway = now
            print(f"{k + 1:6d} cycles: {now:.1f} MiB", flush=True)
    end = rss_mib()
    elapsed = time.perf_counter() - t0
    print(f"growth over {args.cycles} cycles: {end - start:+.1f} MiB "
          f"({(end - start) * 1000 / args.cycles:+.2f} MiB per 1000 cycles); "
          f"{args.cycles / elapsed:.0f} cycles/s")
    # The first cycles fill the bounded caches (compiled modules, trampolines' object
    # code); what the second half adds is what would go on growing.
    print(f"growth over the second half: {(end - halfway) * 1000 / (args.cycles - 5 * step):+.2f} MiB per 1000 cycles")


if __name__ == "__main__":
    main()
