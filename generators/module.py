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
from engine.syntax.types import (EXNREF, EXTERNREF, F32, F64, FUNCREF, I32, I64, ExternKind, FuncType, GlobalType,
                                 HeapType, Limits, MemType, TableType, TagType, ValType)
from oracles.case import Case, Invoke, RunConfig
from oracles.outcome import Num
from oracles.plan import HOST_MODULE, CallExport, HostError, HostFunc, HostPlan, Log, Rethrow, TagDef, Throw

from .body import CONSTS, NUM, BodyGenerator
from .choices import Choices

FUEL = 600
"""Fuel ticks a case may spend, over all its invocations (one per call and loop
iteration).  Enough for interesting runs, few enough that no run takes long and no
call chain nears either engine's stack limit."""
EXN_TABLE_SIZE = 3
TYPE_NAMES = {I32: "i32", I64: "i64", F32: "f32", F64: "f64",
              FUNCREF: "funcref", EXTERNREF: "externref", EXNREF: "exnref"}
HOST_ACTIONS = ("log", "throw", "call_export", "rethrow", "trap")


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

    @staticmethod
    def value_type(ch: Choices) -> ValType:
        return ch.weighted([(6, I32), (3, I64), (2, F32), (2, F64), (3, EXNREF), (1, FUNCREF), (1, EXTERNREF)])


def literal(ch: Choices, t: ValType) -> str:
    """A value literal of type ``t`` for plans and invocations."""
    if t in NUM:
        bits = ch.choice(CONSTS[t]) if ch.chance(70) else ch.int(0, 1000)
        return str(Num(TYPE_NAMES[t], bits))
    if t == EXTERNREF and ch.chance(50):
        return "externref:ref"
    return f"{TYPE_NAMES[t]}:null"


def _types(ch: Choices, most: int) -> tuple[ValType, ...]:
    return tuple(ModuleContext.value_type(ch) for _ in range(ch.int(0, most)))


def _names(types: tuple[ValType, ...]) -> tuple[str, ...]:
    return tuple(TYPE_NAMES[t] for t in types)


