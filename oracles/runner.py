"""Running a case on one engine: the steps every runner takes, in one place.

A runner is a :class:`Session` subclass for its engine (``EngineRunner`` for ours,
``WasmtimeRunner`` for the reference).  :func:`run` drives it: instantiate every
instance of the case in order, with the plan's host functions and what earlier
instances export, make each invocation in order (recording the host trace of each),
then read the exported state of every instance.  Every engine-specific step is a
method of the session, so both engines are observed in exactly the same way; so is
the numbering of exception objects (:meth:`Session.identity`).
"""
from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from typing import Any

from .case import Case, qualify
from .host import HostFailure, HostFunction, RunnerError
from .plan import HOST_MODULE, PlanError
from .outcome import (Call, Crashed, Exn, HostEvent, Outcome, Rejected, Result, Returned, State, Thrown, Trapped,
                      Value, parse_value, trap_name)

INSTANTIATE = "<instantiate>"
__all__ = ["INSTANTIATE", "ModuleRejected", "RunnerError", "Session", "run"]


class ModuleRejected(Exception):
    """Raised by :meth:`Session.instantiate` when the engine refuses the module."""


class Session(ABC):
    """One case on one engine.  Subclasses implement the engine-specific steps and
    the :class:`~oracles.host.HostEnv` methods."""

    name = "engine"

    def __init__(self, case: Case) -> None:
        self.case = case
        self.trace: list[HostEvent] = []
        self.depth = 0
        self.kept: dict[int, Any] = {}
        self.instances: dict[str, dict[str, Any]] = {}
        """Each instance's exports (engine objects) by plain name, in instantiation order."""
        self.exports: dict[str, Any] = {}
        """Every instance's exports by case-wide name (see :func:`~oracles.case.qualify`)."""
        self.events: dict[str, int] = {}
        """What the engine counted as it ran (see :mod:`engine.compile.events`), if it can."""
        self._identities: dict[Any, int] = {}
        self._numbered: list[Any] = []

    @property
    def timeout(self) -> float:
        """Seconds each step of the case may take on this engine before it is
        interrupted (the case's safety net, :attr:`~oracles.case.RunConfig.timeout`)."""
        return self.case.config.timeout

    def host_function(self, name: str) -> HostFunction:
        """The plan's host function ``name``, bound to this session."""
        return HostFunction(self.case.plan.func(name), self)

    def instantiate(self) -> None:
        """Instantiate the case's instances in order (raises :class:`ModuleRejected`, or
        what a start function raised)."""
        for name, module in self.case.instance_modules():
            exports = self.instantiate_module(module)
            self.instances[name] = exports
            for export, extern in exports.items():
                self.exports[qualify(export, name)] = extern

    @abstractmethod
    def instantiate_module(self, module: bytes) -> dict[str, Any]:
        """Compile and instantiate ``module``, importing from the plan (module
        ``"host"``) and from earlier instances (:meth:`instance_export`); its exports
        by name."""

    def instance_export(self, instance: str, name: str) -> Any:
        """What an earlier ``instance`` exports as ``name``, for an import."""
        exports = self.instances.get(instance)
        if exports is None:
            raise RunnerError(f"import {instance}::{name}: the module is neither {HOST_MODULE!r} nor an "
                              f"earlier instance ({', '.join(self.instances) or 'none yet'})")
        if name not in exports:
            raise RunnerError(f"import {instance}::{name}: instance {instance} exports no {name!r}")
        return exports[name]

    def identity(self, key: Any, keep: Any) -> int:
        """The number of the exception object ``key`` identifies: the next number the
        first time the run meets it.  ``keep`` (a rooted handle of the object) is held
        until the run ends, so the object, and so its key, stays unique."""
        number = self._identities.get(key)
        if number is None:
            number = self._identities[key] = len(self._identities) + 1
            self._numbered.append(keep)
        return number

    @abstractmethod
    def interrupt(self) -> None:
        """Make running wasm trap with ``interrupt`` soon (called from another thread)."""

    @abstractmethod
    def renew_deadline(self) -> None:
        """Let wasm run again after an :meth:`interrupt` (each step has its own timeout)."""

    @abstractmethod
    def state(self) -> State:
        """The exported globals, memories and tables."""

    # The HostEnv methods (see oracles.host.HostEnv).
    @abstractmethod
    def native(self, t: str, value: Value) -> Any: ...

    @abstractmethod
    def normalize(self, t: str, value: Any) -> Value: ...

    @abstractmethod
    def throw(self, tag: str, payload: list[Any]) -> BaseException: ...

    @abstractmethod
    def tag_params(self, tag: str) -> tuple[str, ...]: ...

    @abstractmethod
    def rethrow(self, exnref: Any) -> BaseException: ...

    @abstractmethod
    def export_type(self, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]: ...

    @abstractmethod
    def call_export(self, name: str, args: list[Any]) -> list[Any]: ...

    @abstractmethod
    def exception(self, error: BaseException) -> Exn | None: ...

    trap_type: type[BaseException] = Exception
    """The engine's trap error; it has a ``code`` (None for a host function's error)."""

    def result(self, error: BaseException) -> Result:
        """How a call that raised ``error`` ended.  A host function failing other than
        by :class:`HostFailure` is a bug of the case or the runner, not an outcome."""
        exn = self.exception(error)
        if exn is not None:
            return Thrown(exn)
        if isinstance(error, self.trap_type):
            code, cause = getattr(error, "code"), error.__cause__
            if code is None and cause is not None and not isinstance(cause, (HostFailure, self.trap_type)):
                raise RunnerError(f"a host function failed: {cause!r}") from cause
            return Trapped(trap_name(code))
        if isinstance(error, HostFailure):
            return Trapped("host")
        raise error

    def close(self) -> None:
        """Release the engine's resources (the default keeps them until collected)."""


