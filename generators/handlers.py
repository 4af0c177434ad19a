"""Exception handling in function bodies: ``throw``, ``throw_ref`` and ``try_table``
with its handlers, values live across throwing calls, and clauses aimed at every kind
of enclosing label.

A try_table is written in the pattern compilers use: one handler block per clause
around it, each handler consuming what its clause delivers and ending at a common
exit; or a clause branches straight to an enclosing label of the right type.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from engine.syntax.instructions import Catch, CatchKind, Instr
from engine.syntax.types import EXNREF, ValType

from .body_base import DELIVERS, LIVE_COUNTS, Terminated
from .signatures import value_type

if TYPE_CHECKING:
    from .body import BodyGenerator


class ExceptionStatements:
    """The exception-handling statements of :class:`~generators.body.BodyGenerator`."""

    def stmt_throw(self: "BodyGenerator") -> None:
        tag = self.ch.int(0, len(self.ctx.tags) - 1)
        self.values(self.ctx.tags[tag])
        self.emit("throw", tag)
        raise Terminated

    def stmt_throw_ref(self: "BodyGenerator") -> None:
        self.value(EXNREF)
        self.emit("throw_ref")
        raise Terminated

    def stmt_try(self: "BodyGenerator") -> None:
        self.try_table(())

    def try_table(self: "BodyGenerator", results: tuple[ValType, ...], params: tuple[ValType, ...] = (),
                  call_first: bool = False) -> None:
        """``try_table`` with 0-5 clauses of any kind, in the pattern compilers use:
        one handler block per clause around it, each handler consuming what its clause
        delivers and ending at the common exit -- or a clause branching straight to an
        enclosing label of the right type.  ``params`` are the try_table's own; with
        ``call_first`` its body starts with a call."""
        ch, ctx = self.ch, self.ctx
        clauses: list[tuple[CatchKind, int | None]] = []
        for _ in range(ch.weighted([(1, 0), (4, 1), (3, 2), (2, 3), (1, 4), (1, 5)])):
            kind = ch.choice(list(CatchKind))
            tag = ch.int(0, len(ctx.tags) - 1) if kind in (CatchKind.CATCH, CatchKind.CATCH_REF) else None
            clauses.append((kind, tag))
        self.open("block", (), results, nests=False)   # the exit: every path ends here with ``results``
        exit_label = len(self.labels) - 1
        handlers: list[tuple[CatchKind, tuple[ValType, ...]]] = []
        targets: list[int] = []
        for kind, tag in clauses:
            delivered = (ctx.tags[tag] if tag is not None else ()) + ((EXNREF,) if DELIVERS[kind] else ())
            outer = [i for i, label in enumerate(self.labels) if label.types == delivered]
            self.features[f"clause {kind.text}"] += 1
            if tag is not None and len(ctx.tags[tag]) >= 5:
                self.features[f"{kind.text} of a payload of 5+ values"] += 1
            if outer and ch.chance(20):
                self.features["clause to an enclosing label"] += 1
                targets.append(self.ch.choice(outer))
            else:
                self.open("block", (), delivered, nests=False)
                handlers.append((kind, delivered))
                targets.append(len(self.labels) - 1)
        catches = tuple(Catch(kind, tag, self.label_index(target)) for (kind, tag), target in zip(clauses, targets))
        self.features[f"try_table with {len(clauses)} clauses"] += 1
        self.values(params)
        self.open("try_table", params, results, (catches,))
        self.tries += 1
        if self.tries >= 4:
            self.features["try_table nested 4+ deep"] += 1
        self.take_params(params)
        if call_first:
            self.stmt_call()
        if not self.statements():
            if self.ch.chance(50):
                self.throw_into(clauses)
            else:
                self.values(results)
        self.tries -= 1
        self.close()
        self.emit("br", self.label_index(exit_label))
        for kind, delivered in reversed(handlers):
            self.close()
            self.handlers += 1
            self.handler(kind, delivered, results)
            self.handlers -= 1
            if self.labels[-1] is not self.labels[exit_label]:
                self.emit("br", self.label_index(exit_label))
        self.close()

    def throw_into(self: "BodyGenerator", clauses: list[tuple[CatchKind, int | None]]) -> None:
        """End a try_table body with a throw -- mostly of a tag one of its clauses names."""
        tags = [tag for _, tag in clauses if tag is not None]
        tag = self.ch.choice(tags) if tags and self.ch.chance(70) else self.ch.int(0, len(self.ctx.tags) - 1)
        if len(self.ctx.tags[tag]) >= 5:
            for kind, _ in clauses:
                self.features[f"payload of 5+ values thrown into a try_table with {kind.text}"] += 1
        self.values(self.ctx.tags[tag])
        self.emit("throw", tag)

    def handler(self: "BodyGenerator", kind: CatchKind, delivered: tuple[ValType, ...], results: tuple[ValType, ...]) -> None:
        """Code that runs with a clause's ``delivered`` values on the stack and ends
        with ``results`` on it (or in a terminator).  It first counts itself in the
        exported counter of its catch kind, so outcomes show which handlers ran."""
        counter = self.ctx.catch_counters[kind]
        for op, imm in (("global.get", (counter,)), ("i64.const", (1,)), ("i64.add", ()),
                        ("global.set", (counter,))):
            self.code.append(Instr(op, imm))
        kept = None
        if delivered and delivered[-1] == EXNREF:
            kept = self.new_local(EXNREF)
            self.emit("local.set", kept)
            delivered = delivered[:-1]
        for t in reversed(delivered):
            if self.ch.chance(50):
                self.emit("drop")
            else:
                self.emit("local.set", self.new_local(t))
        try:
            if kept is not None and self.ch.chance(25):
                self.emit("local.get", kept)
                self.emit("throw_ref")                # rethrow what was caught, identity kept
                raise Terminated
            if self.statements():
                return
            if results == (EXNREF,) and kept is not None and self.ch.chance(60):
                self.emit("local.get", kept)
            else:
                self.values(results)
        except Terminated:
            return

    def stmt_live_across(self: "BodyGenerator") -> None:
        """Many values on the operand stack, live across a try_table whose body calls a
        function (which may throw, tail-call, trap), then folded into the exported
        ``live`` global: a landing pad that restores a register wrongly shows there."""
        kept = [value_type(self.ch) for _ in range(self.ch.choice(LIVE_COUNTS))]
        self.values(tuple(kept))
        self.features["values live across a call in a try_table"] += 1
        self.try_table((), call_first=True)
        for t in reversed(kept):
            self.fold_live(t)
