"""The main fuzz target: Wasm exception handling, exnfuzz against wasmtime.

Each input drives the structured generator (:mod:`generators`): the bytes are the
generator's decisions, so libFuzzer's coverage feedback steers which modules get
made.  Every generated case -- a valid, terminating module with nested ``try_table``,
``throw``/``throw_ref``, exnref flows and host crossings, its host plan and its
invocations -- runs on exnfuzz and on wasmtime, and the oracle compares the outcomes
(:mod:`oracles.compare`).

- What ran -- catches by clause kind, label kind and depth, tail calls, traps, host
  events, collections -- is fed back to libFuzzer as coverage
  (:mod:`fuzz_targets.feedback`), so inputs that make a rare event happen are kept.
- ``agree``: fine.  ``inconclusive`` (a stack or time limit): counted, not a crash.
- An input whose case this process has already checked is a *repeat*: a third of
  libFuzzer's mutations change nothing the generator reads, and both engines are
  deterministic, so repeats are counted and skipped, not run again.  Many others change
  only what the generator draws after the modules; exnfuzz reuses the modules it
  compiled for recent cases (:class:`~oracles.engine_runner.CompiledModules`), and the
  summary says how many were compiled and how many reused.
- ``diverge``: the target stops with a readable report (the module's text, the host
  plan, both outcomes side by side, the reason) and writes the case file next to
  libFuzzer's crash artifact (``<artifact_prefix>crash-<sha1>.case.json``, replay it
  with ``python -m oracles run``).
- A run that raises an unexpected error (our runtime reading a slot an engine bug
  left wrong, say) stops the target like a divergence, with the case file.
- A generated case that either engine rejects, or that cannot run as written, is a
  generator bug and stops the target too.
- A native crash (a planted fault or an engine bug reading a freed exception object)
  kills the process; libFuzzer saves the input as ``crash-<sha1>``.  Before each run
  the case is written to ``.in-progress-<pid>.json`` in the artifact folder
  (:mod:`oracles.inprogress`, 0.02 ms a run), and the target's next start (or
  ``python -m oracles triage``) keeps it beside the crash as ``crash-<sha1>.case.json``.
- With ``EXNFUZZ_REDUCE=SECONDS`` each finding's case is also reduced
  (``python -m oracles reduce``, for at most that long) to ``crash-<sha1>.min.json``.

    python fuzz_targets/exceptions.py [--executors=NAMES] [--full-set=SHARE]
                                      [--emulated=SHARE] [--emulated-targets=ARCH,...]
                                      [libFuzzer flags] [corpus dirs]

``--executors=NAMES`` judges every case on those executors (see
:mod:`oracles.executors`; default: ``exnfuzz,wasmtime``, the pair) and names the odd one
out; ``--full-set=SHARE`` runs the full set -- exnfuzz at opt 0, 1 and 2, wasmtime's
Cranelift at ``speed`` and ``none``, and Pulley -- on that share of the cases (by
digest).  A divergence among wasmtime's own executors, with ours siding with one of
them, is reported as a suspected wasmtime bug with the command that shows it with
wasmtime alone.

``--emulated=SHARE`` also runs that share of the cases (0 to 1, chosen by the case's
digest, so a replay makes the same choice) on exnfuzz's code for an emulated target
(``aarch64`` or ``s390x`` under qemu-user, one per case, also chosen by digest;
``--emulated-targets`` narrows the choice) and compares that run with the same wasmtime
outcome.  An emulated run costs a few times an in-process one (see the README's
figures); a divergence there is reported like any other, naming the target.

Run bare, it fuzzes for two minutes with ``corpus/exceptions`` as seeds and inputs of
up to 4 KiB (new inputs go to ``runs/exceptions/corpus``, crashes to
``runs/exceptions/``) and prints a summary.  Any libFuzzer flag works: ``-runs``,
``-max_total_time``, ``-atheris_runs``, ``-artifact_prefix``, ``-dict``, ``-fork``
(the children are this script run by the same interpreter); flags and directories
given keep the other defaults (input length, seeds, artifact folder), and missing
directories are created; a file argument replays that input.
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import json
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

INSTRUMENTED = "engine,-engine.binary,-engine.valid,-engine.compile.irtext,-engine.syntax"
"""The packages whose code is instrumented for coverage, unless ``EXNFUZZ_INSTRUMENT``
names others (comma-separated; empty: none, the run-time feedback counters only; an
entry ``-NAME`` leaves out a module, or every module of a package).

