"""Whole test cases: a module, its host plan and the invocations to make.

The module's shape is fixed so that outcomes say a lot: host tags and functions
imported from ``"host"`` (the plan says what they do), 1-4 tags of its own (all
exported, so an escaping exception is named), exported mutable globals of every
value type, an exported memory, an exported ``exnref`` table, a ``funcref`` table
holding every function (for ``call_indirect`` and ``return_call_indirect``, with a
null entry at the end), an exported fuel counter and one exported ``i64`` counter per
catch kind that every handler bumps -- so the final state shows which handlers ran.
"""
from __future__ import annotations

from collections import Counter

from engine.binary.encode import encode_module
from engine.syntax.instructions import CatchKind, Instr
from engine.syntax.module import Elem, Export, Func, Global, Import, Memory, Module, SegmentMode, Table, Tag
from engine.syntax.types import (EXNREF, EXTERNREF, FUNCREF, I32, I64, ExternKind, FuncType, GlobalType, HeapType,
                                 Limits, MemType, TableType, TagType, ValType)
from oracles.case import Case, Invoke, RunConfig
from oracles.plan import HOST_MODULE, CallExport, HostPlan

from . import signatures as sg
from .body import BodyGenerator
from .choices import Choices
from .hostplan import HostPlanner

FUEL = 600
"""Fuel ticks a case may spend, over all its invocations (one per call and loop
iteration).  Enough for interesting runs, few enough that no run takes long and no
call chain nears either engine's stack limit."""
EXN_TABLE_SIZE = 3
TAIL_BUDGET = 12
"""Tail calls a mutually recursive pair makes in a case before it returns."""


class ModuleContext:
    """What function bodies may refer to, by index, with types."""

    def __init__(self) -> None:
        self.types: list[FuncType] = []
        self.funcs: list[FuncType] = []
        self.tags: list[tuple[ValType, ...]] = []
        self.globals: list[GlobalType] = []
        self.fuel_global = 0
        self.catch_counters: dict[CatchKind, int] = {}
        self.features: Counter[str] = Counter()
        """What the generator wrote, by construct (see ``generators.coverage``)."""
        self.imported_funcs = 0
        self.host_actions: list[str] = []
        """What each imported (host) function does (see :mod:`oracles.plan`)."""
        self.live_global = 0
        self.tail_budget_global = 0
        self.tail_calls: set[tuple[int, int]] = set()
        """(caller, callee) of every ``return_call``/``return_call_indirect`` written."""
        self.calls_in_try: set[tuple[int, int]] = set()
        """(caller, callee) of every ``call`` written inside a try_table."""
        self.ops: dict[int, set[str]] = {}
        """The instructions written in each function, by function index."""
        self.func_table = 0
        self.exn_table = 1
        self.exn_table_size = EXN_TABLE_SIZE

    def type_index(self, params: tuple[ValType, ...], results: tuple[ValType, ...]) -> int:
        ft = FuncType(tuple(params), tuple(results))
        if ft not in self.types:
            self.types.append(ft)
        return self.types.index(ft)

    def blocktype(self, params: tuple[ValType, ...], results: tuple[ValType, ...]) -> None | ValType | int:
        if not params and not results:
            return None
        if not params and len(results) == 1:
            return results[0]
        return self.type_index(params, results)


