"""Host plans: the host side of a case, as data.

A module imports host functions and tags from the module ``"host"``; the
:class:`HostPlan` says what each of them is and does, so that one case fully defines
the host's behaviour and both runners act alike.  Every host function does one
:data:`Action` each time it is called:

- :class:`Log` records the call and returns ``returns``;
- :class:`Throw` throws a new exception of a tag into the calling wasm;
- :class:`CallExport` re-enters wasm through an export of the instance: its results
  are returned when their types are the host function's results (else ``returns``);
  an exception from it propagates into the calling wasm, or with ``catch`` the host
  catches it and returns ``returns`` as a marker; a trap always propagates;
- :class:`Rethrow` throws the very exception object it received as an ``exnref``
  argument back (a null one is a host error);
- :class:`Keep` keeps an ``exnref`` argument in a host slot, as a program holds an
  exception object between calls (the object must stay alive however many
  collections run), and returns ``returns``;
- :class:`ThrowKept` throws the object a slot keeps (an empty slot, or a null in it,
  is a host error);
- :class:`HostError` raises an ordinary host error: a trap, which no wasm handler
  may catch.

Operands (payloads, arguments) are value literals (:func:`oracles.outcome.parse_value`)
or ``arg:N``, the host function's N-th argument.  Tags are named ``host:NAME`` (a
:class:`TagDef` of the plan) or ``export:NAME`` (a tag an instance exports;
``NAME@INSTANCE`` for instances after the first, see :mod:`oracles.case`), and so are
the exports :class:`CallExport` calls.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from .outcome import NUM_TYPES, REF_TYPES, ValueFormatError, parse_value

HOST_MODULE = "host"
"""The import module name under which a plan's functions and tags are found."""
VALUE_TYPES = NUM_TYPES + REF_TYPES
MAX_REENTRY = 16
"""How deep :class:`CallExport` may nest; one level deeper it is a host error.  Both
runners stop at the same depth, so runaway host re-entry ends the same way on both."""


class PlanError(ValueError):
    """A host plan that is malformed or does not fit the module it is used with."""


@dataclass(frozen=True)
class Log:
    kind = "log"


@dataclass(frozen=True)
class Throw:
    tag: str
    payload: tuple[str, ...] = ()
    kind = "throw"


@dataclass(frozen=True)
class CallExport:
    export: str
    args: tuple[str, ...] = ()
    catch: bool = False
    kind = "call_export"


@dataclass(frozen=True)
class Rethrow:
    arg: int
    kind = "rethrow"


@dataclass(frozen=True)
class Keep:
    arg: int
    slot: int = 0
    kind = "keep"


@dataclass(frozen=True)
class ThrowKept:
    slot: int = 0
    kind = "throw_kept"


@dataclass(frozen=True)
class HostError:
    kind = "trap"


Action = Union[Log, Throw, CallExport, Rethrow, Keep, ThrowKept, HostError]
_ACTIONS: dict[str, type] = {cls.kind: cls for cls in (Log, Throw, CallExport, Rethrow, Keep, ThrowKept,
                                                        HostError)}


@dataclass(frozen=True)
class TagDef:
    """A tag the host defines, imported as ``("host", name)``."""
    name: str
    params: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostFunc:
    """A host function imported as ``("host", name)`` with this type."""
    name: str
    params: tuple[str, ...] = ()
    results: tuple[str, ...] = ()
    action: Action = field(default_factory=Log)
    returns: tuple[str, ...] | None = None
    """Literals returned when the action gives no results; None means zeros (and null)."""

    def return_literals(self) -> tuple[str, ...]:
        if self.returns is not None:
            return self.returns
        return tuple(f"{t}:null" if t in REF_TYPES else f"{t}:0" for t in self.results)


