"""Feature coverage of the generator: which constructs it writes, and what they do.

    python -m generators.coverage [-n CASES] [--seed SEED]

generates CASES cases, counts in how many each construct appears (from the
generator's own record of what it wrote), runs each on exnfuzz's engine and counts
what happened at run time: how often each catch kind actually caught something (the
exported ``caught_*`` counters every handler bumps), which traps fired, which
exceptions escaped to the host and what the host caught.  Exits with status 1 when a
construct in :data:`REQUIRED` was never reached.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter

from oracles.engine_runner import EngineRunner
from oracles.outcome import HostCaught, Num, Outcome, Thrown, Trapped
from oracles.runner import run

from .choices import Choices
from .module import CaseGenerator

REQUIRED = (
    "host tag", "defined (exported) tag", "payload of 0 values", "payload of 4 values",
    *(f"payload with {t}" for t in ("i32", "i64", "f32", "f64", "funcref", "externref", "exnref")),
    "try_table", "try_table nested 4+ deep", *(f"try_table with {n} clauses" for n in range(6)),
    "clause catch", "clause catch_ref", "clause catch_all", "clause catch_all_ref", "clause to an enclosing label",
    "br", "br_if",
    "throw", "throw_ref", "exnref through a local", "exnref through a global", "exnref through a table",
    "exnref through a block parameter", "exnref through a function parameter", "exnref through a function result",
    "throw inside a handler", "throw inside a loop", "throw_ref inside a handler", "call_indirect",
    "return_call", "return_call_indirect",
    "host log", "host throw", "host call_export", "host rethrow", "host trap", "function ends in throw",
    "i32.div_s", "i64.rem_u", "unmasked address", "unreachable", "i32.trunc_f32_s",
    "opt_level 0", "opt_level 1", "opt_level 2",
    "i32.add", "f64.mul", "i64.load32_s", "f32.store", "global.set", "memory.grow", "select",
)
RUNTIME_REQUIRED = (
    "caught by catch", "caught by catch_ref", "caught by catch_all", "caught by catch_all_ref",
    "trap unreachable", "trap null_reference", "trap integer_division_by_zero", "trap memory_out_of_bounds",
    "trap host", "exception escaped to the host", "host caught an exception",
)


def runtime_features(outcome: Outcome) -> Counter[str]:
    """What happened in one run: catches by kind, traps, escapes, host catches."""
    features: Counter[str] = Counter()
    if outcome.state is not None:
        for name, value in outcome.state.globals:
            if name.startswith("caught_") and isinstance(value, Num) and value.bits:
                features[f"caught by {name[7:]}"] += value.bits
    for call in (outcome.instantiate, *outcome.invocations):
        if isinstance(call.result, Trapped):
            features[f"trap {call.result.code}"] += 1
        elif isinstance(call.result, Thrown):
            features["exception escaped to the host"] += 1
        features["host caught an exception"] += sum(isinstance(e, HostCaught) for e in call.trace)
    return features


def measure(cases: int, seed: int) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Over ``cases`` generated cases: in how many cases each static construct
    appears, how often it appears in all, and in how many cases each run-time
    feature occurred."""
    present: Counter[str] = Counter()
    total: Counter[str] = Counter()
    happened: Counter[str] = Counter()
    for i in range(cases):
        generator = CaseGenerator(Choices.seeded(seed + i))
        case = generator.generate()
        features = generator.ctx.features
        total.update(features)
        present.update(name for name, n in features.items() if n)
        happened.update(name for name, n in runtime_features(run(EngineRunner(case))).items() if n)
    return present, total, happened


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generators.coverage", description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--cases", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    present, total, happened = measure(args.cases, args.seed)
    missing = []
    print(f"{'construct':<40} {'cases':>7} {'share':>6} {'total':>8}")
    for name in REQUIRED:
        print(f"{name:<40} {present[name]:>7} {100 * present[name] / args.cases:>5.1f}% {total[name]:>8}")
        missing += [name] if not present[name] else []
    print(f"\n{'at run time (exnfuzz)':<40} {'cases':>7} {'share':>6}")
    for name in RUNTIME_REQUIRED + tuple(sorted(set(happened) - set(RUNTIME_REQUIRED))):
        print(f"{name:<40} {happened[name]:>7} {100 * happened[name] / args.cases:>5.1f}%")
        missing += [name] if name in RUNTIME_REQUIRED and not happened[name] else []
    print(f"\n{args.cases} cases; " + (f"NOT REACHED: {', '.join(missing)}" if missing else "every construct reached"))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
