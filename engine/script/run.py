"""Running ``.wast`` scripts against the engine.

Each command gets a :class:`Verdict`: passed, failed or skipped (with a reason).
What the runner can check depends on what the engine can do (:class:`Engine`):
today that is decoding and validating, so module definitions and the
``assert_invalid`` / ``assert_malformed`` / ``assert_unlinkable`` /
``assert_uninstantiable`` modules are checked, and commands that execute code are
skipped.  An engine that can instantiate and invoke (the JIT, issue 3) sets
:attr:`Engine.executes` and adds those operations to the protocol; the runner then
executes :data:`~.wast.RUNTIME_COMMANDS` instead of skipping them.
"""
from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple, Protocol

from ..binary.decode import decode_module
from ..errors import DecodeError, TextError, UnsupportedFeature, ValidationError
from ..syntax.module import Module
from ..valid import validate_module
from .wast import (RUNTIME_COMMANDS, AssertModule, Command, ModuleCommand, ModuleSource,
                   Unsupported, parse_file, wast_files)

RUNTIME_REASON = "runtime assertions need the JIT (issue 3)"
WAT2WASM_ACCEPTS = "wat2wasm accepts text that the spec calls malformed"


class Engine(Protocol):
    """What the engine under test can do, as far as the script runner needs it."""

    executes: bool
    """Whether the engine can instantiate modules and invoke their exports."""

    def load(self, data: bytes) -> Module:
        """Decode and validate; raise :class:`DecodeError` or :class:`ValidationError`."""


class StaticEngine:
    """The decoder and validator: checks modules, runs no code."""

    executes = False

    def load(self, data: bytes) -> Module:
        module = decode_module(data)
        validate_module(module)
        return module


