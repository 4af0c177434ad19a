"""Compile a validated module to a self-contained LLVM IR module.

The IR module exports two symbols with the wasm calling convention:

* ``instantiate(vmctx)`` -- the module's whole instantiation work as compiled code:
  allocate defined globals, functions' records, memory and tables; evaluate global
  initialisers and element items; apply active segments (trapping when out of
  bounds) and drop them; run the start function.  The Python runtime only allocates
  the :class:`~engine.compile.layout.VMContext` and its index-space arrays and binds
  the imports before calling it.
* ``release(vmctx)`` -- free what ``instantiate`` allocated (C calling convention).

Wasm functions themselves are internal: they are reached through the function
records ``instantiate`` fills in, so LLVM may inline and specialise freely.
"""
from __future__ import annotations

from dataclasses import dataclass

import llvmlite.ir as ir

from ..syntax.instructions import Instr
from ..syntax.module import Module, SegmentMode
from ..syntax.types import ExternKind, FuncType, GlobalType, HeapType, RefType, TagType, ValType
from .function import FunctionTranslator
from .helpers import HELPERS, libc
from .layout import (MAX_PAGES, PAGE_SIZE, FuncRecord, MemoryRecord, RootKind, Segment, StoreState,
                     TableRecord, TagRecord, VMContext)
from .target import Target
from .types import (I8, I32T, I64T, PTR, WASM_CC, callable_pointer, declare, field_ptr,
                    wasm_function_type)

INSTANTIATE = "instantiate"
RELEASE = "release"
_NO_TABLE_MAX = 0xFFFF_FFFF
ROOT_ADD = ir.FunctionType(ir.VoidType(), [PTR, I64T, PTR])
"""``void root_add(StoreState*, i64 kind, void* address)``."""


def _holds_exnref(t: ValType) -> bool:
    return isinstance(t, RefType) and t.heap in (HeapType.EXN, HeapType.NOEXN)


@dataclass(frozen=True)
class CompileOptions:
    """Code generation knobs (the public ``Config`` maps onto these)."""

    opt_level: int = 2
    fuel: bool = False
    epoch_interruption: bool = False


