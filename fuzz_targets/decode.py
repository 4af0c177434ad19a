"""Differential fuzz target: exnfuzz's decoder and validator against wasmtime's validator.

Each input is turned into a module in one of two ways, chosen by its first byte:
one time in eight the remaining bytes are the module as they are (raw mode), otherwise
they drive a few structure-aware mutations of one of the built-in seed modules
(``_common.SEED_WAT``).  exnfuzz (``decode_module`` then ``validate_module``) and
``wasmtime.Module.validate`` must give the same verdict, and exnfuzz may only
reject with an ``engine.errors.WasmError``.

    python fuzz_targets/decode.py [libFuzzer flags] [corpus dirs]

With no arguments it runs for 60 seconds and prints a summary; ``corpus/decode`` holds
its seeds (each seed module in raw mode), new inputs go to ``runs/decode/corpus``.
"""
from __future__ import annotations

import contextlib
import io
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import atheris

# Run as a script, only this folder is on sys.path; the repository root holds the packages.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if __name__ == "__main__":
    # Instrument the engine before anything imports it, so libFuzzer sees its branches.
    # Only when fuzzing: instrumented code runs many times slower.
    # atheris reports each module it instruments; one line says as much.
    log = io.StringIO()
    with contextlib.redirect_stderr(log), atheris.instrument_imports(include=["engine"]):
        import engine.binary.decode  # noqa: F401
        import engine.valid  # noqa: F401
    print(f"INFO: instrumented {log.getvalue().count('INFO: Instrumenting ')} modules of engine", file=sys.stderr)

import wasmtime  # noqa: E402

from engine.binary.decode import decode_module  # noqa: E402
from engine.errors import WasmError  # noqa: E402
from engine.valid import validate_module  # noqa: E402
from fuzz_targets._common import Defaults, mutate_module, run_fuzzer, seed_modules  # noqa: E402
from oracles.wasmtime_config import reference_engine  # noqa: E402

RAW_EVERY = 8
"""One input in this many (first byte divisible by it) is fed to the decoder as is."""


@dataclass(frozen=True, slots=True)
class Verdict:
    valid: bool
    reason: str
    """Why the module was rejected, or ``"valid"``."""


def exnfuzz_verdict(wasm: bytes) -> Verdict:
    """Decode (reading limits as wasmtime does) and validate with exnfuzz; anything
    but a WasmError propagates."""
    try:
        validate_module(decode_module(wasm, wide_limits=True))
    except WasmError as e:
        return Verdict(False, f"{type(e).__name__}: {e}")
    return Verdict(True, "valid")


def wasmtime_verdict(wasm: bytes) -> Verdict:
    try:
        wasmtime.Module.validate(reference_engine(), wasm)
    except wasmtime.WasmtimeError as e:
        return Verdict(False, str(e).strip())
    return Verdict(True, "valid")


def _describe(wasm: bytes) -> str:
    return f"input ({len(wasm)} bytes): {wasm.hex()}"


def check_one(wasm: bytes) -> bool:
    """Compare both verdicts on one module; returns True if both accept it.

    Raises AssertionError when they disagree or exnfuzz raises anything but a
    WasmError, with both verdicts and the module's bytes in hex.
    """
    try:
        ours = exnfuzz_verdict(wasm)
    except Exception as e:
        where = "".join(traceback.format_exception(e)[-4:])
        raise AssertionError(f"exnfuzz raised {type(e).__name__}, not a WasmError:\n"
                             f"{where}{_describe(wasm)}") from e
    theirs = wasmtime_verdict(wasm)
    if ours.valid != theirs.valid:
        word = {True: "accepts", False: "rejects"}
        raise AssertionError(f"exnfuzz {word[ours.valid]}, wasmtime {word[theirs.valid]}\n"
                             f"  exnfuzz:  {ours.reason}\n  wasmtime: {theirs.reason}\n"
                             f"{_describe(wasm)}")
    return ours.valid


def module_from_input(data: bytes) -> bytes:
    """The module a fuzz input stands for (raw bytes or a mutated seed)."""
    if not data or data[0] % RAW_EVERY == 0:
        return data[1:]
    fdp = atheris.FuzzedDataProvider(data[1:])
    seeds = seed_modules()
    seed = seeds[fdp.ConsumeIntInRange(0, len(seeds) - 1)]
    return mutate_module(seed, fdp.ConsumeIntInRange)


@dataclass(slots=True)
class Stats:
    started: float
    execs: int = 0
    valid: int = 0
    raw: int = 0

    def summary(self) -> str:
        """One line for the end of a campaign; a disagreement would have ended it earlier."""
        seconds = max(time.monotonic() - self.started, 1e-9)
        return (f"decode fuzz: {self.execs} execs in {seconds:.1f} s "
                f"({self.execs / seconds:.0f}/s); both accept {self.valid}, "
                f"both reject {self.execs - self.valid}; raw inputs {self.raw}; "
                f"no disagreements")


STATS = Stats(time.monotonic())


def test_one_input(data: bytes) -> None:
    """libFuzzer's entry point."""
    STATS.execs += 1
    STATS.raw += not data or data[0] % RAW_EVERY == 0
    STATS.valid += check_one(module_from_input(data))


def main() -> None:
    seed_modules()  # build the seeds before the clock starts
    STATS.started = time.monotonic()
    run_fuzzer(test_one_input, STATS.summary, Defaults(bare_flags=("-max_total_time=60",),
                                                       corpus=str(ROOT / "runs" / "decode" / "corpus"),
                                                       seeds=(str(ROOT / "corpus" / "decode"),)))


if __name__ == "__main__":
    main()
