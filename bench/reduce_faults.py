"""Reduction of a finding of every planted fault: original and reduced size.

For each fault of :mod:`engine.compile.faults`, the first finding among seeded random
inputs of the main target (as ``tests/test_planted_faults.py`` draws them) is run
with the fault planted, in a forked child (:mod:`oracles.worker`; several faults
crash the process), and reduced (:mod:`oracles.reduce`) for at most ``--time-limit``
seconds.  One line per fault: the signature, instructions and bytes before and after,
the runs and seconds the reduction took; the reduced cases go to ``--out``.

    python bench/reduce_faults.py [--time-limit 180] [--out runs/reduced] [FAULT...]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.compile.faults import ENVIRONMENT, FAULTS  # noqa: E402
from generators import Choices, generate_case  # noqa: E402
from oracles.reduce import Reducer, Subject  # noqa: E402
from oracles.worker import Worker, case_request  # noqa: E402

RUNS = 300


def reduce_fault(fault: str, time_limit: float, out: Path) -> str:
    rng = random.Random(fault)
    with Worker(env={**os.environ, ENVIRONMENT: fault}) as worker:
        for run in range(1, RUNS + 1):
            case = generate_case(Choices.from_data(bytes(rng.randrange(256) for _ in range(2048))))
            report = worker.run(case_request(case))
            if report.signature is not None:
                break
        else:
            return f"{fault}: no finding in {RUNS} inputs"
        worker.timeout = max(5.0, 4 * report.seconds)
        reducer = Reducer(Subject.of(case), report.signature, worker, out / f"{fault}.json",
                          time.monotonic() + time_limit)
        reducer.run()
        seconds = time.monotonic() - reducer.started
        return (f"{fault}: input {run}: {report.signature}: {reducer.original} -> {reducer.size} "
                f"({reducer.tests} runs, {seconds:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("faults", nargs="*", default=sorted(FAULTS))
    parser.add_argument("--time-limit", type=float, default=180.0)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "reduced")
    args = parser.parse_args()
    for fault in args.faults:
        print(reduce_fault(fault, args.time_limit, args.out), flush=True)


if __name__ == "__main__":
    main()