class ModuleCompiler:
    def __init__(self, module: Module, target: Target, options: CompileOptions) -> None:
        self.module = module
        self.target = target
        self.options = options
        self.ir_module = ir.Module(name="wasm")
        self.ir_module.triple = target.triple
        self.ir_module.data_layout = target.data_layout
        self.func_types: list[FuncType] = module.func_types()
        self.global_types: list[GlobalType] = module.global_types()
        self.tag_types: list[TagType] = module.tag_types()
        self.n_imported_funcs = len(module.imported(ExternKind.FUNC))
        self.functions: list[ir.Function | None] = [None] * self.n_imported_funcs
        for i, f in enumerate(module.funcs):
            fn = ir.Function(self.ir_module, wasm_function_type(module.types[f.type_idx]),
                             f"wasm_func_{self.n_imported_funcs + i}")
            fn.calling_convention = WASM_CC
            fn.linkage = "internal"
            self.functions.append(fn)
        self._helpers: dict[str, ir.Function] = {}
        self.unlikely_weights = self.ir_module.add_metadata(["branch_weights", I32T(1), I32T(2000)])
        # Type-based alias tags: linear memory never overlaps the engine's records, so
        # stores to memory do not force reloading a memory's base and size in loops.
        root = self.ir_module.add_metadata(["exnfuzz"])
        self.tbaa_memory = self._tbaa_tag(root, "linear memory")
        self.tbaa_record = self._tbaa_tag(root, "engine record")

    def _tbaa_tag(self, root: ir.MDValue, name: str) -> ir.MDValue:
        scalar = self.ir_module.add_metadata([name, root, I64T(0)])
        return self.ir_module.add_metadata([scalar, scalar, I64T(0)])

    def intrinsic(self, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
        return declare(self.ir_module, name, ir.FunctionType(ret, args))

    def helper(self, name: str) -> ir.Function:
        fn = self._helpers.get(name)
        if fn is None:
            fn = self._helpers[name] = HELPERS[name](self.ir_module)
        return fn

    def compile(self) -> ir.Module:
        for i, f in enumerate(self.module.funcs):
            index = self.n_imported_funcs + i
            translator = FunctionTranslator(self, self.functions[index], self.func_types[index],
                                            f.locals)
            translator.translate(f.body)
        self.emit_instantiate()
        self.emit_release()
        return self.ir_module

    # -- instantiation -----------------------------------------------------------------

    def emit_instantiate(self) -> None:
        fn = ir.Function(self.ir_module, wasm_function_type(FuncType((), ())), INSTANTIATE)
        fn.calling_convention = WASM_CC
        _Initializer(self, fn).run()

    def emit_release(self) -> None:
        """``void release(vmctx)``: free what ``instantiate`` allocated (null-safe, so it
        also cleans up after an instantiation that trapped half-way)."""
        m = self.module
        fn = ir.Function(self.ir_module, ir.FunctionType(ir.VoidType(), [PTR]), RELEASE)
        vmctx = fn.args[0]
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        free = libc(self.ir_module, "free")

        def field(base: ir.Value, offset: int) -> ir.Value:
            return b.load(field_ptr(b, base, offset), typ=PTR)

        def free_record(record: ir.Value, owned_field: int | None) -> None:
            with b.if_then(b.icmp_unsigned("!=", record, PTR(None))):
                if owned_field is not None:
                    b.call(free, [field(record, owned_field)])
                b.call(free, [record])

        imported = {k: len(m.imported(k)) for k in ExternKind}
        if m.globals:
            b.call(free, [field(field(vmctx, VMContext.GLOBALS.offset), 8 * imported[ExternKind.GLOBAL])])
        if m.funcs:
            b.call(free, [field(field(vmctx, VMContext.FUNCS.offset), 8 * self.n_imported_funcs)])
        if m.mems:
            free_record(field(vmctx, VMContext.MEMORY.offset), MemoryRecord.BASE.offset)
        for i in range(len(m.tables)):
            tables = field(vmctx, VMContext.TABLES.offset)
            free_record(field(tables, 8 * (imported[ExternKind.TABLE] + i)), TableRecord.ELEMS.offset)
        if m.elems:
            segments = field(vmctx, VMContext.ELEM_SEGMENTS.offset)
            with b.if_then(b.icmp_unsigned("!=", segments, PTR(None))):
                for i in range(len(m.elems)):
                    b.call(free, [field(segments, Segment.size() * i + Segment.DATA.offset)])
                b.call(free, [segments])
        if m.datas:
            b.call(free, [field(vmctx, VMContext.DATA_SEGMENTS.offset)])
        for i in range(len(m.tags)):
            tags = field(vmctx, VMContext.TAGS.offset)
            b.call(free, [field(tags, 8 * (imported[ExternKind.TAG] + i))])
        b.ret_void()


class _Initializer(FunctionTranslator):
    """Emits ``instantiate``; reuses the translator for constant expressions, traps and
    the call of the start function."""

    initialised = False

    def __init__(self, mc: ModuleCompiler, fn: ir.Function) -> None:
        self.known: dict[object, ir.Value] = {}
        super().__init__(mc, fn, FuncType((), ()))

    def consume_fuel(self) -> None:
        """Instantiation itself is free, as in wasmtime: only the start function burns fuel."""

    def calloc(self, count: int | ir.Value, size: int) -> ir.Value:
        n = I64T(count) if isinstance(count, int) else count
        return self.builder.call(libc(self.module, "calloc"), [n, I64T(size)])

    # What ``instantiate`` itself stores in the instance context it uses as it is,
    # without loading it back.  The stores happen in straight-line code (traps only
    # leave it), so each value dominates every later use.

    def instance_array(self, field: VMContext) -> ir.Value:
        known = self.known.get(field)
        return super().instance_array(field) if known is None else known

    def instance_slot(self, field: VMContext, index: int, typ: ir.Type = PTR) -> ir.Value:
        known = self.known.get((field, index))
        return super().instance_slot(field, index, typ) if known is None else known

    def set_field(self, field: VMContext, value: ir.Value) -> None:
        self.store_field(self.vmctx, field.offset, value)
        self.known[field] = value

    def set_slot(self, field: VMContext, index: int, value: ir.Value) -> None:
        self.store_slot(self.instance_array(field), index, value)
        self.known[(field, index)] = value

    def store_slot(self, array: ir.Value, index: int, value: ir.Value) -> None:
        self.builder.store(value, self.builder.gep(array, [I64T(index)], source_etype=I64T))

    def const_expr(self, expr: list) -> ir.Value:
        for ins in expr:
            self.instr(ins)
        return self.stack.pop()

    def run(self) -> None:
        mc, m, b = self.mc, self.mc.module, self.builder
        imported = {k: len(m.imported(k)) for k in ExternKind}
        if m.globals:
            cells = self.calloc(len(m.globals), 8)
            for i in range(len(m.globals)):
                self.set_slot(VMContext.GLOBALS, imported[ExternKind.GLOBAL] + i,
                              b.gep(cells, [I64T(i)], source_etype=I64T))
        if m.funcs:
            records = self.calloc(len(m.funcs), FuncRecord.size())
            for i, f in enumerate(m.funcs):
                record = b.gep(records, [I64T(i * len(FuncRecord))], source_etype=I64T)
                self.store_field(record, FuncRecord.CODE.offset, mc.functions[mc.n_imported_funcs + i])
                self.store_field(record, FuncRecord.VMCTX.offset, self.vmctx)
                self.store_field(record, FuncRecord.TYPE_ID.offset,
                                 self.instance_slot(VMContext.TYPE_IDS, f.type_idx, I64T))
                self.set_slot(VMContext.FUNCS, mc.n_imported_funcs + i, record)
        for mem in m.mems:
            lim = mem.type.limits
            record = self.calloc(1, MemoryRecord.size())
            self.store_field(record, MemoryRecord.BASE.offset, self.calloc(lim.min * PAGE_SIZE + 1, 1))
            self.store_field(record, MemoryRecord.SIZE.offset, I64T(lim.min * PAGE_SIZE))
            self.store_field(record, MemoryRecord.MAX_PAGES.offset,
                             I64T(MAX_PAGES if lim.max is None else lim.max))
            self.set_field(VMContext.MEMORY, record)
        for i, table in enumerate(m.tables):
            lim = table.type.limits
            record = self.calloc(1, TableRecord.size())
            self.store_field(record, TableRecord.ELEMS.offset, self.calloc(lim.min + 1, 8))
            self.store_field(record, TableRecord.SIZE.offset, I64T(lim.min))
            self.store_field(record, TableRecord.MAX.offset,
                             I64T(_NO_TABLE_MAX if lim.max is None else lim.max))
            self.set_slot(VMContext.TABLES, imported[ExternKind.TABLE] + i, record)
        self.init_tags(imported[ExternKind.TAG])
        self.add_roots(imported)
        for i, g in enumerate(m.globals):
            value = self.const_expr(g.init)
            b.store(value, self.global_cell(imported[ExternKind.GLOBAL] + i))
        self.init_elems()
        self.init_datas()
        if m.start is not None:
            self.emit_call(self.callee(m.start), tail=False)
        self.translate([])

    def init_tags(self, n_imported: int) -> None:
        """One :class:`TagRecord` per defined tag: its address is the tag's identity,
        distinct in every instance."""
        m = self.mc.module
        if not m.tags:
            return
        for i, tag in enumerate(m.tags):
            record = self.calloc(1, TagRecord.size())
            self.store_field(record, TagRecord.TYPE_ID.offset,
                             self.instance_slot(VMContext.TYPE_IDS, tag.type.type_idx, I64T))
            self.set_slot(VMContext.TAGS, n_imported + i, record)

    def add_roots(self, imported: dict[ExternKind, int]) -> None:
        """Register the defined globals and tables that can hold an exnref with the
        store's collector, before any code can store one there."""
        m, b = self.mc.module, self.builder
        roots = [(RootKind.CELL, VMContext.GLOBALS, imported[ExternKind.GLOBAL] + i)
                 for i, g in enumerate(m.globals) if _holds_exnref(g.type.type)]
        roots += [(RootKind.TABLE, VMContext.TABLES, imported[ExternKind.TABLE] + i)
                  for i, t in enumerate(m.tables) if _holds_exnref(t.type.elem)]
        if not roots:
            return
        add = callable_pointer(b, self.load_field(self.store_state, StoreState.ROOT_ADD.offset, PTR),
                               ROOT_ADD)
        for kind, array, index in roots:
            b.call(add, [self.store_state, I64T(kind), self.instance_slot(array, index)])

    def init_elems(self) -> None:
        m, b = self.mc.module, self.builder
        if not m.elems:
            return
        segments = self.calloc(len(m.elems), Segment.size())
        self.set_field(VMContext.ELEM_SEGMENTS, segments)
        for i, e in enumerate(m.elems):
            seg = b.gep(segments, [I64T(i * len(Segment))], source_etype=I64T)
            items = self.calloc(len(e.init) + 1, 8)
            for j, expr in enumerate(e.init):
                self.store_slot(items, j, self.const_expr(expr))
            self.store_field(seg, Segment.DATA.offset, items)
            self.store_field(seg, Segment.LENGTH.offset, I64T(len(e.init)))
            if e.mode is SegmentMode.ACTIVE:
                self.stack += [self.const_expr(e.offset or []), I32T(0), I32T(len(e.init))]
                self.instr(Instr("table.init", (i, e.table)))
            if e.mode is not SegmentMode.PASSIVE:
                self.store_field(seg, Segment.LENGTH.offset, I64T(0))

    def init_datas(self) -> None:
        m, b = self.mc.module, self.builder
        if not m.datas:
            return
        segments = self.calloc(len(m.datas), Segment.size())
        self.set_field(VMContext.DATA_SEGMENTS, segments)
        for i, d in enumerate(m.datas):
            seg = b.gep(segments, [I64T(i * len(Segment))], source_etype=I64T)
            blob = ir.GlobalVariable(self.module, ir.ArrayType(I8, len(d.init)), f"data_{i}")
            blob.initializer = ir.Constant(ir.ArrayType(I8, len(d.init)), bytearray(d.init))
            blob.global_constant = True
            blob.linkage = "internal"
            self.store_field(seg, Segment.DATA.offset, blob)
            self.store_field(seg, Segment.LENGTH.offset, I64T(len(d.init)))
            if d.mode is SegmentMode.ACTIVE:
                self.stack += [self.const_expr(d.offset or []), I32T(0), I32T(len(d.init))]
                self.instr(Instr("memory.init", (i, 0)))
                self.store_field(seg, Segment.LENGTH.offset, I64T(0))