class _Watchdog:
    """One thread for all runs, interrupting the session whose timeout has passed
    (a thread per run would cost more than many a small case)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._session: Session | None = None
        self._deadline = 0.0
        self._thread: threading.Thread | None = None

    def watch(self, session: Session | None, seconds: float = 0.0) -> None:
        with self._changed:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="oracle watchdog", daemon=True)
                self._thread.start()
            self._session, self._deadline = session, time.monotonic() + seconds
            self._changed.notify()

    def _loop(self) -> None:
        with self._changed:
            while True:
                if self._session is None:
                    self._changed.wait()
                    continue
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._changed.wait(remaining)
                    continue
                self._session.interrupt()
                self._session = None


_watchdog = _Watchdog()


def run(session: Session) -> Outcome:
    """Run ``session``'s case to its :class:`~oracles.outcome.Outcome`, each step (the
    instantiation, each invocation) within the session's timeout."""
    _watchdog.watch(session, session.timeout)
    try:
        return _run(session)
    finally:
        _watchdog.watch(None)
        session.close()


def _run(session: Session) -> Outcome:
    try:
        session.instantiate()
        result: Result = Returned()
    except ModuleRejected as rejected:
        return Outcome(Call(INSTANTIATE, (), Rejected(str(rejected))))
    except RunnerError:
        raise
    except PlanError as e:
        raise RunnerError(f"the module's imports do not fit the plan: {e}") from None
    except Exception as error:
        result = session.result(error)
    instantiate = Call(INSTANTIATE, (), result, tuple(session.trace))
    if result != Returned():
        return Outcome(instantiate)
    calls = []
    for invoke in session.case.invocations:
        # Each step gets the whole timeout: compiling a large module must not eat into it.
        _watchdog.watch(session, session.timeout)
        session.renew_deadline()
        session.trace = []
        try:
            params, results = session.export_type(invoke.export)
        except HostFailure as e:
            raise RunnerError(f"the case invokes {invoke.export!r}: {e}") from None
        values = [parse_value(a) for a in invoke.args]
        given = tuple(a.partition(":")[0] for a in invoke.args)
        if given != params:
            raise RunnerError(f"the case invokes {invoke.export}{params} with {given}")
        try:
            out = session.call_export(invoke.export, [session.native(t, v) for t, v in zip(params, values)])
            result = Returned(tuple(session.normalize(t, v) for t, v in zip(results, out)))
        except Exception as error:
            result = session.result(error)
        calls.append(Call(invoke.export, tuple(values), result, tuple(session.trace)))
        if isinstance(result, Crashed):       # nothing is left to run or to read
            return Outcome(instantiate, tuple(calls))
    return Outcome(instantiate, tuple(calls), session.state())
