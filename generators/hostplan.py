"""Host plans: the host functions and tags a generated module imports, and what each
host function does when called (see :mod:`oracles.plan`).

Host functions log, throw (a host tag or one an instance exports), re-enter an export
of any instance (catching what it throws, or not), rethrow an exnref argument, keep
one in a host slot and throw it in a later call, or fail with a host error.  Their signatures have the same long tail as functions' (see
:mod:`.signatures`), so host calls cross the boundary with values beyond the
registers both ways.
"""
from __future__ import annotations

from engine.syntax.types import EXNREF, FuncType, ValType
from oracles.plan import CallExport, HostError, HostFunc, Keep, Log, Rethrow, TagDef, Throw, ThrowKept

from . import signatures as sg
from .choices import Choices

HOST_ACTIONS = ("log", "throw", "call_export", "rethrow", "keep", "throw_kept", "trap")


class HostPlanner:
    """Draws the host side of one case."""

    def __init__(self, ch: Choices) -> None:
        self.ch = ch
        self.tags: list[TagDef] = []
        self.funcs: list[HostFunc] = []

    def add_tags(self) -> None:
        for i in range(self.ch.int(0, 2)):
            self.tags.append(TagDef(f"ht{i}", sg.names(sg.payload(self.ch) if self.ch.chance(50)
                                                       else sg.types(self.ch, 3))))

    def add_funcs(self, exported_tags: list[tuple[str, tuple[ValType, ...]]],
                  exports: list[tuple[str, FuncType]]) -> None:
        """Host functions that may throw the host tags or ``exported_tags`` and re-enter
        ``exports`` (each with its case-wide name: ``tag0``, ``f1@twin``...)."""
        for i in range(self.ch.int(0, 5)):
            self.funcs.append(self.func(i, exported_tags, exports))

    def func(self, i: int, exported_tags: list[tuple[str, tuple[ValType, ...]]],
             exports: list[tuple[str, FuncType]]) -> HostFunc:
        ch = self.ch
        kind = ch.choice(HOST_ACTIONS)
        params = sg.maybe_long(ch, 3)
        # Often the results of a defined function, which can then tail-call this one.
        results = ch.choice(exports)[1].results if ch.chance(35) else sg.maybe_long(ch, 1)
        returns = tuple(sg.literal(ch, t) for t in results)
        if kind == "throw":
            tags = [(f"host:{t.name}", sg.types_of(t.params)) for t in self.tags]
            tags += [(f"export:{name}", payload) for name, payload in exported_tags]
            tag, payload = ch.choice(tags)
            action = Throw(tag, tuple(self.operand(t, params) for t in payload))
        elif kind == "call_export":
            name, ft = ch.choice(exports)
            action = CallExport(name, tuple(self.operand(t, params) for t in ft.params), ch.chance(50))
            if ch.chance(60):
                results, returns = ft.results, tuple(sg.literal(ch, t) for t in ft.results)
        elif kind in ("rethrow", "keep"):
            params = (EXNREF,) + params[:2]
            action = Rethrow(0) if kind == "rethrow" else Keep(0, ch.int(0, 1))
        elif kind == "throw_kept":
            action = ThrowKept(ch.int(0, 1))
        elif kind == "trap":
            action = HostError()
        else:
            action = Log()
        return HostFunc(f"{kind}{i}", sg.names(params), sg.names(results), action, returns)

    def operand(self, t: ValType, params: tuple[ValType, ...]) -> str:
        """An argument of the host function of type ``t``, or a literal."""
        matching = [i for i, p in enumerate(params) if p == t]
        if matching and self.ch.chance(60):
            return f"arg:{self.ch.choice(matching)}"
        return sg.literal(self.ch, t)


__all__ = ["HOST_ACTIONS", "HostPlanner"]
