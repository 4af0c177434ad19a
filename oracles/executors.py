"""Executors: a runner plus its configuration, under a name.

Each executor runs the whole case -- every instance, the host plan (one definition for
all, :mod:`oracles.host`), every invocation -- and reports an
:class:`~oracles.outcome.Outcome`; :mod:`oracles.judgement` compares them all.  As
wasmtime's ``crates/fuzzing`` adapters (``diff_wasmtime.rs``, ``diff_v8.rs``...) each
say, here is what each one runs and what it leaves out of the comparison:

==================  ===================================================================
``exnfuzz``         our engine in process at the case's own ``opt_level``
                    (:class:`~oracles.engine_runner.EngineRunner`): LLVM code for x86-64.
``exnfuzz-O0``,     the same at ``opt_level`` 0 (no IR optimisation, fast instruction
``-O1``, ``-O2``    selection), 1 (LLVM's function simplification, inlining of small
                    leaves) or 2 (also machine-code optimisation): different LLVM paths
                    over the same IR, where an optimisation can fold away or expose
                    what the lowering got wrong.
``exnfuzz/aarch64``,  our engine's code for that target under qemu-user
``exnfuzz/s390x``   (:class:`~oracles.emulated_runner.EmulatedRunner`); s390x is
                    big-endian.
``wasmtime``        the reference: wasmtime with Cranelift at ``speed``
                    (:class:`~oracles.wasmtime_runner.WasmtimeRunner`).
``wasmtime-none``   Cranelift at ``none``: no mid-end optimisation.
``wasmtime-pulley`` Pulley, wasmtime's portable interpreter (``Config.target =
                    "pulley64"``): no native code at all.
==================  ===================================================================

What no executor's outcome is judged on, by the outcome model's own rules
(:mod:`oracles.outcome`, :mod:`oracles.compare`): NaN bits (every NaN equals every
NaN; and where a case makes them observable -- ``i64.reinterpret_f64``, memory -- a
divergence that NaN canonicalization on every executor takes away is inconclusive:
Pulley's arithmetic NaNs are canonical where native code keeps the operand's payload,
x86's ``0/0`` is negative where LLVM's folded ``0/0`` is positive, all as the spec
allows; see :func:`oracles.differential.nan_bits_only`), the identity of funcref and externref values, the depth at which a stack runs
out and anything after it (``stack_overflow`` is inconclusive), and anything after a
case's timeout (``interrupt``).  Each runner documents what it does on its side: how
exnrefs are held, rooted and numbered, how host functions are bound.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from .case import Case
from .runner import Session

EXNFUZZ = "exnfuzz"
REFERENCE = "wasmtime"
DEFAULT = (EXNFUZZ, REFERENCE)
"""Today's pair: our engine at the case's level against the reference."""
FULL = ("exnfuzz-O0", "exnfuzz-O1", "exnfuzz-O2", REFERENCE, "wasmtime-none", "wasmtime-pulley")
"""The full set in process: every level of ours, every strategy of wasmtime."""
EMULATED = ("exnfuzz/aarch64", "exnfuzz/s390x")
PULLEY = "wasmtime-pulley"


@dataclass(frozen=True)
class Executor:
    name: str
    engine: str
    """``exnfuzz`` or ``wasmtime``: whose code runs."""
    make: Callable[[Case], Session]

    def session(self, case: Case) -> Session:
        session = self.make(case)
        session.name = self.name
        return session


def _exnfuzz(level: int | None) -> Callable[[Case], Session]:
    def make(case: Case) -> Session:
        from .engine_runner import EngineRunner
        if level is None:
            return EngineRunner(case)
        return EngineRunner(replace(case, config=replace(case.config, opt_level=level)))
    return make


def _emulated(arch: str) -> Callable[[Case], Session]:
    def make(case: Case) -> Session:
        from .emulated_runner import EmulatedRunner
        return EmulatedRunner(case, arch)
    return make


def _wasmtime(strategy: str) -> Callable[[Case], Session]:
    def make(case: Case) -> Session:
        from .wasmtime_runner import WasmtimeRunner
        return WasmtimeRunner(case, strategy)
    return make


EXECUTORS: dict[str, Executor] = {
    EXNFUZZ: Executor(EXNFUZZ, "exnfuzz", _exnfuzz(None)),
    **{f"exnfuzz-O{level}": Executor(f"exnfuzz-O{level}", "exnfuzz", _exnfuzz(level)) for level in (0, 1, 2)},
    **{name: Executor(name, "exnfuzz", _emulated(name.split("/")[1])) for name in EMULATED},
    REFERENCE: Executor(REFERENCE, "wasmtime", _wasmtime("speed")),
    "wasmtime-none": Executor("wasmtime-none", "wasmtime", _wasmtime("none")),
    PULLEY: Executor(PULLEY, "wasmtime", _wasmtime("pulley")),
}


def named(names: str | tuple[str, ...]) -> tuple[Executor, ...]:
    """The executors ``names`` lists (comma-separated, or ``full``), the reference
    among them -- it breaks ties."""
    if isinstance(names, str):
        names = FULL if names == "full" else tuple(n.strip() for n in names.split(",") if n.strip())
    unknown = [n for n in names if n not in EXECUTORS]
    if unknown:
        raise ValueError(f"unknown executors {unknown}; known: {', '.join(EXECUTORS)} (or full)")
    if len(set(names)) < 2:
        raise ValueError(f"a comparison needs two executors or more, not {list(names)}")
    return tuple(EXECUTORS[n] for n in dict.fromkeys(names))


__all__ = ["DEFAULT", "EMULATED", "EXECUTORS", "EXNFUZZ", "Executor", "FULL", "PULLEY", "REFERENCE", "named"]
