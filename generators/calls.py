"""Calls in function bodies: direct, indirect and tail calls.

Calls mostly go forward (to functions defined later, or to the host), so call chains
mostly end; tail calls go to any function with the caller's results -- a member of
its family (see :meth:`generators.module.ModuleGenerator.function_types`) with more or
less argument space, a host function, an earlier function -- and a mutually recursive
pair tail-calls back and forth while the module's ``tail_budget`` lasts.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from .body_base import Terminated

if TYPE_CHECKING:
    from .body import BodyGenerator


class CallStatements:
    """The call statements of :class:`~generators.body.BodyGenerator`."""

    def stmt_call(self: "BodyGenerator") -> None:
        func = self.callee(range(len(self.ctx.funcs)))
        ft = self.ctx.funcs[func]
        self.values(ft.params)
        self.emit_call(func)
        self.drop_all(ft.results)

    def emit_call(self: "BodyGenerator", func: int) -> None:
        """``call func``, noting a call made inside a try_table (whose handler may catch
        what is thrown across the callee's tail calls)."""
        self.emit("call", func)
        if self.tries:
            self.ctx.calls_in_try.add((self.index, func))

    def stmt_call_indirect(self: "BodyGenerator") -> None:
        func = self.callee(range(len(self.ctx.funcs)))
        ft = self.ctx.funcs[func]
        self.values(ft.params)
        slot = self.ch.int(0, len(self.ctx.funcs))       # one past the end is a null entry
        odd = self.ch.int(0, 9)
        if odd == 0:                                        # out of bounds
            slot = self.ctx.func_table_size + self.ch.int(0, 1)
        elif odd <= 5:                                      # a free slot: null, or a later instance's function
            slot = self.ch.int(len(self.ctx.funcs) + 1, self.ctx.func_table_size - 1)
            self.features["call_indirect to a free table slot"] += 1
        self.emit("i32.const", slot)
        self.emit("call_indirect", self.ctx.type_index(ft.params, ft.results), self.ctx.func_table)
        self.drop_all(ft.results)

    def stmt_tail_call(self: "BodyGenerator", at_end: bool = False) -> None:
        """``return_call``/``return_call_indirect`` to a function with this one's results
        (a member of its family, or a host function): to more or to less argument
        space than this function's own, from inside try_tables (whose handlers the
        call leaves behind), and back to earlier functions -- mutual recursion, which
        the fuel bounds."""
        matching = [i for i, ft in enumerate(self.ctx.funcs) if ft.results == self.results]
        if not matching:
            return self.stmt_return()
        if at_end:
            self.features["function ends in a tail call"] += 1
        earlier = [i for i in matching if self.ctx.imported_funcs <= i <= self.index]
        if earlier and self.ch.chance(40):
            func = self.ch.choice(earlier)
        elif self.ch.chance(50):
            # Mostly to a callee with a long tail of parameters, if there is one.
            longest = max(len(self.ctx.funcs[i].params) for i in matching)
            func = self.ch.choice([i for i in matching if len(self.ctx.funcs[i].params) == longest])
        else:
            func = self.ch.choice(matching) if self.ch.chance(50) else self.callee(matching)
        ft = self.ctx.funcs[func]
        self.ctx.tail_calls.add((self.index, func))
        own = len(self.locals[:self.nparams])
        if len(ft.params) != own:
            self.features[f"tail call to {'more' if len(ft.params) > own else 'fewer'} parameters"] += 1
        if func < self.ctx.imported_funcs:
            self.features["tail call to a host function"] += 1
            if self.ctx.host_actions[func] in ("throw", "rethrow"):
                self.features["tail call to a host function that throws"] += 1
        self.values(ft.params)
        if self.ch.chance(30):
            self.emit("i32.const", func)
            self.emit("return_call_indirect", self.ctx.type_index(ft.params, ft.results), self.ctx.func_table)
        else:
            self.emit("return_call", func)
        raise Terminated

    def tail_call_partner(self: "BodyGenerator") -> None:
        """While the module's ``tail_budget`` lasts, spend one and tail-call the partner
        of a mutually recursive pair (see :meth:`CaseGenerator.mutual_pair`) before
        anything else, so that the pair's calls run whenever either is called."""
        budget, partner = self.ctx.tail_budget_global, self.tail_calls
        assert partner is not None
        ft = self.ctx.funcs[partner]
        self.ctx.tail_calls.add((self.index, partner))
        self.features["mutually recursive pair"] += 1
        self.emit("global.get", budget)
        self.open("if", (), ())
        for op, imm in (("global.get", (budget,)), ("i32.const", (1,)), ("i32.sub", ()), ("global.set", (budget,))):
            self.emit(op, *imm)
        self.values(ft.params)
        self.emit("return_call", partner)
        self.close()

    def callee(self: "BodyGenerator", candidates: Sequence[int]) -> int:
        """A function to call: mostly one defined later (or a host function), so call
        chains mostly end; sometimes any, for recursion -- the fuel bounds it."""
        later = [i for i in candidates if i > self.index or i < self.ctx.imported_funcs]
        return self.ch.choice(later if later and self.ch.chance(85) else candidates)
