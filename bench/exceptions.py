"""Exception-handling latency of exnfuzz's JIT beside wasmtime.

    python bench/exceptions.py [--quick] [--opt-level N] [--repeats R] [CASE ...]

Every case is a loop inside wasm (``bench/kernels/exceptions_*.wat``, and a generated
chain of nested try_tables) whose iterations each throw one exception and catch it, so
the time per iteration is the cost of a throw -> catch, with no FFI in it:

* ``local``, ``depth1`` .. ``depth100``: ``throw`` in the ``try_table`` itself, or in a
  function called 1, 10 or 100 frames below it, caught by ``catch``;
* ``catch_ref``, ``catch_all``, ``catch_all_ref``: the other catch clauses (depth 1);
* ``rethrow_nested``: ``catch_ref`` then ``throw_ref`` through 10 nested try_tables of
  one function; ``rethrow_frames``: the same through one try_table in each of 10 frames;
* ``host_throw``: a Python host function called from the loop raises the exception
  (exnfuzz: ``WasmException``), a ``try_table`` around the call catches it.

Rows marked ``*`` throw nothing -- the same calls returning normally, and a plain host
call -- so they show what the calls alone cost; they stay out of the geometric mean.
``host_call_py`` is ``host_call`` with wasmtime's host function a ``wasmtime.Func``.

Both engines run the same binary -- exnfuzz through ``engine.runtime`` at
``--opt-level``, wasmtime through :func:`oracles.wasmtime_config.reference_engine` --
and must return the same checksum, or the benchmark stops.  A first short call warms
both up and sizes the case so that one wasmtime call takes some 0.3 s (0.05 s with
``--quick``); then the two engines' timed calls alternate, and each figure is the best
of them.  ``ratio`` is exnfuzz's time over wasmtime's (below 1: exnfuzz is faster).

wasmtime-py has no way for a Python host function to throw a wasm exception (its
trampoline turns any Python error into a trap), so wasmtime's host functions here are
ctypes callbacks on wasmtime's C API through wasmtime-py's bindings: ``throw`` makes
the exception with ``wasmtime_exnref_new`` and returns the trap of
``wasmtime_context_set_exception``.
"""
from __future__ import annotations

import argparse
import ctypes
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import _ffi as wasmtime_ffi

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the packages live in the repository root

from engine import runtime  # noqa: E402
from oracles.wasmtime_config import reference_engine  # noqa: E402

KERNELS_DIR = Path(__file__).resolve().parent / "kernels"
NESTED = 10
"""try_tables of the ``rethrow_nested`` chain."""
CALIBRATION = 2_000
"""Iterations of the warm-up call, which also starts sizing the case."""
MAX_ITERATIONS = 2**31 - 1   # the kernels count iterations in an i32


@dataclass(frozen=True)
class Case:
    name: str
    kernel: str      # "throw", "host" (bench/kernels/exceptions_<kernel>.wat) or "nested"
    export: str
    depth: int | None
    what: str
    throws: bool = True
    wasmtime_py_host: bool = False   # wasmtime's "pass" is a wasmtime.Func, not a C callback


CASES = (
    Case("local", "throw", "local", 0, "throw inside the try_table, catch"),
    Case("depth1", "throw", "catch", 1, "throw 1 frame down, catch"),
    Case("depth10", "throw", "catch", 10, "throw 10 frames down, catch"),
    Case("depth100", "throw", "catch", 100, "throw 100 frames down, catch"),
    Case("catch_ref", "throw", "catch_ref", 1, "throw 1 frame down, catch_ref"),
    Case("catch_all", "throw", "catch_all", 1, "throw 1 frame down, catch_all"),
    Case("catch_all_ref", "throw", "catch_all_ref", 1, "throw 1 frame down, catch_all_ref"),
    Case("rethrow_nested", "nested", "rethrow_nested", None,
         f"catch_ref + throw_ref through {NESTED} nested try_tables"),
    Case("rethrow_frames", "throw", "rethrow_frames", NESTED,
         f"catch_ref + throw_ref in each of {NESTED} frames"),
    Case("host_throw", "host", "host_throw", None,
         "Python host function throws, try_table catches"),
    Case("no_throw1", "throw", "no_throw", 1, "call 1 frame down in a try_table", throws=False),
    Case("no_throw10", "throw", "no_throw", 10, "call 10 frames down", throws=False),
    Case("no_throw100", "throw", "no_throw", 100, "call 100 frames down", throws=False),
    Case("host_call", "host", "host_call", None, "Python host function returns", throws=False),
    Case("host_call_py", "host", "host_call", None, "the same, wasmtime through wasmtime-py's Func",
         throws=False, wasmtime_py_host=True),
)

Run = Callable[[int], int]


