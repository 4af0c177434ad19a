"""The main fuzz target: exception handling, exnfuzz against wasmtime.

Today it checks the decoding and validation stage on exception-handling modules:
each input mutates a seed built around ``try_table`` (all four catch kinds), ``throw``,
``throw_ref``, ``exnref`` values and tail calls, and exnfuzz's verdict must match
wasmtime's.  Running the modules on both engines and comparing their outcomes comes
with the structured generator and the oracles (issues 5 and 6); this file stays the
entry point users run.

    python fuzz_targets/exceptions.py [libFuzzer flags] [corpus dirs]

With no arguments it fuzzes for 60 seconds and prints a summary.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if __name__ == "__main__":
    # Instrument the engine before anything imports it, so libFuzzer sees its branches.
    with atheris.instrument_imports(include=["engine"]):
        import engine.binary.decode  # noqa: F401
        import engine.valid  # noqa: F401

from fuzz_targets._common import SEED_WAT, mutate_module, run_fuzzer, seed_modules  # noqa: E402
from fuzz_targets.decode import Stats, check_one  # noqa: E402

EXCEPTION_SEEDS = ("exceptions", "tail_calls", "control")


def exception_seeds() -> list[bytes]:
    modules = dict(zip(SEED_WAT, seed_modules()))
    return [modules[name] for name in EXCEPTION_SEEDS]


def module_from_input(data: bytes) -> bytes:
    fdp = atheris.FuzzedDataProvider(data)
    seeds = exception_seeds()
    return mutate_module(seeds[fdp.ConsumeIntInRange(0, len(seeds) - 1)], fdp.ConsumeIntInRange)


STATS = Stats(time.monotonic())


def test_one_input(data: bytes) -> None:
    STATS.execs += 1
    STATS.valid += check_one(module_from_input(data))


def main() -> None:
    exception_seeds()
    STATS.started = time.monotonic()
    run_fuzzer(test_one_input, STATS.summary, default_args=["-max_total_time=60"])


if __name__ == "__main__":
    main()