class CaseGenerator:
    """Builds one :class:`~oracles.case.Case` from a stream of decisions."""

    def __init__(self, choices: Choices, budget: int = 120) -> None:
        self.ch = choices
        self.budget = budget
        self.ctx = ModuleContext()
        self.module = Module()
        self.host_tags: list[TagDef] = []
        self.host_funcs: list[HostFunc] = []
        self.defined: list[FuncType] = []

    def generate(self) -> Case:
        ch, ctx = self.ch, self.ctx
        for i in range(ch.int(0, 2)):
            self.host_tags.append(TagDef(f"ht{i}", _names(_types(ch, 3))))
        defined_tags = [self.payload() for _ in range(ch.int(1, 4))]
        ctx.tags = [tuple(_types_of(t.params)) for t in self.host_tags] + defined_tags
        self.defined = [FuncType(_types(ch, 3), _types(ch, 2)) for _ in range(ch.int(1, 5))]
        for i in range(ch.int(0, 5)):
            self.host_funcs.append(self.host_func(i))
        self.imports()
        ctx.funcs = [FuncType(_types_of(f.params), _types_of(f.results)) for f in self.host_funcs] + self.defined
        self.globals()
        self.tables_and_memory()
        nimported = ctx.imported_funcs = len(self.host_funcs)
        # An export the host calls and catches ends in a throw, so the host catches
        # exceptions often enough to test an exnref held across a host scope.
        caught = {f.action.export for f in self.host_funcs if isinstance(f.action, CallExport) and f.action.catch}
        for i, ft in enumerate(self.defined):
            generator = BodyGenerator(ctx, ch, nimported + i, ft.params, ft.results,
                                      self.budget // len(self.defined) + 10, throws=f"f{i}" in caught)
            locals_, body = generator.body()
            self.module.funcs.append(Func(ctx.type_index(ft.params, ft.results), locals_, body))
        self.count_signatures(defined_tags)
        m = self.module
        m.tags = [Tag(TagType(ctx.type_index(payload, ()))) for payload in defined_tags]
        m.exports += [Export(f"f{i}", ExternKind.FUNC, nimported + i) for i in range(len(self.defined))]
        m.exports += [Export(f"tag{i}", ExternKind.TAG, len(self.host_tags) + i) for i in range(len(defined_tags))]
        m.types = ctx.types
        invocations = tuple(self.invocation() for _ in range(ch.int(1, 3)))
        config = RunConfig(opt_level=self.opt_level(), max_wasm_stack=1 << 20)
        return Case(module=encode_module(m), plan=HostPlan(tuple(self.host_tags), tuple(self.host_funcs)),
                    invocations=invocations, config=config, note="generated by generators.module")

    def opt_level(self) -> int:
        """Our engine's optimisation level: mostly none, which compiles fastest, but every
        level is in the mix, since LLVM's optimiser can fold what the engine lowers (the
        bits of a NaN, say).  Drawn last, so a corpus input keeps its module."""
        level = self.ch.weighted([(75, 0), (15, 1), (10, 2)])
        self.ctx.features[f"opt_level {level}"] += 1
        return level

    def payload(self) -> tuple[ValType, ...]:
        """A tag's payload: 0-4 values, often all of one type (as in ``(param i32 i32)``)."""
        if self.ch.chance(40):
            return (ModuleContext.value_type(self.ch),) * self.ch.int(2, 4)
        return _types(self.ch, 4)

    def count_signatures(self, defined_tags: list[tuple[ValType, ...]]) -> None:
        features = self.ctx.features
        features["host tag"] += len(self.host_tags)
        features["defined (exported) tag"] += len(defined_tags)
        for payload in self.ctx.tags:
            features[f"payload of {len(payload)} values"] += 1
            for t in set(payload):
                features[f"payload with {TYPE_NAMES[t]}"] += 1
        for func in self.host_funcs:
            features[f"host {func.action.kind}"] += 1
        for ft in self.defined:
            if EXNREF in ft.params:
                features["exnref through a function parameter"] += 1
            if EXNREF in ft.results:
                features["exnref through a function result"] += 1

    def host_func(self, i: int) -> HostFunc:
        ch = self.ch
        kind = ch.choice(HOST_ACTIONS)
        params = _types(ch, 3)
        results = _types(ch, 1)
        returns = tuple(literal(ch, t) for t in results)
        if kind == "throw":
            tags = [f"host:{t.name}" for t in self.host_tags] + [f"export:tag{j}" for j in range(len(self.ctx.tags)
                                                                                              - len(self.host_tags))]
            tag = ch.choice(tags)
            payload = self.ctx.tags[tags.index(tag)]
            action = Throw(tag, tuple(self.operand(t, params) for t in payload))
        elif kind == "call_export":
            target = ch.int(0, len(self.defined) - 1)
            ft = self.defined[target]
            action = CallExport(f"f{target}", tuple(self.operand(t, params) for t in ft.params), ch.chance(50))
            if ch.chance(60):
                results, returns = ft.results, tuple(literal(ch, t) for t in ft.results)
        elif kind == "rethrow":
            params = (EXNREF,) + params[:2]
            action = Rethrow(0)
        elif kind == "trap":
            action = HostError()
        else:
            action = Log()
        return HostFunc(f"{kind}{i}", _names(params), _names(results), action, returns)

    def operand(self, t: ValType, params: tuple[ValType, ...]) -> str:
        """An argument of the host function of type ``t``, or a literal."""
        matching = [i for i, p in enumerate(params) if p == t]
        if matching and self.ch.chance(60):
            return f"arg:{self.ch.choice(matching)}"
        return literal(self.ch, t)

    def imports(self) -> None:
        for tag in self.host_tags:
            index = self.ctx.type_index(_types_of(tag.params), ())
            self.module.imports.append(Import(HOST_MODULE, tag.name, ExternKind.TAG, TagType(index)))
        for func in self.host_funcs:
            index = self.ctx.type_index(_types_of(func.params), _types_of(func.results))
            self.module.imports.append(Import(HOST_MODULE, func.name, ExternKind.FUNC, index))

    def globals(self) -> None:
        ch, ctx, m = self.ch, self.ctx, self.module
        entries: list[tuple[str, ValType, list[Instr]]] = [("fuel", I32, [Instr("i32.const", (FUEL,))])]
        entries += [(f"caught_{kind.name.lower()}", I64, [Instr("i64.const", (0,))]) for kind in CatchKind]
        for i in range(ch.int(0, 4)):
            t = ModuleContext.value_type(ch)
            entries.append((f"g{i}", t, [self.init(t)]))
        for name, t, init in entries:
            m.globals.append(Global(GlobalType(True, t), init))
            m.exports.append(Export(name, ExternKind.GLOBAL, len(ctx.globals)))
            ctx.globals.append(GlobalType(True, t))
        ctx.fuel_global = 0
        ctx.catch_counters = {kind: 1 + i for i, kind in enumerate(CatchKind)}

    def init(self, t: ValType) -> Instr:
        if t in NUM:
            return Instr(f"{TYPE_NAMES[t]}.const", (0,))
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
        target = self.ch.int(0, len(self.defined) - 1)
        return Invoke(f"f{target}", tuple(literal(self.ch, t) for t in self.defined[target].params))


_BY_NAME = {name: t for t, name in TYPE_NAMES.items()}


def _types_of(names: tuple[str, ...]) -> tuple[ValType, ...]:
    return tuple(_BY_NAME[n] for n in names)


def generate_case(choices: Choices, budget: int = 120) -> Case:
    """A valid, terminating case drawn from ``choices``."""
    return CaseGenerator(choices, budget).generate()
