"""What a host function of a plan does, written once for every runner.

A runner gives the plan a :class:`HostEnv` -- its engine's way to make values, throw,
rethrow, call an export and describe what came back -- and wraps each
:class:`~oracles.plan.HostFunc` in a :class:`HostFunction`.  Control flow is Python's:
throwing is raising the exception ``HostEnv.throw`` makes, a host error is raising
:class:`HostFailure`, and the runner turns those into its engine's way of unwinding.
So both runners follow one definition of the plan, and record the same trace.
"""
from __future__ import annotations

from typing import Any, Protocol

from .outcome import Exn, HostCall, HostCaught, HostDone, HostEvent, Result, Returned, Value, parse_value
from .plan import MAX_REENTRY, CallExport, HostError, HostFunc, Keep, Log, Rethrow, Throw, ThrowKept


class RunnerError(Exception):
    """The case cannot be run as written (it invokes a missing export, its imports
    do not fit its plan, it throws a tag with the wrong payload...): an error in the
    case, not an engine disagreement."""


class HostFailure(Exception):
    """An ordinary host error: the engine must turn it into a trap that no wasm
    handler catches."""


class HostEnv(Protocol):
    """A runner's engine, as host functions see it.  Native values are whatever the
    runner's engine uses; ``t`` is a value type name (``i32``, ``exnref``...)."""

    trace: list[HostEvent]
    depth: int
    kept: dict[int, Any]
    """The exnrefs host functions keep (:class:`~oracles.plan.Keep`), by slot."""

    def native(self, t: str, value: Value) -> Any:
        """The engine's value for a literal."""

    def normalize(self, t: str, value: Any) -> Value:
        """The outcome value of an engine value."""

    def throw(self, tag: str, payload: list[Any]) -> BaseException:
        """An error whose raising throws a new exception of ``tag`` (``host:N`` or
        ``export:N``) into the calling wasm."""

    def tag_params(self, tag: str) -> tuple[str, ...]:
        """The payload types of ``tag``; raises :class:`HostFailure` when there is no
        such tag (yet)."""

    def rethrow(self, exnref: Any) -> BaseException:
        """An error whose raising throws the object of non-null ``exnref`` again."""

    def export_type(self, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The parameter and result types of exported function ``name``; raises
        :class:`HostFailure` when there is none (yet)."""

    def call_export(self, name: str, args: list[Any]) -> list[Any]:
        """Call exported function ``name``; a trap or an exception is raised as an
        error the host function can raise again to pass it on."""

    def exception(self, error: BaseException) -> Exn | None:
        """The exception ``error`` carries, if it is a wasm exception (else None)."""

    def result(self, error: BaseException) -> Result:
        """How a host function that raised ``error`` ended (:class:`Thrown` or
        :class:`Trapped`)."""


class HostFunction:
    """A plan's host function bound to a runner: call it with the engine's argument
    values, get the engine's result values (or an error raised)."""

    def __init__(self, func: HostFunc, env: HostEnv) -> None:
        self.func = func
        self.env = env

    def __call__(self, *args: Any) -> list[Any]:
        func, env = self.func, self.env
        env.trace.append(HostCall(func.name, tuple(env.normalize(t, a) for t, a in zip(func.params, args))))
        try:
            results = self._act(list(args))
        except BaseException as error:
            env.trace.append(HostDone(func.name, env.result(error)))
            raise
        env.trace.append(HostDone(func.name, Returned(tuple(
            env.normalize(t, v) for t, v in zip(func.results, results)))))
        return results

    def _operand(self, operand: str, args: list[Any], t: str | None = None) -> Any:
        if operand.startswith("arg:"):
            return args[int(operand[4:])]
        value = parse_value(operand)
        return self.env.native(t or operand.partition(":")[0], value)

    def _types(self, operands: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(self.func.params[int(o[4:])] if o.startswith("arg:") else o.partition(":")[0]
                     for o in operands)

    def _returns(self, args: list[Any]) -> list[Any]:
        return [self._operand(o, args, t) for o, t in zip(self.func.return_literals(), self.func.results)]

    def _act(self, args: list[Any]) -> list[Any]:
        action, env = self.func.action, self.env
        if isinstance(action, Log):
            return self._returns(args)
        if isinstance(action, Throw):
            if self._types(action.payload) != env.tag_params(action.tag):
                raise RunnerError(f"{self.func.name}: tag {action.tag} takes {env.tag_params(action.tag)}, "
                                  f"the plan throws it with {self._types(action.payload)}")
            raise env.throw(action.tag, [self._operand(o, args) for o in action.payload])
        if isinstance(action, Rethrow):
            return self._rethrow(args[action.arg], "rethrow of a null exnref")
        if isinstance(action, Keep):
            env.kept[action.slot] = args[action.arg]
            return self._returns(args)
        if isinstance(action, ThrowKept):
            if action.slot not in env.kept:
                raise HostFailure(f"{self.func.name}: host slot {action.slot} keeps nothing")
            return self._rethrow(env.kept[action.slot], f"throw of the null exnref in host slot {action.slot}")
        if isinstance(action, HostError):
            raise HostFailure(f"{self.func.name}: host error")
        assert isinstance(action, CallExport)
        return self._call_export(action, args)

    def _rethrow(self, exnref: Any, null_error: str) -> list[Any]:
        if self.env.normalize("exnref", exnref) == parse_value("exnref:null"):
            raise HostFailure(f"{self.func.name}: {null_error}")
        raise self.env.rethrow(exnref)

    def _call_export(self, action: CallExport, args: list[Any]) -> list[Any]:
        env = self.env
        if env.depth >= MAX_REENTRY:
            raise HostFailure(f"{self.func.name}: host re-entry deeper than {MAX_REENTRY}")
        params, results = env.export_type(action.export)
        if len(params) != len(action.args):
            raise HostFailure(f"{self.func.name}: export {action.export} takes {len(params)} "
                              f"arguments, the plan gives {len(action.args)}")
        given = self._types(action.args)
        if given != tuple(params):
            raise HostFailure(f"{self.func.name}: export {action.export} takes {params}, "
                              f"the plan gives {given}")
        call_args = [self._operand(o, args, t) for o, t in zip(action.args, params)]
        env.depth += 1
        try:
            values = env.call_export(action.export, call_args)
        except BaseException as error:
            exn = env.exception(error)
            if exn is None or not action.catch:
                raise
            env.trace.append(HostCaught(self.func.name, exn))
            return self._returns(args)
        finally:
            env.depth -= 1
        return values if tuple(results) == self.func.results else self._returns(args)
