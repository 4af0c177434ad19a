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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from engine.syntax.instructions import OPS, Catch, CatchKind, Imm, Instr, MemArg
from engine.syntax.types import EXNREF, EXTERNREF, F32, F64, FUNCREF, I32, I64, HeapType, ValType

from .choices import Choices
from .signatures import CONSTS, NUM, long_types, shape_features, types, value_type

if TYPE_CHECKING:
    from .module import ModuleContext

MAX_DEPTH = 8
"""How deeply blocks, try_tables and values nest."""
LIVE_COUNTS = (4, 8, 12, 16, 24)
"""How many values a function keeps live across a call that may throw."""
_OPS_INTO: dict[ValType, list[str]] = {t: [] for t in NUM}
for _op in OPS.values():
    if _op.imm is Imm.NONE and _op.sig and len(_op.sig[1]) == 1 and _op.sig[0] \
            and all(p in NUM for p in _op.sig[0]) and _op.sig[1][0] in NUM:
        _OPS_INTO[_op.sig[1][0]].append(_op.name)
LOADS = {I32: ("i32.load", "i32.load8_s", "i32.load16_u"), I64: ("i64.load", "i64.load32_s", "i64.load8_u"),
         F32: ("f32.load",), F64: ("f64.load",)}
STORES = {I32: ("i32.store", "i32.store8"), I64: ("i64.store", "i64.store16"), F32: ("f32.store",),
          F64: ("f64.store",)}
BITWISE_FLOAT_OPS = ("abs", "neg", "copysign", "reinterpret_i32", "reinterpret_i64",
                     "convert_i32_s", "convert_i32_u", "convert_i64_s", "convert_i64_u")
"""Float operations whose result bits are fully determined: no NaN canonicalization."""
THROWING = ("throw", "throw_ref", "call", "call_indirect", "return_call", "return_call_indirect")
DELIVERS = {CatchKind.CATCH: False, CatchKind.CATCH_REF: True, CatchKind.CATCH_ALL: False,
            CatchKind.CATCH_ALL_REF: True}


@dataclass
class Label:
    """An enclosing label: the types a branch to it carries."""
    types: tuple[ValType, ...]
    nests: bool = True


class Terminated(Exception):
    """Not an error: unwinds generation of a sequence after a terminator."""


