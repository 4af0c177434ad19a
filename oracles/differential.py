"""One differential test: a case run on our engine and on wasmtime, and the verdict."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from .case import Case
from .compare import Verdict, compare
from .engine_runner import EngineRunner
from .outcome import Outcome
from .runner import run
from .wasmtime_runner import WasmtimeRunner


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


def check(case: Case) -> Differential:
    """Run ``case`` on both engines and compare (see :mod:`oracles.compare`).  Raises
    :class:`~oracles.runner.RunnerError` when the case cannot be run as written."""
    start = time.perf_counter()
    session = EngineRunner(case)
    ours = run(session)
    middle = time.perf_counter()
    theirs = run(WasmtimeRunner(case))
    end = time.perf_counter()
    return Differential(case, ours, theirs, compare(ours, theirs), (middle - start, end - middle), session.events)
