"""One differential test: a case run on our engine and on wasmtime, and the verdict.

Our engine runs in process (code for the host) or, given a ``target``, on an emulated
aarch64 or s390x machine (:class:`~oracles.emulated_runner.EmulatedRunner`); every
run is compared with wasmtime's by the same rules.  :func:`check_targets` runs one case
on several targets against a single wasmtime run; :func:`check_executors` on any set of
executors (:mod:`oracles.executors`), judged together (:mod:`oracles.judgement`)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from engine.compile.target import host

from .case import Case
from .compare import Verdict, compare
from .engine_runner import EngineRunner
from .executors import named
from .judgement import Judgement, judge
from .outcome import Outcome
from .runner import Session, run
from .wasmtime_runner import WasmtimeRunner

TARGETS = ("x86_64", "aarch64", "s390x")
"""What ``--target`` may name (``all``: each of them)."""
SEVERITY = {"agree": 0, "inconclusive": 1, "diverge": 2}


@dataclass(frozen=True)
class Differential:
    case: Case
    ours: Outcome
    theirs: Outcome
    verdict: Verdict
    seconds: tuple[float, float] = (0.0, 0.0)
    """Wall time of our run (decode, validate, compile, run) and of wasmtime's."""
    events: dict[str, int] = field(default_factory=dict)
    """What our engine counted as it ran (see :mod:`engine.compile.events`)."""
    name: str = "exnfuzz"
    """Which of our runs: ``exnfuzz`` in process, ``exnfuzz/ARCH`` for a named target."""
    judgement: Judgement | None = None
    """With more executors than the pair (:func:`check_executors`): the groups, the odd
    ones out and whose bug it looks like; ``ours`` and ``theirs`` are then the outcomes
    of :attr:`Judgement.pair`."""
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    """Every executor's outcome, by name, with more executors than the pair."""

    @property
    def names(self) -> tuple[str, str]:
        return self.judgement.pair if self.judgement is not None else (self.name, "wasmtime")


def runner(case: Case, target: str | None = None) -> Session:
    """Our engine's runner for ``target`` (None or the host's architecture: in process)."""
    if target is None or target == host().arch:
        return EngineRunner(case)
    from .emulated_runner import EmulatedRunner
    return EmulatedRunner(case, target)


def check(case: Case, target: str | None = None, theirs: tuple[Outcome, float] | None = None) -> Differential:
    """Run ``case`` on our engine (for ``target``, see :func:`runner`) and on wasmtime --
    unless ``theirs``, wasmtime's outcome and time, is given -- and compare (see
    :mod:`oracles.compare`), looking again at a divergence in NaN bits (see
    :func:`nan_bits_only`).  Raises :class:`~oracles.runner.RunnerError` when the case
    cannot be run as written."""
    start = time.perf_counter()
    session = runner(case, target)
    ours = run(session)
    middle = time.perf_counter()
    if theirs is None:
        outcome = run(WasmtimeRunner(case))
        theirs = outcome, time.perf_counter() - middle
    name = session.name if target is None else f"exnfuzz/{target}"
    verdict = compare(ours, theirs[0], (name, "wasmtime"))
    if verdict.kind == "diverge":
        canonical = canonical_nans(case)
        again = compare(run(runner(canonical, target)), run(WasmtimeRunner(canonical)))
        verdict = nan_bits_only(verdict) if again.kind == "agree" else verdict
    return Differential(case, ours, theirs[0], verdict, (middle - start, theirs[1]), session.events, name)


def canonical_nans(case: Case) -> Case:
    """``case`` with NaN canonicalization on every engine (``RunConfig.canonical_nans``)."""
    return replace(case, config=replace(case.config, canonical_nans=True))


def nan_bits_only(verdict: Verdict) -> Verdict:
    """The verdict on a divergence that goes away once every executor canonicalizes NaNs:
    inconclusive.  Where the spec leaves a NaN result open (the sign and payload of an
    arithmetic NaN: its ``nans``), engines differ by design -- x86's ``0/0`` is negative,
    LLVM's folded ``0/0`` positive, Pulley's results canonical where native code keeps
    the operand's payload -- and the generator makes NaN bits observable on purpose
    (``i64.reinterpret_f64``, memory).  With canonicalization on, only bugs remain."""
    return Verdict("inconclusive", f"NaN bits only: the executors agree with NaN canonicalization on; "
                                   f"{verdict.reason}")


def check_executors(case: Case, names: str | tuple[str, ...]) -> Differential:
    """Run ``case`` on every executor ``names`` lists (see :mod:`oracles.executors`) and
    judge the outcomes together (see :mod:`oracles.judgement`), looking again at a
    divergence in NaN bits (see :func:`nan_bits_only`).  ``seconds`` is the time of our
    engine's runs and of wasmtime's, each summed."""
    executors = {e.name: e for e in named(names)}
    outcomes: dict[str, Outcome] = {}
    seconds = {"exnfuzz": 0.0, "wasmtime": 0.0}
    events: dict[str, int] = {}
    for name, executor in executors.items():
        start = time.perf_counter()
        session = executor.session(case)
        outcomes[name] = run(session)
        seconds[executor.engine] += time.perf_counter() - start
        events = events or session.events
    judgement = judge(outcomes, executors)
    if judgement.verdict.kind == "diverge":
        canonical = canonical_nans(case)
        again = judge({name: run(e.session(canonical)) for name, e in executors.items()}, executors)
        if again.verdict.kind == "agree":
            judgement = replace(judgement, suspect="", verdict=nan_bits_only(judgement.verdict))
    ours, theirs = judgement.pair
    return Differential(case, outcomes[ours], outcomes[theirs], judgement.verdict,
                        (seconds["exnfuzz"], seconds["wasmtime"]), events, ours, judgement, outcomes)


def check_targets(case: Case, targets: tuple[str, ...] = TARGETS) -> list[Differential]:
    """``case`` on our engine for each of ``targets``, each compared with one wasmtime run."""
    start = time.perf_counter()
    theirs = run(WasmtimeRunner(case))
    seconds = time.perf_counter() - start
    return [check(case, target, (theirs, seconds)) for target in targets]


def worst(verdicts: list[Verdict]) -> Verdict:
    """The most severe of ``verdicts`` (diverge, then inconclusive, then agree)."""
    return max(verdicts, key=lambda v: SEVERITY[v.kind])
