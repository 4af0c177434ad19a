"""Running a case on one engine: the steps every runner takes, in one place.

A runner is a :class:`Session` subclass for its engine (``EngineRunner`` for ours,
``WasmtimeRunner`` for the reference).  :func:`run` drives it: instantiate with the
plan's host functions, make each invocation in order (recording the host trace of
each), then read the exported state.  Every engine-specific step is a method of the
session, so both engines are observed in exactly the same way.
"""
from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from typing import Any

from .case import Case
from .host import HostFailure, HostFunction, RunnerError
from .plan import PlanError
from .outcome import (Call, Exn, HostEvent, Outcome, Rejected, Result, Returned, State, Thrown, Trapped, Value,
                      parse_value, trap_name)

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

    def host_function(self, name: str) -> HostFunction:
        """The plan's host function ``name``, bound to this session."""
        return HostFunction(self.case.plan.func(name), self)

    @abstractmethod
    def instantiate(self) -> None:
        """Compile and instantiate the module with the plan's imports (raises
        :class:`ModuleRejected`, or what the start function raised)."""

    @abstractmethod
    def interrupt(self) -> None:
        """Make running wasm trap with ``interrupt`` soon (called from another thread)."""

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
    """Run ``session``'s case to its :class:`~oracles.outcome.Outcome`."""
    _watchdog.watch(session, session.case.config.timeout)
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
    return Outcome(instantiate, tuple(calls), session.state())
