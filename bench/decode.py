"""Decode + validate throughput of exnfuzz beside ``wasmtime.Module.validate``.

    python bench/decode.py [--quick]

Builds a few large modules (generated WAT, converted with ``wasmtime.wat2wasm``) and
takes the largest valid modules of the conformance suites, then times one run of
exnfuzz's ``decode_module`` + ``validate_module`` and one of wasmtime's validator on
the same bytes.  ``ratio`` is exnfuzz's time over wasmtime's.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import wasmtime

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the packages live in the repository root

from engine.binary.decode import decode_module  # noqa: E402
from engine.script.wast import iter_modules  # noqa: E402
from engine.valid import validate_module  # noqa: E402
from oracles.wasmtime_config import reference_engine  # noqa: E402

TESTSUITE = ROOT.parent / "shared" / "testsuite"
SUITES = ("spec-wg2.0/core", "spec/exceptions")


def arith_wat(funcs: int, ops: int) -> str:
    """Many functions, each a long straight-line integer and float computation."""
    step = ("local.get 0 i32.const {k} i32.mul local.get 1 i32.xor i32.add "
            "local.get 2 i64.const {k} i64.rotl local.set 2 "
            "local.get 3 f64.const {k}.5 f64.mul f64.sqrt local.set 3")
    body = " ".join(step.format(k=k) for k in range(ops))
    func = (f"(func (param i32 i32) (result i32) (local i64 f64) i32.const 0 {body} "
            f"local.get 2 i32.wrap_i64 i32.add local.get 3 i32.trunc_sat_f64_s i32.add)")
    return "(module " + func * funcs + ")"


def control_wat(funcs: int, depth: int) -> str:
    """Deeply nested blocks, loops, ifs and try_tables with branches out of each."""
    opens, closes = [], []
    for d in range(depth):
        kind = ("block", "loop", "try_table (catch $e 0) (catch_all 0)", "block")[d % 4]
        opens.append(f"({kind} local.get 0 br_if {d % (d + 1)} local.get 0 i32.eqz "
                     f"(if (then local.get 0 i32.const 1 i32.sub local.set 0)) ")
        closes.append(")")
    body = "".join(opens) + "(throw $e) " + "".join(closes)
    func = f"(func (param i32) (local i64) {body} local.get 0 return_call 0)"
    return f"(module (tag $e) {func * funcs})"


def br_table_wat(funcs: int, targets: int) -> str:
    """Functions dominated by one very long br_table."""
    labels = " ".join(str(i % 4) for i in range(targets))
    func = ("(func (param i32) (result i32) (block (block (block (block "
            f"local.get 0 br_table {labels} 0) i32.const 1 return) i32.const 2 return) "
            "i32.const 3 return) i32.const 4)")
    return "(module " + func * funcs + ")"


def data_wat(segments: int, size: int) -> str:
    """A memory with many large active and passive data segments."""
    chunk = "".join(f"\\{(i * 37) % 256:02x}" for i in range(size))
    segs = "".join(f'(data (i32.const {i * size}) "{chunk}")(data "{chunk}")'
                   for i in range(segments))
    return f"(module (memory {segments * size // 65536 + 1}) {segs})"


def generated(quick: bool) -> list[tuple[str, bytes]]:
    scale = 1 if quick else 10
    sources = [
        ("arith", arith_wat(20 * scale, 100)),
        ("control", control_wat(20 * scale, 60)),
        ("br_table", br_table_wat(2 * scale, 20_000)),
        ("data", data_wat(8 * scale, 16_384)),
    ]
    return [(name, wasmtime.wat2wasm(text)) for name, text in sources]


def from_testsuite(count: int) -> list[tuple[str, bytes]]:
    """The ``count`` largest valid modules of the conformance suites (none if absent)."""
    paths = [TESTSUITE / s for s in SUITES if (TESTSUITE / s).is_dir()]
    cases = [c for c in iter_modules(*paths) if c.expected == "valid"] if paths else []
    cases.sort(key=lambda c: len(c.data), reverse=True)
    return [(f"{c.file.name}:{c.line}", c.data) for c in cases[:count]]


def exnfuzz_check(wasm: bytes) -> None:
    validate_module(decode_module(wasm))


def wasmtime_check(wasm: bytes) -> None:
    wasmtime.Module.validate(reference_engine(), wasm)


def seconds(check: Callable[[bytes], None], wasm: bytes) -> float:
    start = time.perf_counter()
    check(wasm)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller modules, for a smoke run")
    args = parser.parse_args()
    modules = generated(args.quick) + from_testsuite(1 if args.quick else 3)
    wasmtime_check(b"\0asm\1\0\0\0")  # build the engine outside the timings

    header = f"{'module':<30}{'KiB':>9}{'exnfuzz ms':>12}{'MB/s':>8}{'wasmtime ms':>13}" \
             f"{'MB/s':>9}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    for name, wasm in modules:
        ours, theirs = seconds(exnfuzz_check, wasm), seconds(wasmtime_check, wasm)
        mb = len(wasm) / 1e6
        print(f"{name:<30}{len(wasm) / 1024:>9.1f}{ours * 1e3:>12.1f}{mb / ours:>8.2f}"
              f"{theirs * 1e3:>13.2f}{mb / theirs:>9.1f}{ours / theirs:>8.0f}")


if __name__ == "__main__":
    main()