def nested_rethrow_wat(k: int) -> str:
    """A module whose ``rethrow_nested`` loop throws from a call inside ``k`` nested
    try_tables, each catching with ``catch_ref`` and rethrowing with ``throw_ref`` to
    the next one out; the outermost ``catch`` adds the payload to the checksum."""
    opens = "".join(f"(block $h{j} (result i32 exnref) (try_table (catch_ref $e $h{j}) "
                    for j in range(k))
    closes = ") (unreachable)) (throw_ref)" * k
    return f"""(module
      (tag $e (param i32))
      (func $throw (param $x i32)  ;; $x is never -1: see $down in exceptions_throw.wat
        (if (i32.ne (local.get $x) (i32.const -1)) (then (throw $e (local.get $x)))))
      (func (export "rethrow_nested") (param $n i32) (result i64)
        (local $i i32) (local $acc i64)
        (loop $next
          (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u
            (block $caught (result i32)
              (try_table (catch $e $caught) {opens}(call $throw (local.get $i)){closes})
              (unreachable)))))
          (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                 (local.get $n))))
        (local.get $acc)))"""


@dataclass
class Instance:
    """An instance of a kernel in its own store, with the imports it was given (kept
    alive: wasmtime's host functions are ctypes callbacks that must outlive it)."""
    store: Any
    exports: Any
    imports: list[Any]

    def runner(self, case: Case) -> Run:
        func = self.exports[case.export]
        if case.depth is None:
            return lambda n: func(self.store, n)
        return lambda n: func(self.store, n, case.depth)


def wasm_of(kernel: str) -> bytes:
    if kernel == "nested":
        return wasmtime.wat2wasm(nested_rethrow_wat(NESTED))
    return wasmtime.wat2wasm((KERNELS_DIR / f"exceptions_{kernel}.wat").read_text())


# -- exnfuzz ------------------------------------------------------------------------------

def ours_host(store: runtime.Store) -> list[Any]:
    """The imports of ``exceptions_host.wat``: the tag, ``throw`` and ``pass``."""
    tag = runtime.Tag(store, runtime.FuncType((runtime.I32,), ()))

    def throw(x: int) -> None:
        raise runtime.WasmException(tag, [x])

    return [tag,
            runtime.Func(store, runtime.FuncType((runtime.I32,), ()), throw),
            runtime.Func(store, runtime.FuncType((runtime.I32,), (runtime.I32,)), lambda x: x)]


def ours_instance(engine: runtime.Engine, kernel: str, wasm: bytes) -> Instance:
    store = runtime.Store(engine)
    imports = ours_host(store) if kernel == "host" else []
    exports = runtime.Instance(store, runtime.Module(engine, wasm), imports).exports(store)
    return Instance(store, exports, imports)


# -- wasmtime -----------------------------------------------------------------------------

_FINALIZE = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda env: None)
"""The host functions' environment finalizer: their environment is null."""


def wasmtime_func(store: wasmtime.Store, ty: wasmtime.FuncType, callback: Any) -> wasmtime.Func:
    """A host function on the C API (``wasmtime_func_new``) with a ctypes ``callback``,
    which the returned ``Func`` keeps alive."""
    raw = wasmtime_ffi.wasmtime_func_t()
    wasmtime_ffi.wasmtime_func_new(store._context(), ty.ptr(), callback, None, _FINALIZE,
                                   ctypes.byref(raw))
    func = wasmtime.Func._from_raw(raw)
    func.callback = callback  # type: ignore[attr-defined]  # native code calls it
    return func


def wasmtime_host(store: wasmtime.Store, py_pass: bool) -> list[Any]:
    """The imports of ``exceptions_host.wat`` for wasmtime (see the module docstring);
    ``pass`` is a ``wasmtime.Func`` if ``py_pass``."""
    i32 = wasmtime.ValType.i32()
    tag = wasmtime.Tag(store, wasmtime.TagType(wasmtime.FuncType([i32], [])))

    @wasmtime_ffi.wasmtime_func_callback_t
    def throw(env: Any, caller: Any, params: Any, nparams: int, results: Any, nresults: int) -> int:
        context = wasmtime_ffi.wasmtime_caller_context(caller)
        field = wasmtime_ffi.wasmtime_val_t()
        field.kind = wasmtime_ffi.WASMTIME_I32
        field.of.i32 = params[0].of.i32
        exn = wasmtime_ffi.wasmtime_exnref_t()
        error = wasmtime_ffi.wasmtime_exnref_new(context, ctypes.byref(tag._tag),
                                                 ctypes.byref(field), 1, ctypes.byref(exn))
        if error:  # returning no trap makes the wasm caller reach `unreachable`
            return 0
        trap = wasmtime_ffi.wasmtime_context_set_exception(context, ctypes.byref(exn))
        wasmtime_ffi.wasmtime_exnref_unroot(ctypes.byref(exn))  # the store holds it now
        return ctypes.cast(trap, ctypes.c_void_p).value or 0

    @wasmtime_ffi.wasmtime_func_callback_t
    def pass_(env: Any, caller: Any, params: Any, nparams: int, results: Any, nresults: int) -> int:
        results[0].kind = wasmtime_ffi.WASMTIME_I32
        results[0].of.i32 = params[0].of.i32
        return 0

    pass_type = wasmtime.FuncType([i32], [i32])
    return [tag,
            wasmtime_func(store, wasmtime.FuncType([i32], []), throw),
            wasmtime.Func(store, pass_type, lambda x: x) if py_pass
            else wasmtime_func(store, pass_type, pass_)]


