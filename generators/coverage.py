"""Feature coverage of the generator: which constructs it writes, and what they do.

    python -m generators.coverage [-n CASES] [--seed SEED]

generates CASES cases, counts in how many each construct appears (from the
generator's own record of what it wrote), runs each on exnfuzz's engine and counts
what happened at run time: how often each catch kind actually caught something (the
exported ``caught_*`` counters every handler bumps), which traps fired, which
exceptions escaped to the host and what the host caught.  Exits with status 1 when a
construct in :data:`REQUIRED` was never reached or one in :data:`AT_LEAST_5_PERCENT`
is in fewer than 5% of the cases -- with few cases, a rare construct can be missed by
chance, so judge on a few hundred.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter

from oracles.engine_runner import EngineRunner
from oracles.observed import observed
from oracles.outcome import Outcome
from oracles.runner import run

from .choices import Choices
from .instances import CaseGenerator

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
AT_LEAST_5_PERCENT = (
    "function with parameters beyond the registers", "function with results beyond the registers",
    "function with 12+ parameters", "function with 12+ results",
    "host function with parameters beyond the registers", "host function with results beyond the registers",
    "tag with parameters beyond the registers", "tag with 12+ parameters",
    "block type with parameters beyond the registers", "block type with results beyond the registers",
    "block with parameters and results", "loop with parameters and results", "try_table with parameters and results",
    "catch of a payload of 5+ values", "catch_ref of a payload of 5+ values",
    "payload of 5+ values thrown into a try_table with catch_all",
    "payload of 5+ values thrown into a try_table with catch_all_ref",
    "tail call to more parameters", "tail call to fewer parameters", "tail call to a function that throws",
    "tail call to a function that rethrows", "tail call to a function that traps", "tail call to a function that calls",
    "tail call to a host function", "tail call to a host function that throws", "return_call inside a try_table",
    "return_call_indirect inside a try_table", "call in a try_table to a function that tail-calls",
    "mutual tail recursion", "values live across a call in a try_table",
    "one module twice", "two linked modules", "call_indirect to a free table slot", "collector stress",
    "host keep", "host throw_kept", "exceptions thrown and kept in a loop", "exnref kept by the host",
    *(f"clause to a {kind} label" for kind in ("block", "loop", "if", "else", "try_table", "func")),
    *(f"clause to a label at depth {d}" for d in ("0", "1", "2", "3+")),
    "handler entered with values below on the stack", "dead code after a terminator", "throw in dead code",
    "try_table in dead code", "start function", "host error raised inside a handler",
)
"""Constructs every campaign must exercise often: each in at least 5% of cases."""
MIN_SHARE = 5.0
RUNTIME_REQUIRED = (
    "caught by catch", "caught by catch_ref", "caught by catch_all", "caught by catch_all_ref",
    "trap unreachable", "trap null_reference", "trap integer_division_by_zero", "trap memory_out_of_bounds",
    "trap host", "exception escaped to the host", "host caught an exception",
    *(f"caught into a {label} label" for label in ("block", "loop", "if", "try_table", "func")),
    "event: collection", "event: return_call taken", "event: return_call_indirect taken",
    "exception object seen again", "instantiation trapped", "instantiation threw",
)


def runtime_features(outcome: Outcome, events: dict[str, int] | None = None) -> Counter[str]:
    """What happened in one run (see :func:`oracles.observed.observed`), with catches
    summed by the kind of label they went to."""
    features = observed(outcome, events or {})
    for name, n in list(features.items()):
        if name.startswith("event: ") and " caught into a " in name:
            label = name.split(" caught into a ")[1].split(" label")[0]
            features[f"caught into a {label} label"] += n
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
        features = generator.features
        total.update(features)
        present.update(name for name, n in features.items() if n)
        session = EngineRunner(case)
        outcome = run(session)
        happened.update(name for name, n in runtime_features(outcome, session.events).items() if n)
    return present, total, happened


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generators.coverage", description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--cases", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    present, total, happened = measure(args.cases, args.seed)
    missing, rare = [], []
    width = max(map(len, REQUIRED + AT_LEAST_5_PERCENT)) + 1
    print(f"{'construct':<{width}} {'cases':>7} {'share':>6} {'total':>8}")
    for name in REQUIRED + AT_LEAST_5_PERCENT:
        share = 100 * present[name] / args.cases
        print(f"{name:<{width}} {present[name]:>7} {share:>5.1f}% {total[name]:>8}")
        missing += [name] if not present[name] else []
        rare += [name] if name in AT_LEAST_5_PERCENT and present[name] and share < MIN_SHARE else []
    print(f"\n{'at run time (exnfuzz)':<{width}} {'cases':>7} {'share':>6}")
    for name in RUNTIME_REQUIRED + tuple(sorted(set(happened) - set(RUNTIME_REQUIRED))):
        print(f"{name:<{width}} {happened[name]:>7} {100 * happened[name] / args.cases:>5.1f}%")
        missing += [name] if name in RUNTIME_REQUIRED and not happened[name] else []
    print(f"\n{args.cases} cases; " + (f"NOT REACHED: {', '.join(missing)}" if missing else "every construct reached"))
    if rare:
        print(f"BELOW {MIN_SHARE:.0f}% OF CASES: {', '.join(rare)}")
    if missing or rare:
        print("(exit status 1; with few cases a rare construct can be missed by chance: try more, e.g. -n 500)")
    return 1 if missing or rare else 0


if __name__ == "__main__":
    sys.exit(main())