The engine, without its decoder, validator, IR text writer and syntax classes, was the
best trade measured (``bench/instrumentation.py``, 10 minutes a run, two runs at a time,
2026-12-01; ft of each corpus under the engine's instrumentation).  The decoder and
validator only ever see valid generated modules, whose branches the translator's
already tell apart, and tracing their byte-level comparisons cost the most: without
them 36.6 execs/s and ft 9651 against the whole engine's 30.8/s and ft 9678; also
without the text writer and syntax classes, 39.7/s and ft 9654 against 37.9/s and ft
9671.  No instrumented package at all (the run-time feedback counters only) ran at
30.2/s beside 24.1/s but reached ft 8449 against 9673; the oracles and generators
added nothing worth their cost in an earlier study."""


def instrumentation(choice: str) -> tuple[list[str], list[str]]:
    """The packages to instrument and the modules to leave out, for an
    ``EXNFUZZ_INSTRUMENT`` value."""
    entries = [e for e in choice.split(",") if e]
    left_out = []
    for entry in (e[1:] for e in entries if e.startswith("-")):
        folder = ROOT.joinpath(*entry.split("."))
        left_out += [entry] + [".".join((entry, *path.relative_to(folder).with_suffix("").parts))
                               .removesuffix(".__init__") for path in folder.rglob("*.py")]
    return [e for e in entries if not e.startswith("-")], sorted(set(left_out))


if __name__ == "__main__":
    # Instrument before anything imports these, so libFuzzer sees their branches.
    # atheris reports each module it instruments; one line says as much.
    packages, left_out = instrumentation(os.environ.get("EXNFUZZ_INSTRUMENT", INSTRUMENTED))
    log = io.StringIO()
    hook = atheris.instrument_imports(include=packages, exclude=left_out) if packages else contextlib.nullcontext()
    with contextlib.redirect_stderr(log), hook:
        import engine.runtime  # noqa: F401
        import generators  # noqa: F401
        import oracles.differential  # noqa: F401
    print(f"INFO: instrumented {log.getvalue().count('INFO: Instrumenting ')} modules of "
          f"{', '.join(packages) or 'no package'}" + (f" ({len(left_out)} left out)" if left_out else ""),
          file=sys.stderr)

from engine.compile import faults  # noqa: E402
from engine.emulated import TargetCrashed  # noqa: E402
from fuzz_targets import feedback  # noqa: E402
from fuzz_targets._common import Defaults, run_fuzzer  # noqa: E402
from generators import Choices, generate_case  # noqa: E402
from oracles import report  # noqa: E402
from oracles import inprogress  # noqa: E402
from oracles.case import Case, modules_text, save  # noqa: E402
from oracles import executors  # noqa: E402
from oracles.differential import Differential, check, check_executors  # noqa: E402
from oracles.engine_runner import COMPILED  # noqa: E402
from oracles.runner import RunnerError  # noqa: E402
from oracles.observed import observed  # noqa: E402
from oracles.outcome import Rejected  # noqa: E402

RUN_DIR = ROOT / "runs" / "exceptions"
# Inputs up to 4 KiB from the start: the generator stops when the input runs out, so
# libFuzzer's slow growth of input lengths would keep early modules small.
DEFAULTS = Defaults(flags=("-len_control=0", "-max_len=4096", f"-artifact_prefix={RUN_DIR}/"),
                    bare_flags=("-max_total_time=120",), corpus=str(RUN_DIR / "corpus"),
                    seeds=(str(ROOT / "corpus" / "exceptions"),))


class Divergence(Exception):
    """exnfuzz and wasmtime disagree on a case; the message is the full report."""


class GeneratorBug(Exception):
    """The generator made a case that is not valid or cannot run as written."""


class RunFailure(Exception):
    """Running a case raised an unexpected error -- our runtime reading a slot an engine
    bug left wrong, say: a finding, reported like a divergence."""


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    execs: int = 0
    repeats: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: {"agree": 0, "inconclusive": 0, "diverge": 0})
    seconds: dict[str, float] = field(default_factory=lambda: {"generate": 0.0, "exnfuzz": 0.0, "wasmtime": 0.0})
    emulated: dict[str, int] = field(default_factory=dict)
    """Cases also run on each emulated target."""
    executors: dict[str, int] = field(default_factory=dict)
    """Cases each executor ran, beyond the default pair's."""

    def record(self, result: Differential, generate: float) -> None:
        self.execs += 1
        self.verdicts[result.verdict.kind] += 1
        self.seconds["generate"] += generate
        self.seconds["exnfuzz"] += result.seconds[0]
        self.seconds["wasmtime"] += result.seconds[1]

    def record_emulated(self, result: Differential) -> None:
        self.emulated[result.name] = self.emulated.get(result.name, 0) + 1
        self.seconds["emulated"] = self.seconds.get("emulated", 0.0) + result.seconds[0]

    def summary(self) -> str:
        """The one-line summary; with ``EXNFUZZ_STATS=DIR`` also written to
        ``DIR/stats-<pid>.json`` (``-fork`` children's output is not kept)."""
        folder = os.environ.get(STATS_ENV)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            (Path(folder) / f"stats-{os.getpid()}.json").write_text(json.dumps({
                "execs": self.execs, "repeats": self.repeats, "verdicts": self.verdicts,
                "executors": self.executors, "emulated": self.emulated, "seconds": self.seconds}))
        elapsed = max(time.monotonic() - self.started, 1e-9)
        busy = sum(self.seconds.values()) or 1e-9
        split = ", ".join(f"{name} {100 * s / busy:.0f}%" for name, s in self.seconds.items())
        counts = ", ".join(f"{n} {kind}" for kind, n in self.verdicts.items())
        emulated = "".join(f"; {n} also on {name}" for name, n in self.emulated.items())
        emulated += "".join(f"; {n} on {name}" for name, n in self.executors.items())
        return (f"exceptions: {self.execs} differential execs in {elapsed:.0f} s "
                f"({self.execs / elapsed:.1f}/s): {counts}; {self.repeats} repeats skipped{emulated}; "
                f"modules: {COMPILED.misses} compiled, {COMPILED.hits} reused; time: {split}")


@dataclass
class Emulation:
    """Which cases also run on an emulated target (see the module docstring)."""
    share: float = 0.0
    targets: tuple[str, ...] = ("aarch64", "s390x")

    def target(self, digest: bytes) -> str | None:
        """The target the case of ``digest`` also runs on, if any."""
        if self.share <= 0 or int.from_bytes(digest[:4], "big") >= self.share * (1 << 32):
            return None
        return self.targets[digest[4] % len(self.targets)]


EMULATION = Emulation()
EMULATION_ENV = "EXNFUZZ_EMULATED"


@dataclass
class Executors:
    """Which executors judge a case (see the module docstring): ``names`` for every case,
    and the full set (:data:`oracles.executors.FULL`) for a ``full_share`` of them."""
    names: tuple[str, ...] = executors.DEFAULT
    full_share: float = 0.0

    def for_case(self, digest: bytes) -> tuple[str, ...]:
        if self.full_share > 0 and int.from_bytes(digest[5:9], "big") < self.full_share * (1 << 32):
            return executors.FULL
        return self.names


EXECUTORS = Executors()
EXECUTORS_ENV = "EXNFUZZ_EXECUTORS"


STATS = Stats()
STATS_ENV = "EXNFUZZ_STATS"
CHECKED: set[bytes] = set()
"""Digests of the cases this process has checked (a campaign's worth is some MB)."""
MAX_CHECKED = 1 << 20


def artifact_prefix(argv: list[str]) -> Path:
    for arg in argv:
        if arg.startswith("-artifact_prefix="):
            return Path(arg.split("=", 1)[1])
    return Path("./")


def case_from_input(data: bytes) -> Case:
    return generate_case(Choices.from_data(data))


def case_digest(case: Case) -> bytes:
    """What identifies a case's run: its module, host plan, invocations and config, and
    the engine faults planted (tests plant them mid-process; they change the outcome)."""
    return hashlib.sha1(repr((case, sorted(faults.active))).encode()).digest()


def check_input(data: bytes) -> Differential:
    """Generate the case ``data`` describes, run it on both engines and compare."""
    start = time.perf_counter()
    case = case_from_input(data)
    return check_case(case, time.perf_counter() - start)


def check_case(case: Case, generated: float, names: tuple[str, ...] = executors.DEFAULT) -> Differential:
    """Run ``case`` (which took ``generated`` seconds to make) on the executors ``names``
    (the default pair: both engines) and compare."""
    try:
        result = check(case) if names == executors.DEFAULT else check_executors(case, names)
    except RunnerError as e:
        raise GeneratorBug(f"the generated case cannot run: {e!r}\n\n{modules_text(case)}") from e
    except Exception as e:
        raise RunFailure(f"running the case raised {e!r}\n\n{traceback.format_exc()}") from e
    if isinstance(result.ours.instantiate.result, Rejected) and isinstance(result.theirs.instantiate.result,
                                                                           Rejected):
        raise GeneratorBug(f"both engines reject a generated module: {result.ours.instantiate.result}")
    STATS.record(result, generated)
    if names != executors.DEFAULT:
        for name in names:
            STATS.executors[name] = STATS.executors.get(name, 0) + 1
    return result


REDUCE = "EXNFUZZ_REDUCE"
"""Environment variable: seconds to spend reducing each finding (unset: no reduction)."""


def keep_finding(case: Case, data: bytes, executors: str | None = None) -> Path:
    """Write a finding's case file beside libFuzzer's artifact (and its reduced form,
    on ``executors`` -- default: the pair -- when ``EXNFUZZ_REDUCE`` says so); the case
    file's path."""
    path = save(case, artifact_prefix(sys.argv) / f"crash-{hashlib.sha1(data).hexdigest()}.case.json")
    seconds = os.environ.get(REDUCE)
    if seconds:
        # A child process: the reducer runs candidates that may crash, with the same
        # planted faults (the environment is inherited).
        on = ["--executors", executors] if executors else []
        subprocess.run([sys.executable, "-m", "oracles", "reduce", str(path), "--quiet", "--time-limit", seconds,
                        *on, "--out", str(min_path(path))],
                       cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    return path


def min_path(path: Path) -> Path:
    """Where a finding's reduced case goes."""
    return path.with_name(path.name.replace(".case.json", ".min.json"))


def check_emulated(result: Differential, target: str) -> Differential:
    """``result``'s case on exnfuzz's code for the emulated ``target``, compared with the
    wasmtime outcome ``result`` already has."""
    try:
        emulated = check(result.case, target, (result.theirs, 0.0))
    except TargetCrashed as e:    # the crash met the runner outside a step
        raise Divergence(f"exnfuzz/{target} crashed: {e}\n\n{modules_text(result.case)}") from e
    except Exception as e:
        raise RunFailure(f"running the case on {target} raised {e!r}\n\n{traceback.format_exc()}") from e
    STATS.record_emulated(emulated)
    return emulated


def diverged(data: bytes, result: Differential) -> None:
    """Keep the case of a divergence beside libFuzzer's artifacts (reduced on the
    executors that showed it, with ``EXNFUZZ_REDUCE``) and stop; a divergence among
    wasmtime's own executors that ours sides with is a suspected wasmtime bug, reduced
    on wasmtime's executors alone and reported with the commands that show it there."""
    judgement = result.judgement
    ran = None if judgement is None else ",".join(result.outcomes)
    alone = ""
    if judgement is not None and judgement.suspect == "wasmtime":
        alone = ran = ",".join(n for g in judgement.groups for n in g if executors.EXECUTORS[n].engine == "wasmtime")
    path = keep_finding(result.case, data, ran)
    suspect = ""
    if alone:
        reduced = min_path(path)
        suspect = (f"SUSPECTED WASMTIME BUG: {', '.join(judgement.odd)} against the others, exnfuzz siding with "
                   f"the majority; with wasmtime alone: python -m oracles run {path} --executors {alone}\n"
                   + (f"reduced: {reduced}\n" if reduced.exists() else
                      f"reduce: python -m oracles reduce {path} --executors {alone} --out {reduced}\n"))
    raise Divergence(f"{suspect}{result.verdict}\n\n{report.full(result)}\ncase file: {path}")


def test_one_input(data: bytes) -> None:
    start = time.perf_counter()
    case = case_from_input(data)
    generated = time.perf_counter() - start
    digest = case_digest(case)
    if digest in CHECKED:
        STATS.repeats += 1
        return
    inprogress.write(artifact_prefix(sys.argv), hashlib.sha1(data).hexdigest(), case)
    try:
        result = check_case(case, generated, EXECUTORS.for_case(digest))
    except RunFailure as failure:
        raise RunFailure(f"{failure}\ncase file: {keep_finding(case, data)}") from failure
    feedback.record(observed(result.ours, result.events))
    if STATS.execs == 1:
        # What the first case set up (engines, caches, trampolines) lives as long as the
        # process: out of the collector's way, every later collection is cheaper (~5%).
        gc.freeze()
    if result.verdict.kind == "diverge":
        diverged(data, result)
    target = EMULATION.target(digest)
    if target is not None:
        emulated = check_emulated(result, target)
        if emulated.verdict.kind == "diverge":
            diverged(data, emulated)
    if len(CHECKED) >= MAX_CHECKED:
        CHECKED.clear()
    CHECKED.add(digest)


def take_emulation_flags(argv: list[str]) -> list[str]:
    """Set :data:`EMULATION` from ``--emulated=SHARE`` and ``--emulated-targets=A,B`` in
    ``argv`` and return the other arguments (libFuzzer's); fails at once when a target
    cannot be emulated here."""
    rest = []
    # -fork/-jobs children get libFuzzer's flags only: they find these in the environment.
    inherited = os.environ.get(EMULATION_ENV, "").split()
    for arg in [*inherited, *argv]:
        flag, _, value = arg.partition("=")
        if flag == "--emulated":
            EMULATION.share = float(value)
        elif flag == "--emulated-targets":
            EMULATION.targets = tuple(value.split(","))
        else:
            rest.append(arg)
    os.environ[EMULATION_ENV] = f"--emulated={EMULATION.share} --emulated-targets={','.join(EMULATION.targets)}"
    if EMULATION.share > 0:
        from engine.emulated import emulator
        for target in EMULATION.targets:
            emulator(target)      # raises EmulationUnavailable, naming what is missing
    return rest


def take_executor_flags(argv: list[str]) -> list[str]:
    """Set :data:`EXECUTORS` from ``--executors=NAMES`` and ``--full-set=SHARE`` in
    ``argv`` and return the other arguments; ``-fork`` children find them in the
    environment."""
    rest = []
    for arg in [*os.environ.get(EXECUTORS_ENV, "").split(), *argv]:
        flag, _, value = arg.partition("=")
        if flag == "--executors":
            EXECUTORS.names = tuple(e.name for e in executors.named(value))
        elif flag == "--full-set":
            EXECUTORS.full_share = float(value)
        else:
            rest.append(arg)
    os.environ[EXECUTORS_ENV] = f"--executors={','.join(EXECUTORS.names)} --full-set={EXECUTORS.full_share}"
    return rest


def main() -> None:
    planted = faults.plant_from_environment()
    if planted:
        print(f"exceptions: engine faults planted: {', '.join(sorted(planted))}", flush=True)
    sys.argv = take_executor_flags(take_emulation_flags(sys.argv))
    folder = artifact_prefix(DEFAULTS.apply(sys.argv[1:]))
    folder.mkdir(parents=True, exist_ok=True)
    for path in inprogress.adopt(folder):
        print(f"exceptions: the case of an earlier crash: {path}", flush=True)
    STATS.started = time.monotonic()
    feedback.reserve()
    run_fuzzer(test_one_input, STATS.summary, DEFAULTS)


if __name__ == "__main__":
    main()
