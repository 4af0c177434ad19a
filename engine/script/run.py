"""Running ``.wast`` scripts against the engine.

Each command gets a :class:`Verdict`: passed, failed or skipped (with a reason).
What the runner can check depends on what the engine can do (:class:`Engine`).
The static engine decodes and validates: module definitions and the
``assert_invalid`` / ``assert_malformed`` / ``assert_unlinkable`` /
``assert_uninstantiable`` modules are checked, and commands that execute code are
skipped.  An executing engine (:class:`~.exec.JitEngine`) also opens a
:class:`~.exec.Session` per script: modules are compiled and instantiated, linking
and instantiation failures are checked, and :data:`~.wast.RUNTIME_COMMANDS` run.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..binary.decode import decode_module
from ..errors import (DecodeError, LinkError, TextError, Trap, TrapCode, UnsupportedFeature,
                      ValidationError, WasmError)
from ..syntax.module import Module
from ..valid import validate_module
from .exec import ScriptError, Session, Unavailable
from .match import result_mismatch, show_all, trap_matches
from .verdict import Status, Verdict
from .verdict import failed as _fail
from .verdict import passed as _pass
from .verdict import skipped as _skip
from .wast import (RUNTIME_COMMANDS, ActionCommand, AssertException, AssertExhaustion,
                   AssertModule, AssertReturn, AssertTrap, Command, InstanceCommand, ModuleCommand,
                   ModuleSource, Register, Unsupported, parse_file, wast_files)

FeatureProbe = Callable[[bytes, Callable[[str | None], bool]], tuple[str, ...] | None]
"""``(data, wanted) -> features``: the features outside our set that make wasmtime's
verdict on ``data`` (None: accepted, else its message) one that ``wanted`` accepts."""

RUNTIME_REASON = "runtime assertions need an executing engine (not --static)"
WAT2WASM_ACCEPTS = "wat2wasm accepts text that the spec calls malformed"


class Engine(Protocol):
    """What the engine under test can do, as far as the script runner needs it."""

    executes: bool
    """Whether the engine can instantiate modules and invoke their exports."""

    def load(self, data: bytes) -> Module:
        """Decode and validate; raise :class:`DecodeError` or :class:`ValidationError`."""

    def session(self) -> Session:
        """A fresh session for one script (executing engines only)."""


class StaticEngine:
    """The decoder and validator: checks modules, runs no code."""

    executes = False

    def load(self, data: bytes) -> Module:
        module = decode_module(data)
        validate_module(module)
        return module


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


class Runner:
    """Runs scripts command by command against ``engine``.

    ``reference(data)`` says whether the reference engine (wasmtime, configured
    with our feature set) accepts a binary; it decides whether a module we reject as
    :class:`UnsupportedFeature` is really outside the feature set (a skip) or one we
    wrongly reject (a failure).  Without it such modules are failures.

    ``features(data, wanted)`` names the features outside our set that make
    wasmtime's verdict on a binary one that ``wanted`` accepts (see
    ``oracles.wasmtime_config.features_for``).  Scripts written for the current spec
    assume its newer features: when we reject a module otherwise than such a script
    expects, and wasmtime agrees with the script only once such features are on, the
    command is skipped naming them.

    With an executing engine, :meth:`run_file` runs each script in a fresh session;
    :meth:`run_command` on its own uses the current session (opening one if needed),
    so consecutive commands share state as in one script.
    """

    def __init__(self, engine: Engine | None = None,
                 reference: Callable[[bytes], bool] | None = None,
                 features: FeatureProbe | None = None) -> None:
        self.engine = engine or StaticEngine()
        self.reference = reference
        self.features = features
        self._session: Session | None = None

    @property
    def session(self) -> Session | None:
        """The current script's session; None for an engine that does not execute."""
        if self._session is None and self.engine.executes:
            self._session = self.engine.session()
        return self._session

    def close_session(self) -> None:
        """End the current script: free its store."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def run_file(self, path: Path) -> Tally:
        tally = Tally()
        try:
            commands = parse_file(path)
        except (TextError, OSError) as e:
            tally.record(f"{path}:0", _fail(f"cannot read script: {e}"))
            return tally
        self.close_session()
        try:
            for command in commands:
                tally.record(f"{path}:{command.line}", self.run_command(command))
        finally:
            self.close_session()
        return tally

    def run_command(self, command: Command) -> Verdict:
        if isinstance(command, ModuleCommand):
            return self.module_command(command)
        if isinstance(command, AssertModule):
            return self.assert_module(command)
        if isinstance(command, Unsupported):
            return _skip(f"{command.head}: {command.reason}")
        if isinstance(command, RUNTIME_COMMANDS):
            session = self.session
            if session is None:
                return _skip(RUNTIME_REASON)
            try:
                return _execute(session, command)
            except Unavailable as why:
                return _unavailable(why)
            except Exception as e:  # noqa: BLE001 -- any other error is this command's failure
                return _fail(_describe(e))
        return _skip(f"no handler for {type(command).__name__}")

    # -- modules ------------------------------------------------------------------------

    def module_command(self, command: ModuleCommand) -> Verdict:
        """Check the module; when executing, compile it and (unless it is only a
        definition) instantiate it as the current module."""
        verdict, data = self._check("valid", command.source)
        session = self.session
        if session is None:
            return verdict
        name, definition = command.name, command.definition
        if data is None or verdict.status is not Status.PASSED:
            why = verdict.detail if verdict.status is Status.SKIPPED \
                else f"the module at line {command.line} failed to load"
            session.missing(name, definition, why, verdict.status is Status.FAILED)
            return verdict
        try:
            if definition:
                session.define(name, data)
            else:
                session.instantiate(name, data)
        except Unavailable as why:
            session.missing(name, definition, why.reason, why.failed)
            return _unavailable(why)
        except Exception as e:  # noqa: BLE001 -- any error is this command's failure
            session.missing(name, definition,
                            f"the module at line {command.line} did not instantiate", True)
            return _fail(f"module did not {'compile' if definition else 'instantiate'}: "
                         f"{_describe(e)}")
        return verdict

    def assert_module(self, command: AssertModule) -> Verdict:
        """A module assertion: statically checked; ``unlinkable`` and
        ``uninstantiable`` modules are then instantiated when executing."""
        verdict, data = self._check(command.kind, command.module, command.message)
        session = self.session
        if session is None or data is None or verdict.status is not Status.PASSED \
                or command.kind not in ("unlinkable", "uninstantiable"):
            return verdict
        try:
            session.link(session.compile(data))
        except Unavailable as why:
            return _unavailable(why)
        except LinkError as e:
            if command.kind == "unlinkable":
                return _message_verdict("unlinkable", command.message, e)
            return _fail(f"expected a trap ({command.message}), linking failed: {e}")
        except Trap as e:
            if command.kind == "unlinkable":
                return _fail(f"expected unlinkable ({command.message}), "
                             f"instantiation trapped: {e}")
            if trap_matches(e.code, command.message):
                return _pass()
            return _fail(f"expected trap {command.message!r}, got {e}")
        except Exception as e:  # noqa: BLE001 -- any other error is this command's failure
            return _fail(f"expected {command.kind} ({command.message}), got {_describe(e)}")
        return _fail(f"expected {command.kind} ({command.message}), "
                     f"but the module instantiated")

    def check_module(self, expected: str, source: ModuleSource, message: str = "") -> Verdict:
        """Check that ``source`` gets the verdict ``expected``: ``"valid"``,
        ``"invalid"``, ``"malformed"``; ``"unlinkable"`` and ``"uninstantiable"``
        modules must be valid (linking and instantiating them is
        :meth:`assert_module`'s job)."""
        return self._check(expected, source, message)[0]

    def _check(self, expected: str, source: ModuleSource,
               message: str = "") -> tuple[Verdict, bytes | None]:
        """:meth:`check_module`'s verdict, and the binary if there is one."""
        try:
            data = source.wasm()
        except TextError as e:
            if expected == "malformed":
                return _pass("malformed: passed by wat2wasm"), None
            return _skip(f"wat2wasm rejects the text: {e}"), None
        return self._check_binary(expected, source, message, data), data

    def _check_binary(self, expected: str, source: ModuleSource, message: str,
                      data: bytes) -> Verdict:
        try:
            self.engine.load(data)
        except UnsupportedFeature as e:
            if expected == "malformed":
                return _pass("malformed: rejected as unsupported feature", str(e))
            return self._unsupported(data, e)
        except DecodeError as e:
            if expected == "malformed":
                return _message_verdict(expected, message, e)
            return self._explained(expected, message, data) or _fail(
                f"expected {expected} ({message or 'valid'}), decoder says malformed: {e}")
        except ValidationError as e:
            if expected == "invalid":
                return _message_verdict(expected, message, e)
            if expected == "malformed" and source.form != "binary":
                return _skip(WAT2WASM_ACCEPTS)
            return self._explained(expected, message, data) or _fail(
                f"expected {expected} ({message or 'valid'}), validator says invalid: {e}")
        if expected == "malformed" and source.form != "binary":
            return _skip(WAT2WASM_ACCEPTS)
        if expected in ("invalid", "malformed"):
            return _fail(f"expected {expected} ({message}), but the module is accepted")
        return _pass()

    def _explained(self, expected: str, message: str, data: bytes) -> Verdict | None:
        """A skip when a feature outside our set explains why we reject ``data``
        otherwise than the script expects, else None.  Explanations: read with the
        current spec's wider (memory64) limits, the module needs an unsupported
        feature; or switching features on makes wasmtime accept the module (a valid
        one) or reject it with the expected message (an invalid one)."""
        try:
            decode_module(data, wide_limits=True)
        except UnsupportedFeature as e:
            verdict = self._unsupported(data, e)
            if verdict.status is Status.SKIPPED:
                return verdict
        except DecodeError:
            pass
        if self.features is None:
            return None
        needed = self.features(data, lambda verdict: _agrees(expected, message, verdict))
        if not needed:
            return None
        return _skip(f"unsupported feature {' and '.join(needed)}: "
                     f"wasmtime says {expected} only with it on")

    def _unsupported(self, data: bytes, error: UnsupportedFeature) -> Verdict:
        if self.reference is not None and not self.reference(data):
            reason = error.message
            return _skip(reason if reason.startswith("unsupported feature")
                         else f"unsupported feature {reason}")
        return _fail(f"rejected as unsupported feature ({error}), "
                     f"but {'wasmtime accepts it' if self.reference else 'no reference to confirm'}")


def _agrees(expected: str, message: str, verdict: str | None) -> bool:
    """Whether wasmtime's ``verdict`` (None: accepted) is the one a script expects."""
    if expected == "invalid":
        return verdict is not None and message in verdict
    return verdict is None


def _execute(session: Session, command: Command) -> Verdict:
    """Run a runtime command in ``session``.  :class:`Unavailable` and unexpected
    errors propagate: :meth:`Runner.run_command` turns them into verdicts."""
    if isinstance(command, InstanceCommand):
        try:
            session.instance(command.name, command.module)
        except Unavailable as why:
            session.missing(command.name, False, why.reason, why.failed)
            raise
        except Exception as e:  # noqa: BLE001 -- any error is this command's failure
            session.missing(command.name, False, f"the instance at line {command.line} failed",
                            True)
            return _fail(f"instantiation failed: {_describe(e)}")
        return _pass()
    if isinstance(command, Register):
        session.register(command.as_name, command.module)
        return _pass()
    assert isinstance(command, (ActionCommand, AssertReturn, AssertTrap, AssertExhaustion,
                                AssertException))
    try:
        types, slots = session.run(command.action)
    except session.api.WasmException as exception:
        if isinstance(command, AssertException):
            return _pass()
        return _fail(f"unexpected uncaught exception: {exception}")
    except Trap as trap:
        if isinstance(command, (AssertTrap, AssertExhaustion)):
            return _trap_verdict(command, trap)
        return _fail(f"unexpected trap: {trap}")
    if isinstance(command, AssertReturn):
        mismatch = result_mismatch(command.results, types, slots, session.host_index)
        return _fail(mismatch) if mismatch else _pass()
    if isinstance(command, (AssertTrap, AssertExhaustion)):
        return _fail(f"expected trap {command.message!r}, got {show_all(types, slots)}")
    if isinstance(command, AssertException):
        return _fail(f"expected an uncaught exception, got {show_all(types, slots)}")
    return _pass()


def _trap_verdict(command: AssertTrap | AssertExhaustion, trap: Trap) -> Verdict:
    if isinstance(command, AssertExhaustion) and trap.code is not TrapCode.STACK_OVERFLOW:
        return _fail(f"expected exhaustion ({command.message}), got trap {trap}")
    if trap_matches(trap.code, command.message):
        return _pass()
    return _fail(f"expected trap {command.message!r}, got {trap}")


def _unavailable(why: Unavailable) -> Verdict:
    return _fail(why.reason) if why.failed else _skip(why.reason)


def _describe(error: Exception) -> str:
    if isinstance(error, (WasmError, ScriptError)):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _message_verdict(expected: str, message: str, error: WasmError) -> Verdict:
    """A pass, noting whether the message the script expects occurs in ours (as
    wasmtime's runner matches error messages)."""
    if message in error.message:
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