@dataclass(frozen=True)
class HostPlan:
    tags: tuple[TagDef, ...] = ()
    funcs: tuple[HostFunc, ...] = ()

    def __post_init__(self) -> None:
        names = [t.name for t in self.tags] + [f.name for f in self.funcs]
        if len(set(names)) != len(names):
            raise PlanError(f"host names must be unique: {names}")
        for tag in self.tags:
            _check_types(tag.params, f"tag {tag.name}")
        for func in self.funcs:
            self._check_func(func)

    def _check_func(self, func: HostFunc) -> None:
        where = f"host function {func.name}"
        _check_types(func.params + func.results, where)
        returns = func.return_literals()
        if len(returns) != len(func.results):
            raise PlanError(f"{where}: {len(returns)} return literals for {len(func.results)} results")
        for literal, t in zip(returns, func.results):
            _check_operand(literal, t, func.params, where)
        action = func.action
        if isinstance(action, Throw):
            if action.tag.startswith("host:"):
                tag = self.tag(action.tag[5:])
                if len(tag.params) != len(action.payload):
                    raise PlanError(f"{where}: tag {tag.name} takes {len(tag.params)} payload values")
                for operand, t in zip(action.payload, tag.params):
                    _check_operand(operand, t, func.params, where)
            elif not action.tag.startswith("export:"):
                raise PlanError(f"{where}: tag {action.tag!r} is neither host:NAME nor export:NAME")
        elif isinstance(action, CallExport):
            for operand in action.args:
                _check_operand(operand, None, func.params, where)
        elif isinstance(action, (Rethrow, Keep)):
            if not 0 <= action.arg < len(func.params) or func.params[action.arg] != "exnref":
                raise PlanError(f"{where}: {action.kind} needs argument {action.arg} to be an exnref")

    def tag(self, name: str) -> TagDef:
        for tag in self.tags:
            if tag.name == name:
                return tag
        raise PlanError(f"the plan defines no host tag {name!r}")

    def func(self, name: str) -> HostFunc:
        for func in self.funcs:
            if func.name == name:
                return func
        raise PlanError(f"the plan defines no host function {name!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "tags": [{"name": t.name, "params": list(t.params)} for t in self.tags],
            "funcs": [_func_json(f) for f in self.funcs],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "HostPlan":
        try:
            tags = tuple(TagDef(t["name"], tuple(t.get("params", ()))) for t in data.get("tags", ()))
            funcs = tuple(_func_from_json(f) for f in data.get("funcs", ()))
        except (KeyError, TypeError) as e:
            raise PlanError(f"malformed host plan: {e!r}") from None
        return cls(tags, funcs)


def _check_types(types: tuple[str, ...], where: str) -> None:
    for t in types:
        if t not in VALUE_TYPES:
            raise PlanError(f"{where}: unknown value type {t!r}")


def _check_operand(operand: str, t: str | None, params: tuple[str, ...], where: str) -> None:
    """``operand`` must denote a value (of type ``t``, if given)."""
    if operand.startswith("arg:"):
        index = int(operand[4:]) if operand[4:].isdigit() else -1
        if not 0 <= index < len(params):
            raise PlanError(f"{where}: {operand} names no argument (it has {len(params)})")
        actual = params[index]
    else:
        try:
            parse_value(operand)
        except ValueFormatError as e:
            raise PlanError(f"{where}: {e}") from None
        actual = operand.partition(":")[0]
    if t is not None and actual != t:
        raise PlanError(f"{where}: {operand} is a {actual}, expected a {t}")


def _func_json(func: HostFunc) -> dict[str, Any]:
    action = {"kind": func.action.kind, **{k: (list(v) if isinstance(v, tuple) else v)
                                            for k, v in vars(func.action).items()}}
    out: dict[str, Any] = {"name": func.name, "params": list(func.params),
                           "results": list(func.results), "action": action}
    if func.returns is not None:
        out["returns"] = list(func.returns)
    return out


def _func_from_json(data: dict[str, Any]) -> HostFunc:
    raw = dict(data.get("action", {"kind": "log"}))
    kind = raw.pop("kind")
    if kind not in _ACTIONS:
        raise PlanError(f"unknown host action {kind!r}; expected one of {sorted(_ACTIONS)}")
    action = _ACTIONS[kind](**{k: (tuple(v) if isinstance(v, list) else v) for k, v in raw.items()})
    returns = data.get("returns")
    return HostFunc(data["name"], tuple(data.get("params", ())), tuple(data.get("results", ())),
                    action, None if returns is None else tuple(returns))
