"""Host plans: the host functions and tags a generated module imports, and what each
host function does when called (see :mod:`oracles.plan`).

Host functions log, throw (a host tag or one the module exports), re-enter an export
(catching what it throws, or not), rethrow an exnref argument, or fail with a host
error.  Their signatures have the same long tail as functions' (see
:mod:`.signatures`), so host calls cross the boundary with values beyond the
registers both ways.
"""
from __future__ import annotations

from engine.syntax.types import EXNREF, FuncType, ValType
from oracles.plan import CallExport, HostError, HostFunc, Log, Rethrow, TagDef, Throw

from . import signatures as sg
from .choices import Choices

HOST_ACTIONS = ("log", "throw", "call_export", "rethrow", "trap")


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

    def add_funcs(self, exported_tags: list[tuple[ValType, ...]], exports: list[FuncType]) -> None:
        """Host functions that may throw the host tags or ``exported_tags`` (named
        ``export:tagN``) and re-enter ``exports`` (named ``fN``)."""
        for i in range(self.ch.int(0, 5)):
            self.funcs.append(self.func(i, exported_tags, exports))

    def func(self, i: int, exported_tags: list[tuple[ValType, ...]], exports: list[FuncType]) -> HostFunc:
        ch = self.ch
        kind = ch.choice(HOST_ACTIONS)
        params = sg.maybe_long(ch, 3)
        # Often the results of a defined function, which can then tail-call this one.
        results = ch.choice(exports).results if ch.chance(35) else sg.maybe_long(ch, 1)
        returns = tuple(sg.literal(ch, t) for t in results)
        if kind == "throw":
            tags = [(f"host:{t.name}", sg.types_of(t.params)) for t in self.tags]
            tags += [(f"export:tag{j}", payload) for j, payload in enumerate(exported_tags)]
            tag, payload = ch.choice(tags)
            action = Throw(tag, tuple(self.operand(t, params) for t in payload))
        elif kind == "call_export":
            target = ch.int(0, len(exports) - 1)
            ft = exports[target]
            action = CallExport(f"f{target}", tuple(self.operand(t, params) for t in ft.params), ch.chance(50))
            if ch.chance(60):
                results, returns = ft.results, tuple(sg.literal(ch, t) for t in ft.results)
        elif kind == "rethrow":
            params = (EXNREF,) + params[:2]
            action = Rethrow(0)
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
