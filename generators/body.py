"""Function bodies: valid, terminating code that reaches deep into exception handling.

The generator writes code the way a person reads it: *statements* (which leave the
operand stack as they found it) and *values* (which push one value of a requested
type).  Each knows the labels around it and their types, so every branch, catch
clause and block it writes validates by construction.  Code after a terminator
(``throw``, ``throw_ref``, ``br``, ``return``, ``unreachable``...) is unreachable and
so type-checks against the polymorphic stack -- which lets a ``throw`` stand wherever
a value is wanted.

Termination: every function entry and every loop header runs the module's fuel tick
(a global counter that traps with ``unreachable`` at zero), so loops, recursion and
handlers that branch back to a loop all end the same way on every engine.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from engine.syntax.instructions import OPS, Instr, MemArg
from engine.syntax.types import EXNREF, F32, F64, I32, I64, ValType

from .body_base import MAX_DEPTH, STORES, THROWING, Label, Terminated
from .calls import CallStatements
from .choices import Choices
from .handlers import ExceptionStatements
from .signatures import NUM, long_types, shape_features, types, value_type
from .values import ValueCode

if TYPE_CHECKING:
    from .module import ModuleContext


class BodyGenerator(CallStatements, ExceptionStatements, ValueCode):
    """Writes the body of one function of ``ctx``: the core here, calls, exception
    handling and values in their own modules."""

    def __init__(self, ctx: "ModuleContext", choices: Choices, index: int, params: tuple[ValType, ...],
                 results: tuple[ValType, ...], budget: int, *, throws: bool = False,
                 tail_calls: int | None = None) -> None:
        self.ctx, self.ch = ctx, choices
        self.throws = throws
        """End in a ``throw`` instead of the results (for exports the host calls and catches)."""
        self.tail_calls = tail_calls
        """End in a tail call to this function (one of a mutually recursive pair)."""
        self.index = index
        self.locals: list[ValType] = list(params)
        self.nparams = len(params)
        self.results = results
        self.code: list[Instr] = []
        self.labels: list[Label] = []
        self.budget = budget
        self.depth = 0
        self.tries = 0          # try_tables open around the code being written
        self.handlers = 0       # handler code being written inside
        self.loops = 0
        self.features = ctx.features

    # -- output -----------------------------------------------------------------

    def emit(self, op: str, *imm: object) -> None:
        self.code.append(Instr(op, tuple(imm)))
        self.budget -= 1
        self.count(op, imm)

    def count(self, op: str, imm: tuple) -> None:
        """Record what was written, for the coverage report (``generators.coverage``)."""
        features = self.features
        features[op] += 1
        self.ctx.ops.setdefault(self.index, set()).add(op)
        if op in THROWING:
            for inside, count in (("a handler", self.handlers), ("a loop", self.loops), ("a try_table", self.tries)):
                if count:
                    features[f"{op} inside {inside}"] += 1
        if op in ("local.get", "local.set", "local.tee") and self.locals[imm[0]] == EXNREF:
            features["exnref through a local"] += 1
        elif op in ("global.get", "global.set") and self.ctx.globals[imm[0]].type == EXNREF:
            features["exnref through a global"] += 1
        elif op in ("table.get", "table.set") and imm[0] == self.ctx.exn_table:
            features["exnref through a table"] += 1

    def body(self) -> tuple[list[ValType], list[Instr]]:
        """The function's extra locals and its instructions."""
        self.labels = [Label(self.results, kind="func")]
        self.fuel_tick()
        if self.tail_calls is not None or self.ch.chance(30):
            self.features["parameters folded into live"] += 1
            for i in range(self.nparams):
                self.emit("local.get", i)
                self.fold_live(self.locals[i])
        if self.tail_calls is not None:
            self.tail_call_partner()
        try:
            if self.throws and self.ch.chance(50):
                self.features["function starts with a throw"] += 1
                self.stmt_throw()
            if self.ch.chance(50):
                self.lead_statement()
        except Terminated:
            return self.locals[self.nparams:], self.code
        if not self.statements():
            try:
                if self.throws:
                    self.features["function ends in throw"] += 1
                    self.stmt_throw()
                elif self.ch.chance(40):
                    self.stmt_tail_call(at_end=True)
                else:
                    self.values(self.results)
            except Terminated:
                pass
        return self.locals[self.nparams:], self.code

    def lead_statement(self) -> None:
        """A statement of the kinds that matter most, first in the body: random code
        ends early so often (a trap, a throw that escapes) that a construct later in a
        body rarely runs at all."""
        self.features["function leads with an exception construct"] += 1
        if self.ctx.stressed and self.ch.chance(40):
            return self.stmt_throw_loop()
        getattr(self, "stmt_" + self.ch.choice(("catch_to_label", "catch_to_label", "live_across", "throw_loop",
                                                "try", "multi_block")))()

    def fuel_tick(self) -> None:
        fuel = self.ctx.fuel_global
        for op, imm in (("global.get", (fuel,)), ("i32.eqz", ()), ("if", (None,)), ("unreachable", ()),
                        ("end", ()), ("global.get", (fuel,)), ("i32.const", (1,)), ("i32.sub", ()),
                        ("global.set", (fuel,))):
            self.code.append(Instr(op, imm))

    def new_local(self, t: ValType) -> int:
        self.locals.append(t)
        return len(self.locals) - 1

    def label_index(self, label: int) -> int:
        """The relative label index of ``self.labels[label]``."""
        return len(self.labels) - 1 - label

    def open(self, op: str, params: tuple[ValType, ...], results: tuple[ValType, ...],
             extra: tuple = (), nests: bool = True) -> None:
        """Open a block; ``nests=False`` for the blocks around a ``try_table``, which
        count as part of it toward :data:`MAX_DEPTH`."""
        blocktype = self.ctx.blocktype(params, results)
        self.emit(op, blocktype, *extra) if op == "try_table" else self.emit(op, blocktype)
        self.labels.append(Label(params if op == "loop" else results, nests, op))
        self.depth += nests

    def close(self) -> None:
        self.emit("end")
        self.depth -= self.labels.pop().nests

    @property
    def shallow(self) -> bool:
        return self.budget <= 0 or self.depth >= MAX_DEPTH

    # -- statements ---------------------------------------------------------------

    def statements(self) -> bool:
        """A few statements; True if the last one was a terminator (sometimes followed
        by dead code)."""
        for _ in range(self.ch.int(0, 4)):
            if self.shallow:
                break
            try:
                self.statement()
            except Terminated:
                if self.ch.chance(15):
                    self.dead_code()
                return True
        return False

    def dead_code(self) -> None:
        """Unreachable code after a terminator, which validates against the polymorphic
        stack: a ``throw`` with no operands in sight, or a whole try_table -- code an
        engine must compile however it tracks the stack, and never run."""
        self.features["dead code after a terminator"] += 1
        if self.ch.chance(50):
            self.emit("throw", self.ch.int(0, len(self.ctx.tags) - 1))
            self.features["throw in dead code"] += 1
        else:
            self.features["try_table in dead code"] += 1
            self.try_table(())

    def statement(self) -> None:
        ch = self.ch
        kind = ch.weighted([
            (6, "set"), (6, "call"), (8, "try"), (3, "if"), (3, "loop"), (3, "block"), (3, "store"),
            (3, "throw"), (2, "throw_ref"), (2, "br"), (2, "global_exn"), (1, "block_param"),
            (1, "call_indirect"), (1, "return"), (5 if self.tries else 2, "tail_call"), (1, "trap"), (1, "grow"),
            (2, "live_across"), (2, "multi_block"), (3, "catch_to_label"), (1, "throw_loop"),
        ])
        getattr(self, f"stmt_{kind}")()

    def stmt_set(self) -> None:
        index = self.ch.int(0, len(self.locals) - 1) if self.locals else None
        if index is None or self.ch.chance(30):
            index = self.new_local(value_type(self.ch))
        self.value(self.locals[index])
        self.emit("local.set", index)







    def stmt_return(self) -> None:
        self.values(self.results)
        self.emit("return")
        raise Terminated

    def stmt_trap(self) -> None:
        self.emit("unreachable")
        raise Terminated

    def stmt_if(self) -> None:
        self.value(I32)
        self.open("if", (), ())
        self.statements()
        if self.ch.chance(50):
            self.emit("else")
            self.statements()
        self.close()

    def stmt_loop(self) -> None:
        """A loop counting a local down from 1-4, or (sometimes) one that runs until
        an arbitrary condition fails -- or the fuel runs out."""
        counter = self.new_local(I32)
        self.emit("i32.const", self.ch.int(1, 4))
        self.emit("local.set", counter)
        self.open("loop", (), ())
        self.fuel_tick()
        self.loops += 1
        self.statements()
        if self.ch.chance(20):
            self.value(I32)
        else:
            for op, imm in (("local.get", (counter,)), ("i32.const", (1,)), ("i32.sub", ()),
                            ("local.tee", (counter,))):
                self.emit(op, *imm)
        self.emit("br_if", 0)
        self.loops -= 1
        self.close()

    def stmt_block(self) -> None:
        self.open("block", (), ())
        self.statements()
        self.close()

    def stmt_block_param(self) -> None:
        """An exnref flowing in as a block parameter, then stored or rethrown."""
        self.value(EXNREF)
        self.features["exnref through a block parameter"] += 1
        self.open("block", (EXNREF,), ())
        if self.ch.chance(40):
            self.emit("throw_ref")
        else:
            self.emit("local.set", self.new_local(EXNREF))
            self.statements()
        self.close()


    def fold_live(self, t: ValType) -> None:
        """Fold the value of type ``t`` on top of the stack into the exported ``live``
        global, bit for bit (references by null-ness), where outcomes show it."""
        live = self.ctx.live_global
        for op in {I32: ("i64.extend_i32_u",), I64: (), F32: ("i32.reinterpret_f32", "i64.extend_i32_u"),
                   F64: ("i64.reinterpret_f64",)}.get(t, ("ref.is_null", "i64.extend_i32_u")):
            self.emit(op)
        for op, imm in (("global.get", (live,)), ("i64.xor", ()), ("i64.const", (7,)), ("i64.rotl", ()),
                        ("global.set", (live,))):
            self.emit(op, *imm)

    def stmt_multi_block(self) -> None:
        """A block, loop or try_table taking parameters and giving several results
        (sometimes a long tail of each), its results then kept in locals or dropped."""
        ch = self.ch
        params = long_types(ch) if ch.chance(20) else types(ch, 3)
        results = long_types(ch) if ch.chance(20) else types(ch, 3)
        kind = ch.choice(("block", "loop", "try_table"))
        self.features.update(shape_features("block type", params, results))
        if params and results:
            self.features[f"{kind} with parameters and results"] += 1
        if kind == "try_table":
            self.try_table(results, params)
        else:
            self.values(params)
            self.open(kind, params, results)
            if kind == "loop":
                self.fuel_tick()
            self.take_params(params)
            if not self.statements():
                self.values(results)
            self.close()
        for t in reversed(results):
            self.emit("local.set", self.new_local(t)) if ch.chance(50) else self.emit("drop")

    def take_params(self, params: tuple[ValType, ...]) -> None:
        """Keep a block's parameters in locals (code inside may read them)."""
        for t in reversed(params):
            self.emit("local.set", self.new_local(t))

    def stmt_store(self) -> None:
        t = self.ch.choice(NUM)
        self.address()
        self.value(t)
        op = self.ch.choice(STORES[t])
        self.emit(op, MemArg(OPS[op].natural_align or 0, self.ch.int(0, 8)))

    def stmt_grow(self) -> None:
        self.emit("i32.const", self.ch.int(0, 1))
        self.emit("memory.grow", 0)
        self.emit("drop")

    def stmt_global_exn(self) -> None:
        """An exnref stored into a global or the exnref table."""
        globals_ = [i for i, t in enumerate(self.ctx.globals) if t.mut and t.type == EXNREF]
        if globals_ and self.ch.chance(50):
            self.value(EXNREF)
            self.emit("global.set", self.ch.choice(globals_))
        else:
            self.emit("i32.const", self.ch.int(0, self.ctx.exn_table_size - (0 if self.ch.chance(10) else 1)))
            self.value(EXNREF)
            self.emit("table.set", self.ctx.exn_table)



    def stmt_br(self) -> None:
        label = self.ch.int(0, len(self.labels) - 1)
        types = self.labels[label].types
        self.values(types)
        if self.ch.chance(40):
            self.value(I32)
            self.emit("br_if", self.label_index(label))
            self.drop_all(types)
            return
        self.emit("br", self.label_index(label))
        raise Terminated

    def drop_all(self, types: tuple[ValType, ...]) -> None:
        for _ in types:
            self.emit("drop")













