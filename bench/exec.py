"""Steady-state execution speed of exnfuzz's JIT beside wasmtime and native code, on
compute kernels.

    python bench/exec.py [--quick] [--opt-level N] [KERNEL ...]

Each kernel in ``bench/kernels/*.wat`` exports ``run(size: i32) -> i64``, a checksum
of its work.  The same binary is compiled by exnfuzz (``engine.runtime`` at
``--opt-level``) and by wasmtime (:func:`oracles.wasmtime_config.reference_engine`,
Cranelift at its default ``speed`` level), and the same kernel written in C
(``bench/kernels/native.c``) is built with ``gcc -O2`` -- the physical limit; all
three must return the same checksum, or the benchmark stops.  After one warm-up call,
the timed calls alternate so that noise from other processes hits all alike; sizes are
chosen so that one wasmtime call takes some 0.2 s or more, which makes the per-call
FFI cost negligible.  ``vs wasmtime`` is exnfuzz's best time over wasmtime's (below 1:
exnfuzz is faster), ``vs native`` over the C build's; compile times are the best of a
few compilations of the binary (exnfuzz: decode, validate, generate IR, optimise,
load; wasmtime: ``Module``).  Without ``gcc`` the native column is left out.
"""
from __future__ import annotations

import argparse
import ctypes
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import wasmtime

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the packages live in the repository root

from engine import runtime  # noqa: E402
from oracles.wasmtime_config import reference_engine  # noqa: E402

KERNELS_DIR = Path(__file__).resolve().parent / "kernels"
COMPILES = 3


@dataclass(frozen=True)
class Kernel:
    name: str
    size: int    # full run: one wasmtime call takes >= ~0.2 s
    quick: int   # --quick: an eighth of that or so
    what: str


KERNELS = (
    Kernel("fib", 38, 33, "recursive Fibonacci: calls"),
    Kernel("collatz", 1_500_000, 200_000, "Collatz stopping times: integer loops"),
    Kernel("sieve", 40_000_000, 5_000_000, "sieve of Eratosthenes: byte stores"),
    Kernel("matmul", 700, 350, "f64 matrix multiply"),
    Kernel("hash", 20_000, 2_500, "64-bit hash of a 64 KiB buffer per round"),
    Kernel("indirect", 30_000_000, 4_000_000, "call_indirect over 8 functions"),
    Kernel("tailcall", 150_000_000, 20_000_000, "return_call state machine"),
)

Run = Callable[[int], int]


def native_kernels() -> ctypes.CDLL | None:
    """``native.c`` built with ``gcc -O2`` and loaded, or None without gcc."""
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    with tempfile.TemporaryDirectory(prefix="exnfuzz-native-") as scratch:
        out = Path(scratch) / "kernels.so"
        # No contraction into fused multiply-adds: matmul's checksum is exact IEEE doubles.
        subprocess.run([gcc, "-O2", "-ffp-contract=off", "-fPIC", "-shared", "-o", str(out),
                        str(KERNELS_DIR / "native.c")], check=True)
        return ctypes.CDLL(str(out))      # mapped now: the file may go


def native_run(library: ctypes.CDLL, kernel: "Kernel") -> Run:
    function = getattr(library, kernel.name)
    function.restype, function.argtypes = ctypes.c_int64, [ctypes.c_uint32]   # i64, as the engines return it
    return function


@dataclass
class Result:
    kernel: Kernel
    size: int
    ours: list[float]
    theirs: list[float]
    native: list[float]
    ours_compile: float
    theirs_compile: float

    @property
    def ratio(self) -> float:
        return min(self.ours) / min(self.theirs)

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.ours) / statistics.median(self.theirs)

    @property
    def native_ratio(self) -> float:
        return min(self.ours) / min(self.native)


def wasm_of(kernel: Kernel) -> bytes:
    return wasmtime.wat2wasm((KERNELS_DIR / f"{kernel.name}.wat").read_text())


def compile_ours(engine: runtime.Engine, wasm: bytes) -> tuple[float, Run]:
    """Best compile time of ``COMPILES`` and the ``run`` export of a fresh instance."""
    times, module = [], None
    for _ in range(COMPILES):
        start = time.perf_counter()
        module = runtime.Module(engine, wasm)
        times.append(time.perf_counter() - start)
    store = runtime.Store(engine)
    func = runtime.Instance(store, module, []).exports(store)["run"]
    return min(times), lambda n: func(store, n)