def wasmtime_instance(case: Case, wasm: bytes) -> Instance:
    engine = reference_engine()
    store = wasmtime.Store(engine)
    imports = wasmtime_host(store, case.wasmtime_py_host) if case.kernel == "host" else []
    exports = wasmtime.Instance(store, wasmtime.Module(engine, wasm), imports).exports(store)
    return Instance(store, exports, imports)


# -- measuring ----------------------------------------------------------------------------

@dataclass
class Result:
    case: Case
    iterations: int
    ours: float      # best seconds per iteration
    theirs: float

    @property
    def ratio(self) -> float:
        return self.ours / self.theirs


def timed(run: Run, n: int, expected: int | None, who: str, case: Case) -> tuple[float, int]:
    start = time.perf_counter()
    checksum = run(n)
    elapsed = time.perf_counter() - start
    if expected is not None and checksum != expected:
        raise SystemExit(f"{case.name}({n}): {who} returned {checksum}, wasmtime {expected}")
    return elapsed, checksum


def iterations(theirs: Run, target: float, case: Case) -> int:
    """How many iterations make one wasmtime call last about ``target`` seconds; the
    timed call must be long enough that the cost of the call itself does not count."""
    n = CALIBRATION
    elapsed, _ = timed(theirs, n, None, "wasmtime", case)
    while elapsed < target / 10 and n < MAX_ITERATIONS:
        n = min(n * 10, MAX_ITERATIONS)
        elapsed, _ = timed(theirs, n, None, "wasmtime", case)
    return max(CALIBRATION, min(int(target * n / elapsed), MAX_ITERATIONS))


def measure(case: Case, ours: Run, theirs: Run, target: float, repeats: int) -> Result:
    _, expected = timed(theirs, CALIBRATION, None, "wasmtime", case)
    timed(ours, CALIBRATION, expected, "exnfuzz", case)  # warm-up, and a first check
    n = iterations(theirs, target, case)
    _, expected = timed(theirs, n, None, "wasmtime", case)
    ours_times, theirs_times = [], []
    for _ in range(repeats):
        ours_times.append(timed(ours, n, expected, "exnfuzz", case)[0])
        theirs_times.append(timed(theirs, n, expected, "wasmtime", case)[0])
    return Result(case, n, min(ours_times) / n, min(theirs_times) / n)


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter calls, fewer repeats")
    parser.add_argument("--opt-level", type=int, default=2, choices=range(4),
                        help="exnfuzz's LLVM optimisation level (default 2)")
    parser.add_argument("--repeats", type=int, help="timed calls per engine (default 5, quick 3)")
    parser.add_argument("cases", nargs="*", metavar="CASE",
                        help=f"cases to run (default: all of {', '.join(c.name for c in CASES)})")
    args = parser.parse_args()
    unknown = set(args.cases) - {c.name for c in CASES}
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    repeats = args.repeats or (3 if args.quick else 5)
    target = 0.05 if args.quick else 0.3
    cases = [c for c in CASES if not args.cases or c.name in args.cases]
    engine = runtime.Engine(runtime.Config(opt_level=args.opt_level))
    instances: dict[tuple[str, bool], tuple[Instance, Instance]] = {}

    print(f"exnfuzz opt_level={args.opt_level}; ns per iteration, best of {repeats} timed "
          f"calls per engine; * = no exception thrown (not in the geometric mean)")
    header = (f"{'case':<16}{'iterations':>11}{'exnfuzz ns':>12}{'wasmtime ns':>13}"
              f"{'ratio':>8}  what")
    print(header)
    print("-" * len(header))
    results = []
    for case in cases:
        key = (case.kernel, case.wasmtime_py_host)
        if key not in instances:
            wasm = wasm_of(case.kernel)
            instances[key] = ours_instance(engine, case.kernel, wasm), wasmtime_instance(case, wasm)
        ours, theirs = instances[key]
        result = measure(case, ours.runner(case), theirs.runner(case), target, repeats)
        results.append(result)
        name = case.name if case.throws else f"{case.name} *"
        print(f"{name:<16}{result.iterations:>11}{result.ours * 1e9:>12.1f}"
              f"{result.theirs * 1e9:>13.1f}{result.ratio:>8.3f}  {case.what}", flush=True)
    throwing = [r.ratio for r in results if r.case.throws]
    if throwing:
        print(f"geometric mean of ratio over {len(throwing)} throwing cases: "
              f"{geomean(throwing):.3f}")
    if any(c.kernel == "host" and not c.wasmtime_py_host for c in cases):
        print("wasmtime's host functions are ctypes callbacks on its C API (wasmtime_exnref_new, "
              "wasmtime_context_set_exception): wasmtime-py's Func cannot throw")


if __name__ == "__main__":
    main()