class Status(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class Verdict(NamedTuple):
    status: Status
    detail: str = ""
    """Why it failed or was skipped."""
    note: str | None = None
    """An informational fact counted in the report (e.g. whether an error message matched)."""


@dataclass
class Tally:
    """Verdict counts for one file or a whole run."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    skips: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    details: list[str] = field(default_factory=list)
    """``file:line`` of each noted command, with its note."""

    def record(self, where: str, verdict: Verdict) -> None:
        if verdict.status is Status.PASSED:
            self.passed += 1
        elif verdict.status is Status.FAILED:
            self.failed += 1
            self.failures.append(f"{where}: {verdict.detail}")
        else:
            self.skipped += 1
            self.skips[verdict.detail] += 1
        if verdict.note:
            self.notes[verdict.note] += 1
        if verdict.note and verdict.detail:
            self.details.append(f"{where}: {verdict.note}: {verdict.detail}")

    def add(self, other: Tally) -> None:
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        self.failures += other.failures
        self.skips += other.skips
        self.notes += other.notes
        self.details += other.details

    def counts(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


def _skip(reason: str, note: str | None = None) -> Verdict:
    return Verdict(Status.SKIPPED, reason, note)


def _fail(detail: str) -> Verdict:
    return Verdict(Status.FAILED, detail)


def _pass(note: str | None = None, detail: str = "") -> Verdict:
    return Verdict(Status.PASSED, detail, note)


class Runner:
    """Runs scripts command by command against ``engine``.

    ``reference(data)`` says whether the reference engine (wasmtime, configured
    with our feature set) accepts a binary; it decides whether a module we reject as
    :class:`UnsupportedFeature` is really outside the feature set (a skip) or one we
    wrongly reject (a failure).  Without it such modules are failures.
    """

    def __init__(self, engine: Engine | None = None,
                 reference: Callable[[bytes], bool] | None = None) -> None:
        self.engine = engine or StaticEngine()
        self.reference = reference

    def run_file(self, path: Path) -> Tally:
        tally = Tally()
        try:
            commands = parse_file(path)
        except (TextError, OSError) as e:
            tally.record(f"{path}:0", _fail(f"cannot read script: {e}"))
            return tally
        for command in commands:
            tally.record(f"{path}:{command.line}", self.run_command(command))
        return tally

    def run_command(self, command: Command) -> Verdict:
        if isinstance(command, ModuleCommand):
            return self.check_module("valid", command.source)
        if isinstance(command, AssertModule):
            return self.check_module(command.kind, command.module, command.message)
        if isinstance(command, Unsupported):
            return _skip(f"{command.head}: {command.reason}")
        if isinstance(command, RUNTIME_COMMANDS) and not self.engine.executes:
            return _skip(RUNTIME_REASON)
        return _skip(f"no handler for {type(command).__name__}")

    def check_module(self, expected: str, source: ModuleSource, message: str = "") -> Verdict:
        """Check that ``source`` gets the verdict ``expected``: ``"valid"``,
        ``"invalid"``, ``"malformed"``; ``"unlinkable"`` and ``"uninstantiable"``
        modules must be valid (linking and instantiating need the runtime)."""
        try:
            data = source.wasm()
        except TextError as e:
            if expected == "malformed":
                return _pass("malformed: passed by wat2wasm")
            return _skip(f"wat2wasm rejects the text: {e}")
        try:
            self.engine.load(data)
        except UnsupportedFeature as e:
            if expected == "malformed":
                return _pass("malformed: rejected as unsupported feature", str(e))
            return self._unsupported(data, e)
        except DecodeError as e:
            if expected == "malformed":
                return _message_verdict(expected, message, e)
            return _fail(f"expected {expected} ({message or 'valid'}), "
                         f"decoder says malformed: {e}")
        except ValidationError as e:
            if expected == "invalid":
                return _message_verdict(expected, message, e)
            if expected == "malformed" and source.form != "binary":
                return _skip(WAT2WASM_ACCEPTS)
            return _fail(f"expected {expected} ({message or 'valid'}), "
                         f"validator says invalid: {e}")
        if expected == "malformed" and source.form != "binary":
            return _skip(WAT2WASM_ACCEPTS)
        if expected in ("invalid", "malformed"):
            return _fail(f"expected {expected} ({message}), but the module is accepted")
        return _pass()

    def _unsupported(self, data: bytes, error: UnsupportedFeature) -> Verdict:
        if self.reference is not None and not self.reference(data):
            reason = error.message
            return _skip(reason if reason.startswith("unsupported feature")
                         else f"unsupported feature {reason}")
        return _fail(f"rejected as unsupported feature ({error}), "
                     f"but {'wasmtime accepts it' if self.reference else 'no reference to confirm'}")


def _message_verdict(expected: str, message: str, error: DecodeError | ValidationError) -> Verdict:
    """A pass, noting whether our message starts with the one the script expects."""
    if error.message.startswith(message):
        return _pass(f"{expected}: message matches")
    return _pass(f"{expected}: message differs",
                 f"expected {message!r}, ours {error.message!r}")


def run_paths(paths: list[str | Path], runner: Runner) -> dict[Path, Tally]:
    """Run every ``.wast`` file under ``paths``; one :class:`Tally` per file, in order."""
    return {file: runner.run_file(file) for file in wast_files(paths)}


def report(results: dict[Path, Tally], verbose: int = 0) -> tuple[list[str], Tally]:
    """The report lines and the total: a line per file, the failures, then (verbose)
    skip reasons and notes with counts, (very verbose) each noted command with its
    details; last the totals."""
    total = Tally()
    lines = []
    for file, tally in results.items():
        lines.append(f"{file}: {tally.counts()}")
        total.add(tally)
    if total.failures:
        lines.append(f"failures ({len(total.failures)}):")
        lines += [f"  {f}" for f in total.failures]
    if verbose:
        if total.skips:
            lines.append("skipped:")
            lines += [f"  {n:6d}  {reason}" for reason, n in total.skips.most_common()]
        if total.notes:
            lines.append("notes:")
            lines += [f"  {n:6d}  {note}" for note, n in sorted(total.notes.items())]
        if verbose > 1:
            lines += [f"  {d}" for d in total.details]
    lines.append(total.counts())
    return lines, total
