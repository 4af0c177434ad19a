"""One module of a case: its imports, tags, functions, globals, tables and memory.

The module's shape is fixed so that outcomes say a lot: host tags and functions
imported from ``"host"`` (the plan says what they do), 1-4 tags of its own (all
exported, so an escaping exception is named), exported mutable globals of every
value type, an exported memory, an exported ``exnref`` table, an exported ``funcref``
table holding every function (for ``call_indirect`` and ``return_call_indirect``,
with a null entry after them and free slots a later module may fill), an exported
fuel counter and one exported ``i64`` counter per catch kind that every handler
bumps -- so the final state shows which handlers ran.

A module may import from an earlier instance (a :class:`Provider`): its tags (the
very same tags, so handlers catch what the other instance throws), some of its
functions, its fuel counter (one budget for both), its ``exnref`` table (exnrefs
flow between the instances) and its ``funcref`` table, into whose free slots it
writes functions of its own -- so each instance calls into the other.

Generation runs in two phases: :meth:`ModuleGenerator.declare` draws the signatures
(which the host plan needs), :meth:`ModuleGenerator.build` the rest.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from engine.binary.encode import encode_module
from engine.syntax.instructions import CatchKind, Instr
from engine.syntax.module import Elem, Export, Func, Global, Import, Memory, Module, SegmentMode, Table, Tag
from engine.syntax.types import (EXNREF, EXTERNREF, FUNCREF, I32, I64, ExternKind, FuncType, GlobalType, HeapType,
                                 Limits, MemType, TableType, TagType, ValType)
from oracles.plan import HOST_MODULE, CallExport, HostFunc, TagDef

from . import signatures as sg
from .body import BodyGenerator
from .choices import Choices

FUEL = 600
"""Fuel ticks a case may spend, over all its invocations (one per call and loop
iteration).  Enough for interesting runs, few enough that no run takes long and no
call chain nears either engine's stack limit."""
EXN_TABLE_SIZE = 3
FREE_SLOTS = 4
"""Slots past the null entry of a module's funcref table, for a later module's functions."""
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
        """What each imported function does: a host action (see :mod:`oracles.plan`),
        or ``instance`` for a function of an earlier instance."""
        self.live_global = 0
        self.tail_budget_global = 0
        self.tail_calls: set[tuple[int, int]] = set()
        """(caller, callee) of every ``return_call``/``return_call_indirect`` written."""
        self.calls_in_try: set[tuple[int, int]] = set()
        """(caller, callee) of every ``call`` written inside a try_table."""
        self.ops: dict[int, set[str]] = {}
        """The instructions written in each function, by function index."""
        self.func_table = 0
        self.func_table_size = 0
        self.exn_table = 1
        self.exn_table_size = EXN_TABLE_SIZE
        self.stressed = False
        """Whether the case runs under collector stress (bodies then keep more exnrefs)."""

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


@dataclass
class Provider:
    """An earlier instance a module may import from: its name and the exports the
    import shapes of :class:`ModuleGenerator` use."""
    name: str
    tags: list[tuple[ValType, ...]]
    """Its exported tags ``tag0``, ``tag1``...: their payloads."""
    funcs: list[FuncType]
    """Its exported functions ``f0``, ``f1``...: their types."""
    free_slots: tuple[int, int]
    """The first free slot of its exported funcref table ``ft``, and the table's size."""