class CaseGenerator:
    """Builds one :class:`~oracles.case.Case` from a stream of decisions."""

    def __init__(self, choices: Choices, budget: int = 120) -> None:
        self.ch = choices
        self.budget = budget
        self.ctx = ModuleContext()
        self.module = Module()
        self.host = HostPlanner(choices)
        self.defined: list[FuncType] = []
        self.pair: dict[int, int] = {}

    @property
    def host_funcs(self) -> list:
        return self.host.funcs

    def generate(self) -> Case:
        ch, ctx = self.ch, self.ctx
        self.host.add_tags()
        defined_tags = [sg.payload(ch) for _ in range(ch.int(1, 4))]
        ctx.tags = [sg.types_of(t.params) for t in self.host.tags] + defined_tags
        self.defined = self.function_types()
        self.host.add_funcs(defined_tags, self.defined)
        self.imports()
        ctx.funcs = [FuncType(sg.types_of(f.params), sg.types_of(f.results)) for f in self.host_funcs] + self.defined
        ctx.host_actions = [f.action.kind for f in self.host_funcs]
        self.globals()
        self.tables_and_memory()
        nimported = ctx.imported_funcs = len(self.host_funcs)
        # An export the host calls and catches ends in a throw, so the host catches
        # exceptions often enough to test an exnref held across a host scope.
        caught = {f.action.export for f in self.host_funcs if isinstance(f.action, CallExport) and f.action.catch}
        pair = self.pair = self.mutual_pair()
        for i, ft in enumerate(self.defined):
            partner = pair.get(nimported + i)
            generator = BodyGenerator(ctx, ch, nimported + i, ft.params, ft.results,
                                      self.budget // len(self.defined) + 10, throws=f"f{i}" in caught,
                                      tail_calls=partner)
            locals_, body = generator.body()
            self.module.funcs.append(Func(ctx.type_index(ft.params, ft.results), locals_, body))
        self.count_signatures(defined_tags)
        self.count_calls()
        m = self.module
        m.tags = [Tag(TagType(ctx.type_index(payload, ()))) for payload in defined_tags]
        m.exports += [Export(f"f{i}", ExternKind.FUNC, nimported + i) for i in range(len(self.defined))]
        m.exports += [Export(f"tag{i}", ExternKind.TAG, len(self.host.tags) + i) for i in range(len(defined_tags))]
        m.types = ctx.types
        invocations = tuple(self.invocation() for _ in range(ch.int(1, 3)))
        config = RunConfig(opt_level=self.opt_level(), max_wasm_stack=1 << 20)
        return Case(module=encode_module(m), plan=HostPlan(tuple(self.host.tags), tuple(self.host_funcs)),
                    invocations=invocations, config=config, note="generated by generators.module")

    def function_types(self) -> list[FuncType]:
        """The defined functions' types.  Half of them share their results with an
        earlier one and draw their own parameters: such a family can tail-call across
        its members, from more argument space to less and back."""
        out: list[FuncType] = []
        for _ in range(self.ch.int(1, 5)):
            if out and self.ch.chance(50):
                results = self.ch.choice(out).results
                params = sg.long_types(self.ch) if self.ch.chance(50) else sg.types(self.ch, 3)
            else:
                results = sg.maybe_long(self.ch, 2)
                params = sg.maybe_long(self.ch, 3)
            out.append(FuncType(params, results))
        return out

    def mutual_pair(self) -> dict[int, int]:
        """Sometimes two defined functions of one family that start by tail-calling
        each other while the module's ``tail_budget`` lasts -- mostly the pair with the
        most parameters: function index to its partner."""
        base = self.ctx.imported_funcs
        pairs = [(base + i, base + j) for i, a in enumerate(self.defined) for j, b in enumerate(self.defined)
                 if i < j and a.results == b.results]
        if not pairs or not self.ch.chance(45):
            return {}
        most = max(len(self.ctx.funcs[a].params) + len(self.ctx.funcs[b].params) for a, b in pairs)
        first, second = self.ch.choice(
            [(a, b) for a, b in pairs if len(self.ctx.funcs[a].params) + len(self.ctx.funcs[b].params) == most]
            if self.ch.chance(60) else pairs)
        return {first: second, second: first}

    def opt_level(self) -> int:
        """Our engine's optimisation level: mostly none, which compiles fastest, but every
        level is in the mix, since LLVM's optimiser can fold what the engine lowers (the
        bits of a NaN, say).  Drawn last, so a corpus input keeps its module."""
        level = self.ch.weighted([(75, 0), (15, 1), (10, 2)])
        self.ctx.features[f"opt_level {level}"] += 1
        return level

    def count_calls(self) -> None:
        """Call shapes that span functions: mutual tail recursion, and a try_table around
        a call into a function that tail-calls (its handler catches across frames that
        tail calls replaced)."""
        ctx = self.ctx
        tail = {}
        for caller, callee in ctx.tail_calls:
            tail.setdefault(caller, set()).add(callee)
        if any(caller in tail.get(callee, ()) for caller, callee in ctx.tail_calls if caller != callee):
            ctx.features["mutual tail recursion"] += 1
        if any(callee in tail for _, callee in ctx.calls_in_try):
            ctx.features["call in a try_table to a function that tail-calls"] += 1
        for caller, callee in ctx.tail_calls:
            ops = ctx.ops.get(callee, set())
            for op, what in (("throw", "throws"), ("throw_ref", "rethrows"), ("unreachable", "traps")):
                if op in ops:
                    ctx.features[f"tail call to a function that {what}"] += 1
            if any(op == "call" for op in ops):
                ctx.features["tail call to a function that calls"] += 1

    def count_signatures(self, defined_tags: list[tuple[ValType, ...]]) -> None:
        features = self.ctx.features
        features["host tag"] += len(self.host.tags)
        features["defined (exported) tag"] += len(defined_tags)
        for payload in self.ctx.tags:
            features[f"payload of {len(payload)} values"] += 1
            for t in set(payload):
                features[f"payload with {sg.TYPE_NAMES[t]}"] += 1
            features.update(sg.shape_features("tag", payload, ()))
        for func in self.host_funcs:
            features[f"host {func.action.kind}"] += 1
            features.update(sg.shape_features("host function", sg.types_of(func.params), sg.types_of(func.results)))
        for ft in self.defined:
            features.update(sg.shape_features("function", ft.params, ft.results))
            if EXNREF in ft.params:
                features["exnref through a function parameter"] += 1
            if EXNREF in ft.results:
                features["exnref through a function result"] += 1

    def imports(self) -> None:
        for tag in self.host.tags:
            index = self.ctx.type_index(sg.types_of(tag.params), ())
            self.module.imports.append(Import(HOST_MODULE, tag.name, ExternKind.TAG, TagType(index)))
        for func in self.host_funcs:
            index = self.ctx.type_index(sg.types_of(func.params), sg.types_of(func.results))
            self.module.imports.append(Import(HOST_MODULE, func.name, ExternKind.FUNC, index))

    def globals(self) -> None:
        ch, ctx, m = self.ch, self.ctx, self.module
        entries: list[tuple[str, ValType, list[Instr]]] = [("fuel", I32, [Instr("i32.const", (FUEL,))])]
        entries += [(f"caught_{kind.name.lower()}", I64, [Instr("i64.const", (0,))]) for kind in CatchKind]
        entries += [("live", I64, [Instr("i64.const", (0,))]), ("tail_budget", I32, [Instr("i32.const", (TAIL_BUDGET,))])]
        for i in range(ch.int(0, 4)):
            t = sg.value_type(ch)
            entries.append((f"g{i}", t, [self.init(t)]))
        for name, t, init in entries:
            m.globals.append(Global(GlobalType(True, t), init))
            m.exports.append(Export(name, ExternKind.GLOBAL, len(ctx.globals)))
            ctx.globals.append(GlobalType(True, t))
        ctx.fuel_global = 0
        ctx.catch_counters = {kind: 1 + i for i, kind in enumerate(CatchKind)}
        ctx.live_global = 1 + len(CatchKind)
        ctx.tail_budget_global = ctx.live_global + 1

    def init(self, t: ValType) -> Instr:
        if t in sg.NUM:
            return Instr(f"{sg.TYPE_NAMES[t]}.const", (0,))
        return Instr("ref.null", ({FUNCREF: HeapType.FUNC, EXTERNREF: HeapType.EXTERN, EXNREF: HeapType.EXN}[t],))

    def tables_and_memory(self) -> None:
        m, ctx = self.module, self.ctx
        nfuncs = len(self.host_funcs) + len(self.defined)
        m.tables = [Table(TableType(Limits(nfuncs + 1, nfuncs + 1), FUNCREF)),
                    Table(TableType(Limits(EXN_TABLE_SIZE, EXN_TABLE_SIZE), EXNREF))]
        m.elems = [Elem(FUNCREF, [[Instr("ref.func", (i,))] for i in range(nfuncs)], SegmentMode.ACTIVE, 0,
                        [Instr("i32.const", (0,))])]
        m.mems = [Memory(MemType(Limits(1, 2)))]
        m.exports += [Export("mem", ExternKind.MEMORY, 0), Export("xt", ExternKind.TABLE, 1)]
        ctx.func_table, ctx.exn_table = 0, 1

    def invocation(self) -> Invoke:
        base = self.ctx.imported_funcs
        if self.pair and self.ch.chance(50):
            target = self.ch.choice(sorted(self.pair)) - base
        else:
            target = self.ch.int(0, len(self.defined) - 1)
        return Invoke(f"f{target}", tuple(sg.literal(self.ch, t) for t in self.defined[target].params))


def generate_case(choices: Choices, budget: int = 120) -> Case:
    """A valid, terminating case drawn from ``choices``."""
    return CaseGenerator(choices, budget).generate()