class BodyGenerator:
    """Writes the body of one function of ``ctx`` with type index ``type_idx``."""

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
        self.labels = [Label(self.results)]
        self.fuel_tick()
        if self.tail_calls is not None or self.ch.chance(30):
            self.features["parameters folded into live"] += 1
            for i in range(self.nparams):
                self.emit("local.get", i)
                self.fold_live(self.locals[i])
        if self.tail_calls is not None:
            self.tail_call_partner()
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
        self.labels.append(Label(params if op == "loop" else results, nests))
        self.depth += nests

    def close(self) -> None:
        self.emit("end")
        self.depth -= self.labels.pop().nests

    @property
    def shallow(self) -> bool:
        return self.budget <= 0 or self.depth >= MAX_DEPTH

    # -- statements ---------------------------------------------------------------

    def statements(self) -> bool:
        """A few statements; True if the last one was a terminator."""
        for _ in range(self.ch.int(0, 4)):
            if self.shallow:
                break
            try:
                self.statement()
            except Terminated:
                return True
        return False

    def statement(self) -> None:
        ch = self.ch
        kind = ch.weighted([
            (6, "set"), (6, "call"), (8, "try"), (3, "if"), (3, "loop"), (3, "block"), (3, "store"),
            (3, "throw"), (2, "throw_ref"), (2, "br"), (2, "global_exn"), (1, "block_param"),
            (1, "call_indirect"), (1, "return"), (5 if self.tries else 2, "tail_call"), (1, "trap"), (1, "grow"),
            (2, "live_across"), (2, "multi_block"),
        ])
        getattr(self, f"stmt_{kind}")()

    def stmt_set(self) -> None:
        index = self.ch.int(0, len(self.locals) - 1) if self.locals else None
        if index is None or self.ch.chance(30):
            index = self.new_local(value_type(self.ch))
        self.value(self.locals[index])
        self.emit("local.set", index)

    def stmt_call(self) -> None:
        func = self.callee(range(len(self.ctx.funcs)))
        ft = self.ctx.funcs[func]
        self.values(ft.params)
        self.emit_call(func)
        self.drop_all(ft.results)

    def emit_call(self, func: int) -> None:
        """``call func``, noting a call made inside a try_table (whose handler may catch
        what is thrown across the callee's tail calls)."""
        self.emit("call", func)
        if self.tries:
            self.ctx.calls_in_try.add((self.index, func))

    def stmt_call_indirect(self) -> None:
        func = self.callee(range(len(self.ctx.funcs)))
        ft = self.ctx.funcs[func]
        self.values(ft.params)
        slot = self.ch.int(0, len(self.ctx.funcs))       # one past the end is a null entry
        if self.ch.chance(10):
            slot = self.ch.int(0, len(self.ctx.funcs) + 2)   # out of bounds, or the wrong type
        self.emit("i32.const", slot)
        self.emit("call_indirect", self.ctx.type_index(ft.params, ft.results), self.ctx.func_table)
        self.drop_all(ft.results)

    def stmt_tail_call(self, at_end: bool = False) -> None:
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

    def tail_call_partner(self) -> None:
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

    def callee(self, candidates: Sequence[int]) -> int:
        """A function to call: mostly one defined later (or a host function), so call
        chains mostly end; sometimes any, for recursion -- the fuel bounds it."""
        later = [i for i in candidates if i > self.index or i < self.ctx.imported_funcs]
        return self.ch.choice(later if later and self.ch.chance(85) else candidates)

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

    def stmt_live_across(self) -> None:
        """Many values on the operand stack, live across a try_table whose body calls a
        function (which may throw, tail-call, trap), then folded into the exported
        ``live`` global: a landing pad that restores a register wrongly shows there."""
        kept = [value_type(self.ch) for _ in range(self.ch.choice(LIVE_COUNTS))]
        self.values(tuple(kept))
        self.features["values live across a call in a try_table"] += 1
        self.try_table((), call_first=True)
        for t in reversed(kept):
            self.fold_live(t)

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

    def stmt_throw(self) -> None:
        tag = self.ch.int(0, len(self.ctx.tags) - 1)
        self.values(self.ctx.tags[tag])
        self.emit("throw", tag)
        raise Terminated

    def stmt_throw_ref(self) -> None:
        self.value(EXNREF)
        self.emit("throw_ref")
        raise Terminated

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

    # -- try_table --------------------------------------------------------------

    def stmt_try(self) -> None:
        self.try_table(())

    def try_table(self, results: tuple[ValType, ...], params: tuple[ValType, ...] = (),
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

    def throw_into(self, clauses: list[tuple[CatchKind, int | None]]) -> None:
        """End a try_table body with a throw -- mostly of a tag one of its clauses names."""
        tags = [tag for _, tag in clauses if tag is not None]
        tag = self.ch.choice(tags) if tags and self.ch.chance(70) else self.ch.int(0, len(self.ctx.tags) - 1)
        if len(self.ctx.tags[tag]) >= 5:
            for kind, _ in clauses:
                self.features[f"payload of 5+ values thrown into a try_table with {kind.text}"] += 1
        self.values(self.ctx.tags[tag])
        self.emit("throw", tag)

    def handler(self, kind: CatchKind, delivered: tuple[ValType, ...], results: tuple[ValType, ...]) -> None:
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

    # -- values -----------------------------------------------------------------

    def values(self, types: tuple[ValType, ...]) -> None:
        for t in types:
            self.value(t)

    def value(self, t: ValType) -> None:
        """Code that pushes one value of type ``t``."""
        if self.shallow or self.ch.chance(35):
            return self.leaf(t)
        self.depth += 1
        try:
            if t in NUM:
                self.num_value(t)
            else:
                self.ref_value(t)
        except Terminated:
            pass
        finally:
            self.depth -= 1

    def leaf(self, t: ValType) -> None:
        ch = self.ch
        locals_ = [i for i, lt in enumerate(self.locals) if lt == t]
        globals_ = [i for i, g in enumerate(self.ctx.globals) if g.type == t]
        if locals_ and ch.chance(40):
            self.emit("local.get", ch.choice(locals_))
        elif globals_ and ch.chance(20):
            self.emit("global.get", ch.choice(globals_))
        elif t in NUM:
            self.const(t)
        elif t == FUNCREF and ch.chance(50):
            self.emit("ref.func", ch.int(0, len(self.ctx.funcs) - 1))
        else:
            self.emit("ref.null", {FUNCREF: HeapType.FUNC, EXTERNREF: HeapType.EXTERN,
                                   EXNREF: HeapType.EXN}[t])

    def const(self, t: ValType) -> None:
        ch = self.ch
        value = ch.choice(CONSTS[t]) if ch.chance(70) else ch.int(0, 1000)
        if t == I32:
            value = (value + 2**31) % 2**32 - 2**31
        elif t == I64:
            value = (value + 2**63) % 2**64 - 2**63
        self.emit(f"{t.value}.const", value)

    def num_value(self, t: ValType) -> None:
        ch = self.ch
        kind = ch.weighted([(6, "op"), (2, "load"), (2, "call"), (2, "block"), (2, "if"), (3, "try"),
                            (1, "tee"), (1, "select"), (1, "throw")])
        if kind == "op":
            op = ch.choice(_OPS_INTO[t])
            self.values(OPS[op].sig[0])  # type: ignore[index]
            self.emit(op)
            if t in (F32, F64) and op.split(".")[1] not in BITWISE_FLOAT_OPS:
                self.canonicalize_nan(t)
        elif kind == "load":
            self.address()
            op = ch.choice(LOADS[t])
            self.emit(op, MemArg(OPS[op].natural_align or 0, ch.int(0, 8)))
        elif kind == "tee":
            index = self.new_local(t)
            self.value(t)
            self.emit("local.tee", index)
        elif kind == "select":
            self.value(t)
            self.value(t)
            self.value(I32)
            self.emit("select")
        else:
            self.structured(t, kind)

    def canonicalize_nan(self, t: ValType) -> None:
        """Replace a NaN on the stack by the canonical one.  The spec lets a float
        operation return a NaN of either sign and, from a NaN operand, any payload;
        once stored to memory or reinterpreted those bits would differ between correct
        engines (the campaign found exactly that: ``0.0 / 0.0`` stored with ``f64.store``
        is +NaN on one engine, -NaN on the other).  As wasm-smith's ``canonicalize_nans``."""
        tmp = self.new_local(t)
        nan = 0x7FC0_0000 if t == F32 else 0x7FF8_0000_0000_0000
        for op, imm in (("local.tee", (tmp,)), (f"{t.value}.const", (nan,)), ("local.get", (tmp,)),
                        ("local.get", (tmp,)), (f"{t.value}.eq", ()), ("select", ())):
            self.code.append(Instr(op, imm))

    def ref_value(self, t: ValType) -> None:
        kind = self.ch.weighted([(3, "leaf"), (2, "call"), (1, "block"), (1, "if"),
                                 (4 if t == EXNREF else 1, "try"), (1, "select"), (1, "throw"),
                                 (2 if t == EXNREF else 0, "table")])
        if kind == "leaf":
            self.leaf(t)
        elif kind == "select":
            self.value(t)
            self.value(t)
            self.value(I32)
            self.emit("select", (t,))
        elif kind == "table":
            self.emit("i32.const", self.ch.int(0, self.ctx.exn_table_size - (0 if self.ch.chance(10) else 1)))
            self.emit("table.get", self.ctx.exn_table)
        else:
            self.structured(t, kind)

    def structured(self, t: ValType, kind: str) -> None:
        """Values made by calls, blocks, ifs, try_tables, or a throw standing in."""
        if kind == "call":
            funcs = [i for i, ft in enumerate(self.ctx.funcs) if ft.results and ft.results[0] == t]
            if not funcs:
                return self.leaf(t)
            func = self.callee(funcs)
            ft = self.ctx.funcs[func]
            self.values(ft.params)
            self.emit_call(func)
            self.drop_all(ft.results[1:])
        elif kind == "block":
            self.open("block", (), (t,))
            if not self.statements():
                self.value(t)
            self.close()
        elif kind == "if":
            self.value(I32)
            self.open("if", (), (t,))
            if not self.statements():
                self.value(t)
            self.emit("else")
            if not self.statements():
                self.value(t)
            self.close()
        elif kind == "try":
            self.try_table((t,))
        else:
            self.stmt_throw()

    def address(self) -> None:
        """A memory address: usually masked into the first page, sometimes not (a trap)."""
        self.value(I32)
        if self.ch.chance(85):
            self.emit("i32.const", 0xFFF0)
            self.emit("i32.and")
        else:
            self.features["unmasked address"] += 1


__all__ = ["BodyGenerator", "NUM"]