def compile_theirs(wasm: bytes) -> tuple[float, Run]:
    engine = reference_engine()
    times, module = [], None
    for _ in range(COMPILES):
        start = time.perf_counter()
        module = wasmtime.Module(engine, wasm)
        times.append(time.perf_counter() - start)
    store = wasmtime.Store(engine)
    func = wasmtime.Instance(store, module, []).exports(store)["run"]
    return min(times), lambda n: func(store, n)


def timed(run: Run, size: int, expected: int, who: str, kernel: Kernel) -> float:
    start = time.perf_counter()
    checksum = run(size)
    elapsed = time.perf_counter() - start
    if checksum != expected:
        raise SystemExit(f"{kernel.name}({size}): {who} returned {checksum}, expected {expected}")
    return elapsed


def measure(kernel: Kernel, engine: runtime.Engine, size: int, repeats: int,
            library: ctypes.CDLL | None) -> Result:
    wasm = wasm_of(kernel)
    ours_compile, ours = compile_ours(engine, wasm)
    theirs_compile, theirs = compile_theirs(wasm)
    native = native_run(library, kernel) if library is not None else None
    expected = theirs(size)  # also the warm-up call
    timed(ours, size, expected, "exnfuzz", kernel)
    if native is not None:
        timed(native, size, expected, "native", kernel)
    ours_times, theirs_times, native_times = [], [], []
    for _ in range(repeats):
        ours_times.append(timed(ours, size, expected, "exnfuzz", kernel))
        theirs_times.append(timed(theirs, size, expected, "wasmtime", kernel))
        if native is not None:
            native_times.append(timed(native, size, expected, "native", kernel))
    return Result(kernel, size, ours_times, theirs_times, native_times, ours_compile, theirs_compile)


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--opt-level", type=int, default=2, choices=range(4),
                        help="exnfuzz's LLVM optimisation level (default 2)")
    parser.add_argument("--repeats", type=int, help="timed calls per engine (default 7, quick 3)")
    parser.add_argument("kernels", nargs="*", metavar="KERNEL",
                        help=f"kernels to run (default: all of {', '.join(k.name for k in KERNELS)})")
    args = parser.parse_args()
    unknown = set(args.kernels) - {k.name for k in KERNELS}
    if unknown:
        parser.error(f"unknown kernels: {', '.join(sorted(unknown))}")
    repeats = args.repeats or (3 if args.quick else 7)
    kernels = [k for k in KERNELS if not args.kernels or k.name in args.kernels]
    engine = runtime.Engine(runtime.Config(opt_level=args.opt_level))
    library = native_kernels()

    header = (f"{'kernel':<10}{'size':>12}{'exnfuzz s':>11}{'wasmtime s':>12}{'native s':>10}{'vs wasmtime':>13}"
              f"{'(median)':>10}{'vs native':>11}{'compile ms':>12}{'wasmtime ms':>13}  what")
    print(f"exnfuzz opt_level={args.opt_level}, best of {repeats} timed calls after a warm-up; native: "
          + ("gcc -O2" if library is not None else "no gcc, left out"))
    print(header)
    print("-" * len(header))
    results = []
    for kernel in kernels:
        r = measure(kernel, engine, kernel.quick if args.quick else kernel.size, repeats, library)
        results.append(r)
        native = f"{min(r.native):>10.4f}" if r.native else f"{'-':>10}"
        native_ratio = f"{r.native_ratio:>11.2f}" if r.native else f"{'-':>11}"
        print(f"{kernel.name:<10}{r.size:>12,}{min(r.ours):>11.4f}{min(r.theirs):>12.4f}{native}"
              f"{r.ratio:>13.2f}{r.median_ratio:>10.2f}{native_ratio}{r.ours_compile * 1e3:>12.1f}"
              f"{r.theirs_compile * 1e3:>13.1f}  {kernel.what}", flush=True)
    print("-" * len(header))
    print(f"geomean execution ratio (exnfuzz / wasmtime): {geomean([r.ratio for r in results]):.3f}"
          f"  (medians: {geomean([r.median_ratio for r in results]):.3f})")
    if library is not None:
        print(f"geomean execution ratio (exnfuzz / native gcc -O2): "
              f"{geomean([r.native_ratio for r in results]):.3f}; wasmtime / native: "
              f"{geomean([min(r.theirs) / min(r.native) for r in results]):.3f}")
    print(f"geomean compile-time ratio: "
          f"{geomean([r.ours_compile / r.theirs_compile for r in results]):.1f}")

if __name__ == "__main__":
    main()
