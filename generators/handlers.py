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
from engine.syntax.types import EXNREF, I32, HeapType, ValType

from .body_base import DELIVERS, LIVE_COUNTS, Terminated
from .signatures import value_type

if TYPE_CHECKING:
    from .body import BodyGenerator

LABEL_KINDS = ("block", "loop", "if", "else", "try_table", "func")
"""Kinds of label a catch clause is aimed at (``else``: an if's label, from its else arm)."""


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
                target = self.ch.choice(outer)
                self.features["clause to an enclosing label"] += 1
                self.features[f"clause to a {self.labels[target].kind} label"] += 1
                targets.append(target)
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
            keepers = [i for i, action in enumerate(self.ctx.host_actions) if action == "keep"]
            if kept is not None and keepers and self.ch.chance(30):
                self.emit("local.get", kept)          # the host keeps what was caught
                self.keep_in_host(self.ch.choice(keepers))
            failing = [i for i, action in enumerate(self.ctx.host_actions) if action == "trap"]
            if failing and self.ch.chance(8):
                self.features["host error raised inside a handler"] += 1
                func = self.ch.choice(failing)
                self.values(self.ctx.funcs[func].params)
                self.emit_call(func)
                self.drop_all(self.ctx.funcs[func].results)
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

    def stmt_catch_to_label(self: "BodyGenerator") -> None:
        """A catch clause aimed at an enclosing label of each kind -- block, loop, if,
        else, try_table, the function body -- from 0-3 plain blocks deep, sometimes with
        values left below on the operand stack: the label's construct takes the types
        the clause delivers, and the try_table inside it throws (mostly) the clause's
        tag."""
        ch, ctx = self.ch, self.ctx
        kind = ch.choice(LABEL_KINDS)
        options = [(CatchKind.CATCH_ALL, None), (CatchKind.CATCH_ALL_REF, None)]
        options += [(k, t) for t in range(len(ctx.tags)) for k in (CatchKind.CATCH, CatchKind.CATCH_REF)]
        if kind == "func":
            options = [(k, t) for k, t in options if _delivered(ctx.tags, k, t) == self.results]
            kind = kind if options else "block"
            options = options or [(CatchKind.CATCH_ALL, None)]
        clause, tag = ch.choice(options)
        delivered = _delivered(ctx.tags, clause, tag)
        below = tuple(value_type(ch) for _ in range(ch.int(1, 3))) if ch.chance(40) else ()
        self.values(below)
        target = self.open_label(kind, delivered)
        depth = ch.int(0, 3)
        for _ in range(depth):
            self.open("block", (), ())
        self.features[f"clause to a {kind} label"] += 1
        self.features[f"clause to a label at depth {self.label_index(target)}"
                      if self.label_index(target) < 3 else "clause to a label at depth 3+"] += 1
        if below:
            self.features["handler entered with values below on the stack"] += 1
        self.open("try_table", (), (), ((Catch(clause, tag, self.label_index(target)),),))
        self.tries += 1
        if ch.chance(70) or not self.statements():
            thrown = tag if tag is not None and ch.chance(80) else ch.int(0, len(ctx.tags) - 1)
            self.values(ctx.tags[thrown])
            self.emit("throw", thrown)
        self.tries -= 1
        self.close()
        for _ in range(depth):
            self.close()
        self.close_label(kind, delivered)
        for t in reversed(below):
            self.fold_live(t)

    def open_label(self: "BodyGenerator", kind: str, delivered: tuple[ValType, ...]) -> int:
        """Open the construct whose label a clause will target (for ``func``, the body's
        label); the label's index in :attr:`labels`."""
        if kind == "func":
            return 0
        if kind == "loop":          # a loop the clause re-enters; a counter ends it
            counter = self.new_local(I32)
            self.emit("i32.const", self.ch.int(1, 3))
            self.emit("local.set", counter)
            self.open("block", (), ())
            self.values(delivered)
            self.open("loop", delivered, ())
            self.fuel_tick()
            self.take_params(delivered)
            for op, imm in (("local.get", (counter,)), ("i32.eqz", ()), ("br_if", (1,)), ("local.get", (counter,)),
                            ("i32.const", (1,)), ("i32.sub", ()), ("local.set", (counter,))):
                self.emit(op, *imm)
        elif kind in ("if", "else"):
            self.value(I32)
            self.open("if", (), delivered)
            if kind == "else":
                self.values(delivered)
                self.emit("else")
        elif kind == "try_table":
            self.open("try_table", (), delivered, ((),))
        else:
            self.open("block", (), delivered)
        return len(self.labels) - 1

    def close_label(self: "BodyGenerator", kind: str, delivered: tuple[ValType, ...]) -> None:
        """End what :meth:`open_label` opened, leaving ``delivered`` on the stack (as
        the clause does when it catches), then keep or drop those values."""
        if kind == "func":
            return
        if kind == "loop":
            self.close()
            self.close()
            return
        self.values(delivered)
        if kind == "if":
            self.emit("else")
            self.values(delivered)
        self.close()
        for t in reversed(delivered):
            self.emit("local.set", self.new_local(t)) if self.ch.chance(50) else self.emit("drop")

    def stmt_throw_loop(self: "BodyGenerator") -> None:
        """Many exceptions in a loop, each caught with ``catch_all_ref`` and kept -- in a
        local, a global, the exnref table, a host slot -- or dropped: under collector
        stress, collections run while exnrefs are held everywhere."""
        ch, ctx = self.ch, self.ctx
        counter = self.new_local(I32)
        self.emit("i32.const", ch.int(4, 16))
        self.emit("local.set", counter)
        self.open("loop", (), ())
        self.fuel_tick()
        self.features["exceptions thrown and kept in a loop"] += 1
        self.open("block", (), (EXNREF,))
        self.open("try_table", (), (), ((Catch(CatchKind.CATCH_ALL_REF, None, 0),),))
        tag = ch.int(0, len(ctx.tags) - 1)
        self.values(ctx.tags[tag])
        self.emit("throw", tag)
        self.close()
        self.emit("ref.null", HeapType.EXN)
        self.close()
        self.keep_exnref(counter)
        for op, imm in (("local.get", (counter,)), ("i32.const", (1,)), ("i32.sub", ()), ("local.tee", (counter,)),
                        ("br_if", (0,))):
            self.emit(op, *imm)
        self.close()

    def keep_exnref(self: "BodyGenerator", counter: int) -> None:
        """Keep the exnref on the stack somewhere, or drop it; in the exnref table, at
        the slot the loop ``counter`` picks, so each object stays there a while."""
        ch, ctx = self.ch, self.ctx
        globals_ = [i for i, g in enumerate(ctx.globals) if g.mut and g.type == EXNREF]
        keepers = [i for i, action in enumerate(ctx.host_actions) if action == "keep"]
        where = "host" if keepers and ch.chance(40) else ch.choice(("local", "global", "table", "table", "drop"))
        if ctx.stressed and ch.chance(50):
            where = "table"
        if where == "global" and globals_:
            self.emit("global.set", ch.choice(globals_))
        elif where == "table":
            tmp = self.new_local(EXNREF)
            self.emit("local.set", tmp)
            for op, imm in (("local.get", (counter,)), ("i32.const", (ctx.exn_table_size,)), ("i32.rem_u", ()),
                            ("local.get", (tmp,)), ("table.set", (ctx.exn_table,))):
                self.emit(op, *imm)
        elif where == "host" and keepers:
            self.keep_in_host(ch.choice(keepers))
        elif where == "local":
            self.emit("local.set", self.new_local(EXNREF))
        else:
            self.emit("drop")

    def keep_in_host(self: "BodyGenerator", func: int) -> None:
        """Call ``func``, a host function that keeps the exnref on the stack."""
        ft = self.ctx.funcs[func]
        self.values(ft.params[1:])
        self.emit_call(func)
        self.drop_all(ft.results)
        self.features["exnref kept by the host"] += 1


def _delivered(tags: list[tuple[ValType, ...]], kind: CatchKind, tag: int | None) -> tuple[ValType, ...]:
    """What a clause of ``kind`` naming ``tag`` delivers to its label."""
    return (tags[tag] if tag is not None else ()) + ((EXNREF,) if DELIVERS[kind] else ())