@dataclass
class ModuleGenerator:
    """One module of a case, for instances named ``instance`` (to qualify exports)."""

    ch: Choices
    budget: int
    provider: Provider | None = None
    stressed: bool = False
    """Whether the case runs under collector stress."""
    ctx: ModuleContext = field(default_factory=ModuleContext)
    module: Module = field(default_factory=Module)
    tags: list[tuple[ValType, ...]] = field(default_factory=list)
    defined: list[FuncType] = field(default_factory=list)
    imported: list[FuncType] = field(default_factory=list)
    """Functions imported from the provider (``f0``... of it, in order)."""
    pair: dict[int, int] = field(default_factory=dict)
    start: int | None = None

    def declare(self) -> None:
        """Draw the module's own tags and function types."""
        ch = self.ch
        self.tags = [sg.payload(ch) for _ in range(ch.int(1, 4))]
        self.defined = self.function_types()
        if self.provider is not None:
            self.imported = [ft for ft in self.provider.funcs if ch.chance(70)]

    def function_types(self) -> list[FuncType]:
        """The defined functions' types.  Half of them share their results with an
        earlier one and draw their own parameters: such a family can tail-call across
        its members, from more argument space to less and back.  Beside a provider,
        some copy one of its function types, so calls through the shared table cross
        instances both ways."""
        out: list[FuncType] = []
        theirs = self.provider.funcs if self.provider is not None else []
        for _ in range(self.ch.int(1, 5)):
            if theirs and self.ch.chance(30):
                out.append(self.ch.choice(theirs))
                continue
            if out and self.ch.chance(50):
                results = self.ch.choice(out).results
                params = sg.long_types(self.ch) if self.ch.chance(50) else sg.types(self.ch, 3)
            else:
                results = sg.maybe_long(self.ch, 2)
                params = sg.maybe_long(self.ch, 3)
            out.append(FuncType(params, results))
        return out

    def build(self, host_tags: list[TagDef], host_funcs: list[HostFunc], caught: set[str]) -> bytes:
        """The module's binary, importing the plan's ``host_tags`` and ``host_funcs``;
        the functions named in ``caught`` (``fN``) are called by the host, which catches
        what they throw."""
        ch, ctx, m = self.ch, self.ctx, self.module
        provider = self.provider
        ctx.stressed = self.stressed
        self.imports(host_tags, host_funcs)
        ctx.tags = ([sg.types_of(t.params) for t in host_tags] + (provider.tags if provider else []) + self.tags)
        ctx.funcs = [FuncType(sg.types_of(f.params), sg.types_of(f.results)) for f in host_funcs] + self.imported
        ctx.funcs += self.defined
        ctx.host_actions = [f.action.kind for f in host_funcs] + ["instance"] * len(self.imported)
        nimported = ctx.imported_funcs = len(host_funcs) + len(self.imported)
        if ch.chance(8):
            self.add_start()
        self.globals()
        self.tables_and_memory()
        pair = self.pair = self.mutual_pair()
        for i, ft in enumerate(self.defined):
            index = nimported + i
            generator = BodyGenerator(ctx, ch, index, ft.params, ft.results, self.budget // len(self.defined) + 10,
                                      throws=f"f{i}" in caught or (index == self.start and ch.chance(50)),
                                      tail_calls=pair.get(index))
            locals_, body = generator.body()
            m.funcs.append(Func(ctx.type_index(ft.params, ft.results), locals_, body))
        self.count_signatures(host_tags, host_funcs)
        self.count_calls()
        first_tag = len(host_tags) + (len(provider.tags) if provider else 0)
        m.tags = [Tag(TagType(ctx.type_index(payload, ()))) for payload in self.tags]
        m.exports += [Export(f"f{i}", ExternKind.FUNC, nimported + i) for i in range(len(self.defined))
                      if nimported + i != self.start]
        m.exports += [Export(f"tag{i}", ExternKind.TAG, first_tag + i) for i in range(len(self.tags))]
        m.start = self.start
        m.types = ctx.types
        return encode_module(m)

    def add_start(self) -> None:
        """A start function: ``[] -> []``, run at instantiation, which may well throw
        or trap (then instantiation fails with that outcome)."""
        self.defined.append(FuncType((), ()))
        self.start = self.ctx.imported_funcs + len(self.defined) - 1
        self.ctx.funcs.append(FuncType((), ()))
        self.ctx.features["start function"] += 1

    def imports(self, host_tags: list[TagDef], host_funcs: list[HostFunc]) -> None:
        """Host tags, the provider's tags, host functions and the provider's functions,
        in that order; then the provider's fuel and tables (see :meth:`globals`,
        :meth:`tables_and_memory`)."""
        ctx, m, provider = self.ctx, self.module, self.provider
        for tag in host_tags:
            m.imports.append(Import(HOST_MODULE, tag.name, ExternKind.TAG,
                                    TagType(ctx.type_index(sg.types_of(tag.params), ()))))
        if provider is not None:
            for i, payload in enumerate(provider.tags):
                m.imports.append(Import(provider.name, f"tag{i}", ExternKind.TAG, TagType(ctx.type_index(payload, ()))))
        for func in host_funcs:
            index = ctx.type_index(sg.types_of(func.params), sg.types_of(func.results))
            m.imports.append(Import(HOST_MODULE, func.name, ExternKind.FUNC, index))
        if provider is not None:
            for ft in self.imported:
                m.imports.append(Import(provider.name, f"f{provider.funcs.index(ft)}", ExternKind.FUNC,
                                        ctx.type_index(ft.params, ft.results)))
            ctx.features["module linked to an earlier instance"] += 1

    def globals(self) -> None:
        ch, ctx, m = self.ch, self.ctx, self.module
        entries: list[tuple[str, ValType, list[Instr]]] = []
        if self.provider is not None:     # one fuel budget for both instances
            m.imports.append(Import(self.provider.name, "fuel", ExternKind.GLOBAL, GlobalType(True, I32)))
            ctx.globals.append(GlobalType(True, I32))
        else:
            entries.append(("fuel", I32, [Instr("i32.const", (FUEL,))]))
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

    @staticmethod
    def init(t: ValType) -> Instr:
        if t in sg.NUM:
            return Instr(f"{sg.TYPE_NAMES[t]}.const", (0,))
        return Instr("ref.null", ({FUNCREF: HeapType.FUNC, EXTERNREF: HeapType.EXTERN, EXNREF: HeapType.EXN}[t],))

    def tables_and_memory(self) -> None:
        """The funcref table (every function, a null, free slots) and the exnref table:
        the module's own, or -- beside a provider -- the provider's exnref table and a
        funcref table of its own plus the provider's, where it writes some functions."""
        m, ctx, provider = self.module, self.ctx, self.provider
        nfuncs = len(ctx.funcs)
        size = nfuncs + 1 + FREE_SLOTS
        own = Table(TableType(Limits(size, size), FUNCREF))
        entries = [[Instr("ref.func", (i,))] for i in range(nfuncs)]
        if provider is None:
            m.tables = [own, Table(TableType(Limits(EXN_TABLE_SIZE, EXN_TABLE_SIZE), EXNREF))]
            ctx.func_table, ctx.exn_table = 0, 1
            m.exports += [Export("xt", ExternKind.TABLE, 1)]
        else:
            first, their_size = provider.free_slots
            m.imports += [Import(provider.name, "xt", ExternKind.TABLE,
                                 TableType(Limits(EXN_TABLE_SIZE, EXN_TABLE_SIZE), EXNREF)),
                          Import(provider.name, "ft", ExternKind.TABLE, TableType(Limits(their_size, their_size), FUNCREF))]
            m.tables = [own]
            ctx.exn_table, ctx.func_table = 0, 2
            mine = [[Instr("ref.func", (i,))] for i in range(ctx.imported_funcs, nfuncs)][:their_size - first]
            m.elems.append(Elem(FUNCREF, mine, SegmentMode.ACTIVE, 1, [Instr("i32.const", (first,))]))
        m.elems.insert(0, Elem(FUNCREF, entries, SegmentMode.ACTIVE, ctx.func_table, [Instr("i32.const", (0,))]))
        ctx.func_table_size = size
        m.mems = [Memory(MemType(Limits(1, 2)))]
        m.exports += [Export("mem", ExternKind.MEMORY, 0), Export("ft", ExternKind.TABLE, ctx.func_table)]

    def provided(self, name: str) -> Provider:
        """What this module, instantiated as ``name``, offers a later module."""
        return Provider(name, self.tags, [ft for i, ft in enumerate(self.defined)
                                          if self.ctx.imported_funcs + i != self.start],
                        (len(self.ctx.funcs) + 1, self.ctx.func_table_size))

    def mutual_pair(self) -> dict[int, int]:
        """Sometimes two defined functions of one family that start by tail-calling
        each other while the module's ``tail_budget`` lasts -- mostly the pair with the
        most parameters: function index to its partner."""
        base = self.ctx.imported_funcs
        pairs = [(base + i, base + j) for i, a in enumerate(self.defined) for j, b in enumerate(self.defined)
                 if i < j and a.results == b.results and self.start not in (base + i, base + j)]
        if not pairs or not self.ch.chance(45):
            return {}
        most = max(len(self.ctx.funcs[a].params) + len(self.ctx.funcs[b].params) for a, b in pairs)
        first, second = self.ch.choice(
            [(a, b) for a, b in pairs if len(self.ctx.funcs[a].params) + len(self.ctx.funcs[b].params) == most]
            if self.ch.chance(60) else pairs)
        return {first: second, second: first}

    def count_calls(self) -> None:
        """Call shapes that span functions: mutual tail recursion, and a try_table around
        a call into a function that tail-calls (its handler catches across frames that
        tail calls replaced)."""
        ctx = self.ctx
        tail: dict[int, set[int]] = {}
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
            if "call" in ops:
                ctx.features["tail call to a function that calls"] += 1

    def count_signatures(self, host_tags: list[TagDef], host_funcs: list[HostFunc]) -> None:
        features = self.ctx.features
        features["host tag"] += len(host_tags)
        features["defined (exported) tag"] += len(self.tags)
        for payload in self.ctx.tags:
            features[f"payload of {len(payload)} values"] += 1
            for t in set(payload):
                features[f"payload with {sg.TYPE_NAMES[t]}"] += 1
            features.update(sg.shape_features("tag", payload, ()))
        for func in host_funcs:
            features[f"host {func.action.kind}"] += 1
            features.update(sg.shape_features("host function", sg.types_of(func.params), sg.types_of(func.results)))
        for ft in self.defined:
            features.update(sg.shape_features("function", ft.params, ft.results))
            if EXNREF in ft.params:
                features["exnref through a function parameter"] += 1
            if EXNREF in ft.results:
                features["exnref through a function result"] += 1


def caught_exports(host_funcs: list[HostFunc]) -> set[str]:
    """The exports the host calls and catches, which should end in a throw so the host
    catches exceptions often enough to test an exnref held across a host scope."""
    return {f.action.export for f in host_funcs if isinstance(f.action, CallExport) and f.action.catch}


__all__ = ["FUEL", "ModuleContext", "ModuleGenerator", "Provider", "caught_exports"]
